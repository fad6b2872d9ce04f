"""Prune, destroy, replace and address stability, with foreign objects that must never be touched."""

from ipaddress import ip_interface, ip_network

from builders import (
    assert_unchanged,
    converge,
    endpoint,
    host_veth,
    iface,
    ipv4_of,
    netns_names,
    network,
    out,
    plan,
    snapshot,
    write,
)

from reconciler.input.ipam import allocate
from reconciler.input.validate import load_manifests

# Foreign objects keep IPv6 (link-local addresses and all) but skip duplicate address detection, and the
# setup waits for the veth's carrier: their state is settled before the first snapshot.
FOREIGN_SETUP = """
sysctl -qw net.ipv6.conf.default.accept_dad=0
ip netns add foreignns
ip netns exec foreignns sysctl -qw net.ipv6.conf.default.accept_dad=0
ip link add foreign0 type veth peer name eth0 netns foreignns
ip addr add 203.0.113.1/24 dev foreign0 && ip link set foreign0 up
ip -n foreignns addr add 203.0.113.2/24 dev eth0 && ip -n foreignns link set eth0 up
ip route add 203.0.113.128/25 via 203.0.113.2 dev foreign0 proto static
ip link add nr-0123456789 type bridge && ip link set nr-0123456789 up
ip link add br-front2 type bridge
nft -f - <<'EOF'
table ip foreign {
  chain helper {
    ip daddr 203.0.113.201 drop
  }
  chain filter_fwd {
    type filter hook forward priority 10; policy accept;
    ip saddr 203.0.113.200 jump helper
  }
}
EOF
for i in $(seq 100); do ip -n foreignns -6 addr show dev eth0 | grep -q fe80 && ip -6 addr show dev foreign0 | grep -q fe80 && break; sleep 0.01; done
"""
# Foreign objects, each as the kernel shows it: they must stay byte for byte the same.
FOREIGN = (
    "ip -d link show foreign0", "ip -d link show nr-0123456789", "ip -d link show br-front2",
    "ip -d addr show dev foreign0", "ip route show 203.0.113.128/25", "nft list table ip foreign",
    "ip -n foreignns -d addr", "ip -n foreignns route",
)
# Everything in the sandbox: after destroy it must all be as it was before the first apply.
WHOLE = ("ip -d link show", "ip addr", "ip route", "ip -6 route", "ip netns list", "nft list ruleset")


ADDRESS = {"a": "172.20.0.10", "b": "172.20.0.11", "c": "172.20.0.12"}


def endpoints(sandbox, *names: str):
    return write(sandbox, network("front", "172.20.0.0/24"), *(endpoint(n, iface("front", ADDRESS[n])) for n in names))


def mac(sandbox, link: str) -> str:
    return out(sandbox, f"ip -br link show {link}").split()[2]


def test_prune_removes_only_the_dropped_endpoint_and_destroy_leaves_foreign_objects_as_they_were(sandbox):
    sandbox.sh(FOREIGN_SETUP)
    before = snapshot(sandbox, *WHOLE)
    foreign = snapshot(sandbox, *FOREIGN)

    report = converge(sandbox, endpoints(sandbox, "a", "b", "c"))
    assert_unchanged(sandbox, foreign)
    veths = {n: host_veth(report, n) for n in "abc"}
    # Drop the endpoint whose port has the lowest MAC: a bridge without a MAC of its own takes that one, and
    # would change its (the gateway's) MAC when the port goes, cutting the others off until their ARP expires.
    gone = min("abc", key=lambda n: mac(sandbox, veths[n]))
    left = sorted(set("abc") - {gone})
    for n in left:
        assert sandbox.ping(n, "172.20.0.1")  # the gateway's MAC is now in their neighbour tables
    kept = snapshot(sandbox, *(f"ip -d link show {veths[n]}" for n in left), *(f"ip -n {n} -d addr" for n in left),
                    *(f"ip -n {n} route" for n in left), "ip -d link show br-front")
    host_routes = out(sandbox, "ip route")

    code, text = plan(sandbox, endpoints(sandbox, *left))
    assert code == 2 and f"- netns {gone}" in text and f"veth {veths[gone]}" in text, text
    assert not any(f"netns {n}" in text for n in left), text
    converge(sandbox, endpoints(sandbox, *left))
    assert netns_names(sandbox) == [*left, "foreignns"]
    assert sandbox.sh(f"ip link show {veths[gone]}", check=False).returncode != 0
    assert_unchanged(sandbox, kept)  # the others untouched: same links, indexes, addresses, routes, gateway MAC
    assert_unchanged(sandbox, foreign)
    assert out(sandbox, "ip route") == host_routes
    assert sandbox.ping(left[0], ADDRESS[left[1]])
    for n in left:
        assert sandbox.ping(n, "172.20.0.1")

    done = sandbox.nr("destroy", str(endpoints(sandbox, *left)))
    assert "Destroy complete" in done.stdout, done.stdout
    assert_unchanged(sandbox, before)
    assert sandbox.sh("nft list table inet netreconcile", check=False).returncode != 0
    assert netns_names(sandbox) == ["foreignns"]
    assert sandbox.nr("destroy", str(endpoints(sandbox, *left))).stdout.strip() == "Nothing to destroy."
    assert plan(sandbox, endpoints(sandbox, *left))[0] == 2


def test_removing_a_network_removes_its_bridge_and_every_rule_that_names_it(sandbox):
    front = [network("front", "172.20.0.0/24"), endpoint("a", iface("front", "172.20.0.10"))]
    converge(sandbox, write(sandbox, *front, network("back", "172.21.0.0/24"), endpoint("b", iface("back", "172.21.0.10"))))
    assert "br-back" in out(sandbox, "nft list ruleset")
    kept = snapshot(sandbox, "ip -d link show br-front", "ip -n a -d addr", "ip -n a route")

    converge(sandbox, write(sandbox, *front))
    assert sandbox.sh("ip link show br-back", check=False).returncode != 0
    assert netns_names(sandbox) == ["a"]
    ruleset = out(sandbox, "nft list ruleset")
    assert "br-back" not in ruleset and "172.21.0.0" not in ruleset and "network/back" not in ruleset, ruleset
    assert_unchanged(sandbox, kept)
    assert sandbox.ping("a", "172.20.0.1")


def test_changing_a_static_address_moves_it_and_keeps_the_default_route(sandbox):
    docs = [network("front", "172.20.0.0/24"), endpoint("b", iface("front", "172.20.0.11"))]
    converge(sandbox, write(sandbox, *docs, endpoint("a", iface("front", "172.20.0.10"))))
    path = write(sandbox, *docs, endpoint("a", iface("front", "172.20.0.20")))
    code, text = plan(sandbox, path)
    assert code == 2 and "- address 172.20.0.10/24 on a/eth0" in text and "+ address 172.20.0.20/24 on a/eth0" in text, text
    converge(sandbox, path)
    assert ipv4_of(sandbox, "a") == ["172.20.0.20/24"]
    assert out(sandbox, "ip -n a route show default").split()[:3] == ["default", "via", "172.20.0.1"]
    assert sandbox.ping("b", "172.20.0.20")
    assert sandbox.ping("a", "172.20.0.1")


def test_destroy_of_some_manifests_leaves_the_others_alone(sandbox):
    write(sandbox, network("front", "172.20.0.0/24"), endpoint("a", iface("front", "172.20.0.10")), name="m/front.yaml")
    back = write(sandbox, network("back", "172.21.0.0/24"), endpoint("b", iface("back", "172.21.0.10")), name="m/back.yaml")
    converge(sandbox, sandbox.workdir / "m")
    kept = snapshot(sandbox, "ip -d link show br-back", "ip -n b -d addr", "ip -n b route")

    sandbox.nr("destroy", str(sandbox.workdir / "m/front.yaml"))
    assert "br-front" not in out(sandbox, "ip -o link")
    assert netns_names(sandbox) == ["b"]
    assert_unchanged(sandbox, kept)
    table = out(sandbox, "nft list table inet netreconcile")
    assert "network/back" in table and "network/front" not in table
    assert plan(sandbox, back)[0] == 0
    assert sandbox.ping("b", "172.21.0.1")


def test_renaming_an_interface_replaces_the_veth_and_traffic_uses_the_new_name(sandbox):
    docs = [network("front", "172.20.0.0/24"), endpoint("b", iface("front", "172.20.0.11"))]
    converge(sandbox, write(sandbox, *docs, endpoint("a", iface("front", "172.20.0.10"))))
    path = write(sandbox, *docs, endpoint("a", iface("front", "172.20.0.10", name="eth1")))

    code, text = plan(sandbox, path)
    assert code == 2
    replaced = [line for line in text.splitlines() if line.startswith("  -/+ veth ")]
    assert len(replaced) == 1 and "a/eth1" in replaced[0] and "eth0 -> eth1" in replaced[0], text
    converge(sandbox, path)
    assert [line.split(":")[1].strip().split("@")[0] for line in out(sandbox, "ip -n a -o link").splitlines()] == ["lo", "eth1"]
    assert ipv4_of(sandbox, "a", "eth1") == ["172.20.0.10/24"]
    assert out(sandbox, "ip -n a route show default").split()[:5] == ["default", "via", "172.20.0.1", "dev", "eth1"]
    assert sandbox.ping("a", "172.20.0.11")
    assert sandbox.ping("b", "172.20.0.10")
    assert sandbox.ping("a", "172.20.0.1")


SMALL = "172.25.0.0/29"  # .2 to .6 can be handed out: a fourth endpoint easily lands where another would go


def _fresh_allocation(sandbox, names: list[str]) -> dict[str, str]:
    """What the allocator would give `names` on an empty kernel (pure, no kernel involved)."""
    path = write(sandbox, network("small", SMALL), *(endpoint(n, "small") for n in names), name="probe/net.yaml")
    return {key[0]: str(address) for key, address in allocate(load_manifests([str(path)])).items()}


def test_allocated_addresses_stay_when_endpoints_come_and_go(sandbox):
    first = ["a", "b", "c"]
    converge(sandbox, write(sandbox, network("small", SMALL), *(endpoint(n, "small") for n in first)))
    held = {n: ipv4_of(sandbox, n) for n in first}
    pool = ip_network(SMALL)
    addresses = [ip_interface(cidrs[0]) for cidrs in held.values()]
    assert all(len(cidrs) == 1 for cidrs in held.values()), held
    assert len(set(addresses)) == 3
    assert all(a.network == pool and a.ip not in (pool[0], pool[1], pool[-1]) for a in addresses), addresses

    # A fourth endpoint whose fresh allocation would move one of the first three: only stickiness keeps them.
    fourth = next((d for d in (f"d{i}" for i in range(200))
                   if any(_fresh_allocation(sandbox, [*first, d])[n] != str(ip_interface(held[n][0]).ip) for n in first)),
                  None)
    assert fourth is not None, "no name found whose allocation would displace an existing endpoint (test premise)"
    converge(sandbox, write(sandbox, network("small", SMALL), *(endpoint(n, "small") for n in [*first, fourth])))
    assert {n: ipv4_of(sandbox, n) for n in first} == held
    new = ip_interface(ipv4_of(sandbox, fourth)[0])
    assert new.network == pool and new not in addresses and new.ip not in (pool[0], pool[1], pool[-1])
    assert sandbox.ping(fourth, str(addresses[0].ip))

    # Removing one keeps the others where they are.
    rest = [first[1], first[2], fourth]
    converge(sandbox, write(sandbox, network("small", SMALL), *(endpoint(n, "small") for n in rest)))
    assert {n: ipv4_of(sandbox, n) for n in first[1:]} == {n: held[n] for n in first[1:]}
    assert ip_interface(ipv4_of(sandbox, fourth)[0]) == new
