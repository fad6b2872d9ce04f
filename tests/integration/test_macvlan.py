"""The macvlan driver on this kernel, with real traffic: endpoints on a LAN behind a veth parent.

The LAN (builders.make_lan) is a namespace with a bridge holding the router (the gateway address)
and another machine `pc`; the host's parent eth1 is a veth into it, and the host has its own address
on eth1 as a real host would.
"""

import re

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
    run_fails_cleanly,
    snapshot,
    tcp_echo,
    write,
)

A, B = "192.168.60.21", "192.168.60.22"


def lan60(**options) -> dict:
    options.setdefault("parent", PARENT)
    return lower_network("lan60", "macvlan", LAN_SUBNET, gateway=ROUTER, **options)


def two_endpoints(**options) -> list[dict]:
    return [lan60(**options), endpoint("a", iface("lan60", A)), endpoint("b", iface("lan60", B, name="foobar"))]


def test_bridge_mode_endpoints_reach_the_router_the_lan_and_each_other(sandbox):
    make_lan(sandbox)
    path = write(sandbox, *two_endpoints(mode="bridge"))
    converge(sandbox, path)
    assert sandbox.ping("a", ROUTER) and sandbox.ping("a", PC)
    assert sandbox.ping("b", ROUTER) and sandbox.ping("pc", B)
    assert sandbox.ping("a", B) and sandbox.ping("b", A)
    assert tcp_echo(sandbox, "b", B, "a") == "hello-tcp"
    assert tcp_echo(sandbox, "a", A, "pc") == "hello-tcp"
    # Its own MAC (Docker's 02:42 + IPv4), the gateway of the manifest as default route, any name.
    link = out(sandbox, "ip -n a -d link show eth0")
    assert "link/ether 02:42:c0:a8:3c:15" in link and "macvlan mode bridge" in link
    assert "macvlan mode bridge" in out(sandbox, "ip -n b -d link show foobar")
    assert out(sandbox, "ip -n a route show default").split()[:5] == ["default", "via", ROUTER, "dev", "eth0"]
    # The router sees the endpoints' own MACs: macvlan, not NAT.
    assert "02:42:c0:a8:3c:15" in out(sandbox, f"ip -n lan neigh show {A}")


def test_an_endpoint_interface_named_like_its_parent_is_created_and_renamed_inside(sandbox):
    """eth0 inside a container whose parent is the host's eth0 (Docker's own example): kernels before
    6.12 make the link in the parent's namespace first, so it is born under a transit name."""
    make_lan(sandbox)
    path = write(sandbox, lan60(), endpoint("a", iface("lan60", A, name=PARENT)))
    converge(sandbox, path)
    links = out(sandbox, "ip -n a -o link show")
    assert f": {PARENT}@" in links and "nrt-" not in links, links
    assert sandbox.ping("a", ROUTER) and sandbox.ping("pc", A)
    sandbox.sh(f"ip -n a link del {PARENT}")  # recreated the same way
    converge(sandbox, path)
    assert sandbox.ping("a", ROUTER)


def test_private_mode_endpoints_reach_the_router_but_not_each_other(sandbox):
    make_lan(sandbox)
    path = write(sandbox, *two_endpoints(mode="private"))
    converge(sandbox, path)
    assert sandbox.ping("a", ROUTER) and sandbox.ping("b", ROUTER)
    assert sandbox.unreachable("a", B) and sandbox.unreachable("b", A)


def test_vepa_mode_endpoints_talk_only_through_the_external_switch(sandbox):
    make_lan(sandbox)
    path = write(sandbox, *two_endpoints(mode="vepa"))
    converge(sandbox, path)
    assert sandbox.ping("a", ROUTER) and sandbox.ping("a", PC)
    assert sandbox.unreachable("a", B)  # vepa sends a -> b out of the parent; the LAN bridge will not send it back
    sandbox.sh("ip -n lan link set lan0 type bridge_slave hairpin on")  # a switch in "reflective relay"
    assert sandbox.ping("a", B) and sandbox.ping("b", A)


def test_a_mode_change_is_a_replace_with_its_reason_and_the_traffic_follows(sandbox):
    make_lan(sandbox)
    path = write(sandbox, *two_endpoints(mode="bridge"))
    converge(sandbox, path)
    assert sandbox.ping("a", B)
    write(sandbox, *two_endpoints(mode="private"))
    code, text = plan(sandbox, path)
    assert code == 2
    assert "-/+ macvlan a/eth0 (on eth1, private) (mode cannot change in place: bridge -> private)" in text
    assert "-/+ address 192.168.60.21/24 on a/eth0 (link eth0 is replaced)" in text
    converge(sandbox, path)
    assert sandbox.unreachable("a", B)
    assert sandbox.ping("a", ROUTER)


def test_without_host_access_the_host_and_its_endpoints_cannot_reach_each_other(sandbox):
    make_lan(sandbox)
    path = write(sandbox, *two_endpoints())
    converge(sandbox, path)
    assert sandbox.ping(None, PC)  # the host itself is on the LAN
    assert sandbox.unreachable(None, A)
    assert sandbox.unreachable("a", HOST_ON_LAN)


def test_host_access_makes_host_and_endpoints_reach_each_other_and_goes_cleanly(sandbox):
    make_lan(sandbox)
    path = write(sandbox, *two_endpoints(hostAccess=True))
    report = converge(sandbox, path)
    shim = next(line.split()[2] for line in report.splitlines() if line.strip().startswith("+ macvlan nrs-"))
    assert sandbox.ping(None, A) and sandbox.ping(None, B)
    assert sandbox.ping("a", HOST_ON_LAN)
    assert tcp_echo(sandbox, "a", A, None) == "hello-tcp"
    routes = out(sandbox, "ip route show proto 113")
    assert f"{A} dev {shim}" in routes and f"{B} dev {shim}" in routes
    # Turned off again: shim and host routes go, and the host is cut off as before.
    write(sandbox, *two_endpoints(hostAccess=False))
    converge(sandbox, path)
    assert shim not in out(sandbox, "ip -o link")
    assert out(sandbox, "ip route show proto 113") == ""
    assert sandbox.unreachable(None, A)


def test_without_a_gateway_no_default_route_and_no_address_reserved(sandbox):
    make_lan(sandbox)
    net = lower_network("tiny", "macvlan", "192.168.60.0/30", parent=PARENT)
    path = write(sandbox, net, endpoint("a", "tiny"), endpoint("b", "tiny"))
    converge(sandbox, path)
    addresses = sorted(out(sandbox, f"ip -n {ns} -4 -o addr show eth0").split()[3] for ns in ("a", "b"))
    assert addresses == ["192.168.60.1/30", "192.168.60.2/30"]  # .1 is not kept for a gateway
    assert out(sandbox, "ip -n a route show default") == ""
    other = "192.168.60.2" if addresses[0].startswith("192.168.60.1/") else "192.168.60.1"
    assert sandbox.ping("a", other)


def test_removing_an_endpoint_and_destroying_leave_the_parent_and_the_lan_alone(sandbox):
    make_lan(sandbox)
    before = snapshot(sandbox, f"ip -d link show {PARENT}", f"ip -4 addr show {PARENT}", "ip route", "ip netns list",
                      "ip -n lan -d link", "ip -n pc -4 addr")
    path = write(sandbox, *two_endpoints(hostAccess=True))
    converge(sandbox, path)
    net, a, _ = two_endpoints(hostAccess=True)
    write(sandbox, net, a)
    converge(sandbox, path)
    assert "b" not in out(sandbox, "ip netns list").split()
    assert B not in out(sandbox, "ip route")
    assert sandbox.ping("a", ROUTER)
    sandbox.nr("destroy", str(path))
    assert "nrs-" not in out(sandbox, "ip -o link")
    assert_unchanged(sandbox, before)


def test_an_endpoint_interface_deleted_behind_our_back_is_recreated(sandbox):
    make_lan(sandbox)
    path = write(sandbox, *two_endpoints())
    converge(sandbox, path)
    sandbox.sh("ip -n a link del eth0")
    code, text = plan(sandbox, path)
    assert code == 2 and "+ macvlan a/eth0 (on eth1, bridge)" in text
    converge(sandbox, path)
    assert sandbox.ping("a", ROUTER)


def test_a_missing_parent_is_reported_at_plan_time_and_nothing_changes(sandbox):
    path = write(sandbox, *two_endpoints())
    before = snapshot(sandbox, "ip -o link", "ip netns list")
    for command in ("plan", "apply"):
        err = run_fails_cleanly(sandbox, command, str(path))
        assert "network lan60: parent eth1 does not exist on this host" in err
    assert_unchanged(sandbox, before)


def test_a_bridge_port_parent_is_refused_and_a_down_parent_is_a_warning(sandbox):
    make_lan(sandbox)
    sandbox.sh(f"ip link add br0 type bridge && ip link set {PARENT} master br0")
    path = write(sandbox, *two_endpoints())
    err = run_fails_cleanly(sandbox, "plan", str(path))
    assert "network lan60: parent eth1 is a port of br0, and a bridge port cannot carry macvlan links" in err
    sandbox.sh(f"ip link set {PARENT} nomaster && ip link set {PARENT} down")
    code, text = plan(sandbox, path)
    assert code == 2
    assert "warning: network lan60: parent eth1 is down; its endpoints get no traffic until it is up" in text


def test_an_ipvlan_network_on_a_kernel_without_ipvlan_fails_before_any_change(sandbox):
    has_ipvlan = sandbox.sh("unshare --net sh -c 'ip link add l0 type veth peer name l1 && "
                            "ip link add link l0 name i0 type ipvlan'", check=False).returncode == 0
    if has_ipvlan:
        pytest.skip("this kernel has ipvlan: tests/integration/test_ipvlan.py covers it")
    make_lan(sandbox)
    net = lower_network("lan", "ipvlan", LAN_SUBNET, gateway=ROUTER, parent=PARENT)
    path = write(sandbox, net, endpoint("a", "lan"))
    before = snapshot(sandbox, "ip -o link", "ip netns list", "ip route", "nft list ruleset")
    for command in ("plan", "apply"):
        err = run_fails_cleanly(sandbox, command, str(path))
        # located at the manifest object that needs the link kind: the endpoint, whose interface it is
        assert re.search(rf"^error: {re.escape(str(path))}:\d+:1: Endpoint/a: kernel lacks ipvlan support "
                         r"\(CONFIG_IPVLAN; try: modprobe ipvlan\)$", err, re.MULTILINE), err
    assert_unchanged(sandbox, before)
