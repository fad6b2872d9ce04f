"""Automatic subnets (issue 20): a bridge or overlay network without `ipam`, or with
`ipam: {subnet: auto}`, picks its subnet from the address pools, clear of the host's routes in any
table, stable across applies, explained by `plan`, and the same on every host for an overlay.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import signal

from builders import converge, endpoint, out, text, write
from test_watch import STARTUP, watching

VETH = "vpn0"
V4_SLOTS = [f"172.{n}.0.0/16" for n in range(17, 32)] + [f"192.168.{16 * i}.0/20" for i in range(16)]


def auto(name: str, **spec: object) -> dict:
    return {"apiVersion": "netreconcile/v1", "kind": "Network", "metadata": {"name": name},
            "spec": {"driver": "bridge", **spec}}


def pools(*pairs: tuple[str, int]) -> dict:
    return {"apiVersion": "netreconcile/v1", "kind": "AddressPools", "metadata": {"name": "pools"},
            "spec": {"pools": [{"base": b, "size": s} for b, s in pairs]}}


def make_veth(sandbox) -> None:
    sandbox.sh(f"ip link add {VETH} type veth peer name {VETH}p && ip link set {VETH} up && ip link set {VETH}p up")


def chosen(plan_text: str, network: str) -> str:
    found = re.search(rf"^network {network}: subnet auto -> (\S+)", plan_text, re.MULTILINE)
    assert found, plan_text
    return found.group(1)


def bridge_subnets(sandbox, bridge: str) -> list[str]:
    """The subnets the kernel holds on a bridge (read from its addresses), sorted."""
    lines = out(sandbox, f"ip -o addr show dev {bridge} scope global").splitlines()
    return sorted(str(ipaddress.ip_interface(line.split()[3]).network) for line in lines)


def test_a_route_in_another_table_is_skipped_with_the_reason_in_the_plan(sandbox):
    make_veth(sandbox)
    path = write(sandbox, auto("web"), endpoint("a", "web"))
    home = chosen(sandbox.nr("plan", str(path)).stdout, "web")
    sandbox.sh(f"ip route add {home} dev {VETH} table 51820")  # a VPN's own table, as WireGuard's
    plan = sandbox.nr("plan", str(path)).stdout
    picked = chosen(plan, "web")
    assert picked != home
    assert f"network web: subnet auto -> {picked} (skipped {home}: route {home} dev {VETH} table 51820)" in plan, plan
    converge(sandbox, path)
    assert bridge_subnets(sandbox, "br-web") == [picked]
    assert sandbox.ping("a", str(ipaddress.ip_network(picked).network_address + 1))


def test_auto_networks_are_distinct_and_adding_a_third_moves_neither(sandbox):
    path = write(sandbox, auto("web"), auto("db", ipam={"subnet": "auto"}), endpoint("a", "web", "db"))
    converge(sandbox, path)
    web, db = bridge_subnets(sandbox, "br-web"), bridge_subnets(sandbox, "br-db")
    assert len(web) == len(db) == 1 and web != db and {web[0], db[0]} <= set(V4_SLOTS)

    # The third one's first slot is web's and it is picked before web (name order): without stickiness web would move.
    third = next(n for n in (f"n{i}" for i in range(500)) if _home(n) == web[0] and n < "web")
    sandbox.sh(f"ip route add {db[0]} dev lo table 99")  # a route over db now: it stays all the same
    path = write(sandbox, auto("web"), auto("db", ipam={"subnet": "auto"}), auto(third), endpoint("a", "web", "db"),
                 endpoint("b", third))
    plan = sandbox.nr("plan", str(path)).stdout
    assert f"network web: subnet auto -> {web[0]} (kept: the kernel holds it)" in plan, plan
    assert f"network db: subnet auto -> {db[0]} (kept: the kernel holds it)" in plan, plan
    sandbox.sh(f"ip route del {db[0]} dev lo table 99")
    converge(sandbox, path)
    assert bridge_subnets(sandbox, "br-web") == web and bridge_subnets(sandbox, "br-db") == db
    new = bridge_subnets(sandbox, f"br-{third}")
    assert len(new) == 1 and new[0] not in (web[0], db[0])


def _home(name: str) -> str:
    """The first slot the default pools give a name (as the allocator computes it, from its digest)."""
    index = int.from_bytes(hashlib.sha256(name.encode()).digest()[:16], "big") % len(V4_SLOTS)
    return V4_SLOTS[index]


def test_declared_address_pools_replace_the_defaults_and_ipv6_comes_from_them(sandbox):
    declared = pools(("10.90.0.0/16", 24), ("fd00:90::/48", 64))
    path = write(sandbox, declared, auto("web", enableIPv6=True), endpoint("a", "web"))
    converge(sandbox, path)
    subnets = bridge_subnets(sandbox, "br-web")
    assert len(subnets) == 2 and subnets[0].startswith("10.90.") and subnets[0].endswith("/24"), subnets
    assert subnets[1].startswith("fd00:90:0:") and subnets[1].endswith("::/64"), subnets
    v4 = out(sandbox, "ip -n a -4 -o addr show dev eth0").split()[3]
    assert v4.startswith("10.90.") and sandbox.ping("a", str(ipaddress.ip_network(subnets[0]).network_address + 1))


def test_ipv6_without_a_pool_is_a_ula_64_derived_from_the_name(sandbox):
    path = write(sandbox, auto("six", enableIPv6=True), endpoint("a", "six"))
    plan = sandbox.nr("plan", str(path)).stdout
    v6 = re.findall(r"^network six: subnet auto -> (fd[0-9a-f:]+::/64)$", plan, re.MULTILINE)
    assert len(v6) == 1, plan
    converge(sandbox, path)
    assert v6[0] in bridge_subnets(sandbox, "br-six")
    # The same name gives the same subnet in another sandbox's plan: derived, not random.
    assert v6[0] == re.findall(r"-> (fd\S+)", sandbox.nr("plan", str(path)).stdout)[0]


def test_exhausted_pools_name_the_pools_and_what_took_them(sandbox):
    make_veth(sandbox)
    sandbox.sh(f"ip route add 10.91.0.0/23 dev {VETH} table 51820")
    path = write(sandbox, pools(("10.91.0.0/22", 24)), auto("one"), auto("two"), auto("three"),
                 endpoint("a", "one", "two", "three"))
    result = sandbox.nr("plan", str(path), check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    message = result.stderr
    assert "finds no free IPv4 subnet in the address pools (10.91.0.0/22 in /24s)" in message, message
    assert f"route 10.91.0.0/23 dev {VETH} table 51820" in message and "network " in message, message
    assert out(sandbox, "ip -o link show type bridge") == ""


def test_validate_json_and_status_carry_the_chosen_subnet(sandbox):
    path = write(sandbox, auto("web"), endpoint("a", "web"))
    converge(sandbox, path)
    subnet = bridge_subnets(sandbox, "br-web")[0]
    status = json.loads(sandbox.nr("status", str(path), "-o", "json").stdout)
    assert f"network web: subnet auto -> {subnet} (kept: the kernel holds it)" in status["notes"], status["notes"]
    validated = json.loads(sandbox.nr("validate", str(path), "-o", "json").stdout)
    assert validated["subnets"] == [{"network": "web", "subnets": [subnet], "auto": True}], validated


def test_a_later_overlapping_route_is_a_conflict_in_status_and_is_never_renumbered(sandbox):
    make_veth(sandbox)
    path = write(sandbox, auto("web"), endpoint("a", "web"))
    converge(sandbox, path)
    subnet = bridge_subnets(sandbox, "br-web")[0]
    sandbox.sh(f"ip route add {subnet} dev {VETH} table 51820")  # the VPN comes up after us
    status = sandbox.nr("status", str(path)).stdout
    assert f"conflict: network web's subnet {subnet}" in status and f"overlaps {subnet} on {VETH} (route, table 51820)" in status, status
    converge(sandbox, path)  # nothing to do: not renumbered
    assert bridge_subnets(sandbox, "br-web") == [subnet]


def overlay_docs(hosts, name="appnet") -> list[dict]:
    network = {"apiVersion": "netreconcile/v1", "kind": "Network", "metadata": {"name": name}, "spec": {"driver": "overlay"}}
    placed = [{"apiVersion": "netreconcile/v1", "kind": "Endpoint", "metadata": {"name": f"ep-{h.name}"},
               "spec": {"host": h.name, "interfaces": [{"network": name}]}} for h in hosts]
    declared = [{"apiVersion": "netreconcile/v1", "kind": "Host", "metadata": {"name": h.name},
                 "spec": {"underlay": {"address": h.address}}} for h in hosts]
    return [*declared, network, *placed]


def test_three_hosts_agree_on_an_overlays_auto_subnet_and_one_whose_routes_conflict_refuses(cluster):
    hosts = list(cluster)
    path = cluster.sandbox.write("m/net.yaml", text(*overlay_docs(hosts)))
    b = cluster["node-b"]
    b.sh("ip route add 172.16.0.0/12 dev eth1 table 51820 && ip route add 192.168.0.0/16 dev eth1 table 51820")
    picks = {h.name: chosen(h.nr("plan", str(path)).stdout, "appnet") for h in hosts if h.name != "node-b"}
    assert len(set(picks.values())) == 1, picks
    refused = b.nr("plan", str(path), check=False)
    assert refused.returncode == 1 and "a host cannot pick another alone" in refused.stderr, refused.stderr
    b.sh("ip route flush table 51820")
    for h in hosts:
        h.nr("apply", str(path))
    subnet = picks["node-a"]
    for h in hosts:
        bridge = h.sh("ip -o link show type bridge").stdout.split(":")[1].strip()
        assert bridge_subnets(h, bridge) == [subnet], h.name
    addresses = {h.name: h.sh(f"ip -n ep-{h.name} -4 -o addr show dev eth0").stdout.split()[3].split("/")[0] for h in hosts}
    assert cluster["node-a"].ping("ep-node-a", addresses["node-c"])


def test_the_hosts_name_servers_are_skipped(sandbox):
    path = write(sandbox, auto("web"), endpoint("a", "web"))
    home = chosen(sandbox.nr("plan", str(path)).stdout, "web")
    server = ipaddress.ip_network(home).network_address + 53
    conf = sandbox.write("resolv.conf", f"search example.test\nnameserver {server}\n")
    sandbox.sh(f"mount --bind {conf} /etc/resolv.conf")  # the sandbox's own mount namespace only
    plan = sandbox.nr("plan", str(path)).stdout
    assert f"(skipped {home}: name server {server} (/etc/resolv.conf))" in plan, plan


def test_the_watch_logs_a_later_overlapping_route_as_a_conflict_once_and_keeps_the_subnet(sandbox):
    make_veth(sandbox)
    path = write(sandbox, auto("web"), endpoint("a", "web"))
    with watching(sandbox, path.parent) as watch:
        watch.wait_for("reconcile after", timeout=STARTUP)
        subnet = bridge_subnets(sandbox, "br-web")[0]
        sandbox.sh(f"ip route add {subnet} dev {VETH} table 51820")
        watch.signal(signal.SIGHUP)  # a full reconcile, whatever the route's own event triggers
        line = watch.wait_for(re.escape(f"conflict: network web's subnet {subnet}"), timeout=5)
        assert "(route, table 51820)" in line
        seen = len(watch.lines())
        watch.signal(signal.SIGHUP)
        watch.wait_for("reconcile after", after=seen, timeout=5)
        assert not any("conflict:" in line for line in watch.lines()[seen:])  # logged when it appears, not again
    assert bridge_subnets(sandbox, "br-web") == [subnet]
