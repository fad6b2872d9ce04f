"""ipvlan, 802.1q sub-interface parents and dummy parents: kernel features this machine's kernel lacks.

Marked `vm`: tests/vm/run runs them in a VM booted with Debian's stock kernel (and they are skipped
elsewhere, with the reason). Python is ~20x slower there, so each test covers a whole scenario.
The LAN is builders.make_lan: a router and a machine `pc` behind the host's parent eth1.
"""

import json

import pytest
from builders import (
    HOST_ON_LAN,
    LAN_SUBNET,
    PARENT,
    PC,
    ROUTER,
    assert_unchanged,
    converge,
    endpoint,
    iface,
    lower_network,
    make_lan,
    out,
    plan,
    snapshot,
    tcp_echo,
    write,
)

pytestmark = pytest.mark.vm

A, B = "192.168.60.21", "192.168.60.22"


def test_ipvlan_l2_shares_the_parent_mac_reaches_the_lan_and_not_the_host_without_host_access(sandbox):
    make_lan(sandbox)
    net = lower_network("lan", "ipvlan", LAN_SUBNET, gateway=ROUTER, parent=PARENT, mode="l2")
    # b's interface has its parent's name: kernels before 6.12 make the link in the parent's namespace
    # first, where that name is taken (it is created under a transit name, then renamed).
    path = write(sandbox, net, endpoint("a", iface("lan", A)), endpoint("b", iface("lan", B, name=PARENT)))
    converge(sandbox, path)
    assert out(sandbox, "ip -n b -o link show").count(f": {PARENT}@") == 1
    assert sandbox.ping("a", ROUTER) and sandbox.ping("a", PC) and sandbox.ping("a", B)
    assert tcp_echo(sandbox, "b", B, "a") == "hello-tcp"
    # names through the embedded resolver, in the endpoints' own namespaces (aardvark-dns has none on ipvlan)
    assert out(sandbox, "ip netns exec a getent hosts b").split() == [B, "b"]
    assert out(sandbox, "ip netns exec b dig +short +time=3 +tries=1 @127.0.0.11 a.lan").split() == [A]
    parent_mac = out(sandbox, f"ip -o link show {PARENT}").split("link/ether ")[1].split()[0]
    assert out(sandbox, "ip -n a -o link show eth0").split("link/ether ")[1].split()[0] == parent_mac
    assert "ipvlan  mode l2 bridge" in out(sandbox, "ip -n a -d link show eth0")
    assert out(sandbox, "ip -n a route show default").split()[:3] == ["default", "via", ROUTER]
    assert sandbox.unreachable("a", HOST_ON_LAN) and sandbox.unreachable(None, A)
    # hostAccess: an ipvlan shim on the host, host routes to the endpoints; both ways work.
    write(sandbox, lower_network("lan", "ipvlan", LAN_SUBNET, gateway=ROUTER, parent=PARENT, mode="l2", hostAccess=True),
          endpoint("a", iface("lan", A)), endpoint("b", iface("lan", B, name=PARENT)))
    converge(sandbox, path)
    assert sandbox.ping(None, A) and sandbox.ping("a", HOST_ON_LAN)


def test_ipvlan_l3_routes_between_subnets_on_one_parent_and_prints_underlay_hints(sandbox):
    make_lan(sandbox)
    net = lower_network("routed", "ipvlan", subnets=[{"subnet": "10.70.1.0/24"}, {"subnet": "10.70.2.0/31"}],
                        parent=PARENT, mode="l3")
    eps = [endpoint("a", iface("routed", "10.70.1.5")), endpoint("b", iface("routed", "10.70.2.0")),
           endpoint("c", iface("routed", "10.70.2.1"))]  # a /31 holds two: no gateway is reserved
    path = write(sandbox, net, *eps)
    report = converge(sandbox, path)
    assert "the router of eth1's segment needs `ip route add 10.70.1.0/24 via 192.168.60.10`" in report
    assert out(sandbox, "ip -n b route show default").split()[:3] == ["default", "dev", "eth0"]
    assert sandbox.ping("a", "10.70.2.1") and sandbox.ping("b", "10.70.1.5") and sandbox.ping("b", "10.70.2.1")
    code, text = plan(sandbox, path)
    assert code == 0 and "ip route add 10.70.2.0/31 via 192.168.60.10" in text
    # l3 -> l2 is a replace with its reason.
    write(sandbox, lower_network("routed", "ipvlan", subnets=[{"subnet": "10.70.1.0/24"}, {"subnet": "10.70.2.0/31"}],
                                 parent=PARENT, mode="l2"), *eps)
    code, text = plan(sandbox, path)
    assert code == 2 and "(mode cannot change in place: l3 -> l2)" in text
    converge(sandbox, path)
    assert "ipvlan  mode l2" in out(sandbox, "ip -n a -d link show eth0")


def test_a_vlan_parent_is_made_shared_and_removed_with_its_last_network_and_an_existing_one_stays(sandbox):
    make_lan(sandbox)
    sandbox.sh(f"ip link add link {PARENT} name {PARENT}.61 type vlan id 61 && ip link set {PARENT}.61 up")
    # (its operational state settles by itself a moment after it comes up: not ours to compare)
    before = snapshot(sandbox, f"ip -d link show {PARENT}.61 | sed 's/ state [A-Z]*//'")
    v60a = lower_network("v60a", "macvlan", "10.60.1.0/24", parent=f"{PARENT}.60")
    v60b = lower_network("v60b", "macvlan", "10.60.2.0/24", parent=f"{PARENT}.60")
    v61 = lower_network("v61", "macvlan", "10.61.0.0/24", parent=f"{PARENT}.61")
    eps = [endpoint("a", "v60a"), endpoint("b", "v60b"), endpoint("c", "v61")]
    path = write(sandbox, v60a, v60b, v61, *eps)
    report = converge(sandbox, path)
    assert report.count("+ vlan eth1.60 (id 60 on eth1)") == 1 and "+ vlan eth1.61" not in report
    link = out(sandbox, f"ip -d link show {PARENT}.60")
    assert "vlan protocol 802.1Q id 60" in link and "netreconcile:network/v60a network/v60b" in link
    # The LAN sees tagged frames: a VLAN 60 interface there reaches endpoint a.
    sandbox.sh("ip -n lan link add link lanbr name lanbr.60 type vlan id 60 && "
               "ip -n lan addr add 10.60.1.254/24 dev lanbr.60 && ip -n lan link set lanbr.60 up")
    a_address = out(sandbox, "ip -n a -4 -o addr show eth0").split()[3].split("/")[0]
    assert sandbox.ping("lan", a_address)
    # `destroy` of v60a alone: eth1.60 stays for v60b, which keeps working.
    sandbox.nr("destroy", str(write(sandbox, v60a, endpoint("a", "v60a"), name="only-a/net.yaml")))
    assert "netreconcile:network/v60b\n" in out(sandbox, f"ip -d link show {PARENT}.60") + "\n"
    write(sandbox, v60b, v61, endpoint("b", "v60b"), endpoint("c", "v61"))
    code, text = plan(sandbox, path)
    assert code == 0, text
    write(sandbox, v61, endpoint("c", "v61"))   # the last network on eth1.60 goes: so does eth1.60
    converge(sandbox, path, "--force")
    assert sandbox.sh(f"ip link show {PARENT}.60", check=False).returncode != 0
    sandbox.nr("destroy", str(path))   # eth1.61 existed before: never removed
    assert_unchanged(sandbox, before)


def test_no_parent_means_an_owned_dummy_parent_and_an_internal_network(sandbox):
    net = lower_network("island", "macvlan", "10.80.0.0/24")
    path = write(sandbox, net, endpoint("a", "island"), endpoint("b", iface("island", "10.80.0.9")))
    report = converge(sandbox, path)
    dummy = next(line.split()[2] for line in report.splitlines() if line.strip().startswith("+ dummy "))
    assert dummy.startswith("dm-") and "dummy" in out(sandbox, f"ip -d link show {dummy}")
    assert sandbox.ping("a", "10.80.0.9")
    assert out(sandbox, "ip -n a route show default") == ""   # internal: no way out
    assert out(sandbox, "ip netns exec a getent hosts b").split() == ["10.80.0.9", "b"]  # our names only
    assert "status: SERVFAIL" in out(sandbox, "ip netns exec a dig +time=3 +tries=1 @127.0.0.11 www.example.test")
    sandbox.nr("destroy", str(path))
    assert sandbox.sh(f"ip link show {dummy}", check=False).returncode != 0


def test_dual_stack_ipvlan_l3_routes_ipv6_out_of_the_device_too(sandbox):
    make_lan(sandbox)
    net = lower_network("routed", "ipvlan", subnets=[{"subnet": "10.70.1.0/24"}, {"subnet": "fd00:70:1::/64"},
                                                      {"subnet": "fd00:70:2::/64"}], parent=PARENT, mode="l3")
    net["spec"]["enableIPv6"] = True
    a = endpoint("a", {"network": "routed", "ipv4Address": "10.70.1.5", "ipv6Address": "fd00:70:1::5"})
    b = endpoint("b", {"network": "routed", "ipv4Address": "10.70.1.6", "ipv6Address": "fd00:70:2::6"})
    path = write(sandbox, net, a, b)
    converge(sandbox, path)
    assert out(sandbox, "ip -n a -6 route show default").split()[:3] == ["default", "dev", "eth0"]
    assert sandbox.sh("ip netns exec a ping -6 -c3 -i0.2 -W1 fd00:70:2::6", check=False).returncode == 0
    assert sandbox.ping("b", "10.70.1.5")


def test_ipvlan_point_to_point_subnets_hold_two_endpoints_without_given_addresses(sandbox):
    # Docker's TestPointToPoint: no gateway is reserved on l3 (nor on an l2 network without a parent
    # or a declared gateway), and a /31 (RFC 3021) or an IPv6 /127 (RFC 6164) has no network,
    # broadcast or anycast address: both addresses go to endpoints.
    sandbox.sh("ip link add di-dummy0 type dummy && ip link set di-dummy0 up")
    l3 = lower_network("p2pipvlan", "ipvlan", subnets=[{"subnet": "192.168.135.0/31"}, {"subnet": "fd00:135::/127"}],
                       parent="di-dummy0", mode="l3")
    l3["spec"]["enableIPv6"] = True
    l2 = lower_network("p2pinternal", "ipvlan", "192.168.136.0/31", mode="l2")
    path = write(sandbox, l3, l2, endpoint("a", "p2pipvlan"), endpoint("b", "p2pipvlan"),
                 endpoint("c", "p2pinternal"), endpoint("d", "p2pinternal"))
    converge(sandbox, path)
    held = {ns: _global_addresses(sandbox, ns) for ns in "abcd"}
    assert sorted(held["a"] + held["b"]) == ["192.168.135.0/31", "192.168.135.1/31", "fd00:135::/127", "fd00:135::1/127"]
    assert sorted(held["c"] + held["d"]) == ["192.168.136.0/31", "192.168.136.1/31"]
    b4, b6 = (cidr.split("/")[0] for cidr in held["b"])
    assert sandbox.ping("a", b4) and sandbox.ping("c", held["d"][0].split("/")[0])
    assert sandbox.sh(f"ip netns exec a ping -6 -n -q -c1 -w5 {b6}", check=False).returncode == 0


def test_ipvlan_l3_nil_parent_endpoints_on_two_subnets_reach_each_other_and_nothing_else(sandbox):
    # Docker's testIpvlanL3NilParent. No parent makes the network internal: no default route (Docker
    # adds none either), so each endpoint reaches the network's other subnet through its interface,
    # where ipvlan l3 delivers by address between the parent's ipvlans.
    net = lower_network("di-nil-parent-l3", "ipvlan", subnets=[{"subnet": "172.28.230.0/24"}, {"subnet": "172.28.220.0/24"}],
                        mode="l3")
    path = write(sandbox, net, endpoint("a", iface("di-nil-parent-l3", "172.28.220.10")),
                 endpoint("b", iface("di-nil-parent-l3", "172.28.230.10")))
    converge(sandbox, path)
    assert sandbox.ping("b", "172.28.220.10") and sandbox.ping("a", "172.28.230.10")
    assert out(sandbox, "ip -n a route show default") == ""
    unrouted = sandbox.sh("ip -n a route get 203.0.113.7", check=False)
    assert unrouted.returncode != 0 and "Network is unreachable" in unrouted.stderr


def _global_addresses(sandbox, ns: str) -> list[str]:
    links = json.loads(out(sandbox, f"ip -n {ns} -j addr show eth0"))
    return [f"{a['local']}/{a['prefixlen']}" for a in links[0]["addr_info"] if a["scope"] == "global"]
