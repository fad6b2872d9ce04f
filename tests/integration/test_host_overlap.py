"""A network's subnet must not overlap the host's own networks: an address of the host, or a route
(other than a default route) that netreconcile does not own, in any routing table. Otherwise the
bridge's connected route and the direct-access drop (`raw-PREROUTING ip daddr <subnet> drop`) take
the host's LAN, loopback or VPN traffic. plan, apply and watch refuse before anything changes.

Inside the sandbox, `uplink` is a veth into a namespace `lan`, standing for the host's LAN uplink.
"""

from __future__ import annotations

import re

from builders import (
    HOST_ON_LAN,
    LAN_SUBNET,
    PARENT,
    ROUTER,
    assert_unchanged,
    converge,
    endpoint,
    iface,
    lower_network,
    make_lan,
    netns_names,
    network,
    out,
    plan,
    run_fails_cleanly,
    snapshot,
    text,
    write,
)
from test_watch import watching

UPLINK = "uplink"
KERNEL = ("ip -d link", "ip addr", "ip route show table all", "ip -6 route show table all", "nft list ruleset")
ADVICE = "choose a subnet that does not overlap the host's networks"


def make_uplink(sandbox, *addresses: str) -> None:
    """The host's uplink with `addresses` (CIDRs), up on both ends, so its connected routes are there."""
    sandbox.sh(f"ip netns add lan && ip link add {UPLINK} type veth peer name eth0 netns lan && "
               f"ip -n lan link set eth0 up && ip link set {UPLINK} up")
    for address in addresses:
        sandbox.sh(f"ip addr add {address} dev {UPLINK}")
    sandbox.sh(f"for i in $(seq 100); do ip -6 addr show dev {UPLINK} | grep -q 'scope link' && exit 0; "
               "sleep 0.05; done; exit 1")
    settle(sandbox)


def settle(sandbox) -> None:
    """Wait until no IPv6 address of the host is tentative: the kernel completes duplicate address
    detection (and adds the address's local route) by itself, which would show in the snapshots."""
    sandbox.sh("for i in $(seq 100); do ip -6 addr show tentative | grep -q inet6 || exit 0; sleep 0.05; done; exit 1")


def refusal(sandbox, *args: str) -> str:
    """The command fails cleanly (exit 1, no traceback) and changes nothing; returns its stderr."""
    settle(sandbox)
    before = snapshot(sandbox, *KERNEL)
    stderr = run_fails_cleanly(sandbox, *args)
    assert "Nothing was changed." in stderr, stderr
    assert_unchanged(sandbox, before)
    return stderr


def test_a_subnet_over_the_hosts_lan_is_refused_by_plan_and_apply_naming_the_route_and_its_device(sandbox):
    make_uplink(sandbox, "192.168.50.2/24")
    path = write(sandbox, network("wide", "192.168.0.0/16"), endpoint("a", "wide"))
    for command in ("plan", "apply"):
        stderr = refusal(sandbox, command, str(path))
        line = next(n for n, t in enumerate(path.read_text().splitlines(), 1) if "192.168.0.0/16" in t)
        assert (f"error: network wide ({path}:{line}): subnet 192.168.0.0/16 overlaps 192.168.50.0/24 on {UPLINK} "
                f"(route, table main); {ADVICE}") in stderr, stderr
    assert out(sandbox, "ip -o link show type bridge") == "" and netns_names(sandbox) == ["lan"]


def test_plan_json_reports_the_overlap_as_a_conflict(sandbox):
    make_uplink(sandbox, "192.168.50.2/24")
    path = write(sandbox, network("wide", "192.168.0.0/16"))
    result = sandbox.nr("plan", str(path), "-o", "json", check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert '"type": "conflict"' in result.stdout and f"192.168.50.0/24 on {UPLINK}" in result.stdout, result.stdout


def test_a_route_in_another_table_conflicts_and_a_default_route_does_not(sandbox):
    make_uplink(sandbox, "192.168.50.2/24")
    sandbox.sh(f"ip route add default via 192.168.50.1 dev {UPLINK} && "
               f"ip route add default dev {UPLINK} table 100 && ip -6 route add default dev {UPLINK} table 100")
    path = write(sandbox, network("vpnnet", "10.99.1.0/24"), endpoint("a", "vpnnet"))
    converge(sandbox, path)  # default routes, in main and in table 100, do not conflict

    sandbox.sh(f"ip route add 10.99.0.0/16 dev {UPLINK} table 100")  # as a VPN puts its own routes
    stderr = refusal(sandbox, "plan", str(path))
    assert f"subnet 10.99.1.0/24 overlaps 10.99.0.0/16 on {UPLINK} (route, table 100); {ADVICE}" in stderr, stderr
    refusal(sandbox, "apply", str(path))


def test_the_halves_of_a_default_route_that_vpns_add_do_not_conflict(sandbox):
    """OpenVPN's def1 replaces the default route by 0.0.0.0/1 and 128.0.0.0/1: default routes all the same."""
    make_uplink(sandbox, "192.168.50.2/24")
    sandbox.sh(f"ip route add 0.0.0.0/1 dev {UPLINK} && ip route add 128.0.0.0/1 dev {UPLINK}")
    path = write(sandbox, network("front", "172.29.1.0/24"))
    converge(sandbox, path)
    sandbox.sh(f"ip route add 172.29.0.0/16 dev {UPLINK}")
    assert "overlaps 172.29.0.0/16" in refusal(sandbox, "plan", str(path))


def test_our_own_bridges_never_conflict_but_a_route_added_later_is_reported_by_plan(sandbox):
    make_uplink(sandbox, "192.168.50.2/24")
    path = write(sandbox, network("front", "172.29.1.0/24"), network("back", "172.29.2.0/24"),
                 endpoint("a", "front", "back"))
    converge(sandbox, path)
    converge(sandbox, path)  # the bridges' own addresses and connected routes are ours: the plan stays empty
    assert "172.29.1.1/24" in out(sandbox, "ip addr show dev br-front")

    sandbox.sh(f"ip route add 172.29.2.128/25 dev {UPLINK} table 51820")
    stderr = refusal(sandbox, "plan", str(path))
    assert "network back (" in stderr and f"overlaps 172.29.2.128/25 on {UPLINK} (route, table 51820)" in stderr, stderr
    assert "network front" not in stderr, stderr
    sandbox.sh(f"ip route del 172.29.2.128/25 dev {UPLINK} table 51820")
    assert plan(sandbox, path)[0] == 0


def test_an_address_without_a_route_conflicts_too(sandbox):
    """An address on lo (a service VIP) has no route in the main table, only the local table's mirror."""
    sandbox.sh("ip addr add 10.77.0.1/32 dev lo")
    path = write(sandbox, network("vip", "10.77.0.0/24"))
    stderr = refusal(sandbox, "apply", str(path))
    assert f"subnet 10.77.0.0/24 overlaps 10.77.0.1/32 on lo (address); {ADVICE}" in stderr, stderr


def test_ipv6_subnets_are_checked_and_link_local_routes_are_not_conflicts(sandbox):
    make_uplink(sandbox, "fd50:50::2/64")
    assert "fe80::/64" in out(sandbox, f"ip -6 route show dev {UPLINK}")
    six = {"enableIPv6": True, "ipam": {"subnets": [{"subnet": "172.29.1.0/24"}, {"subnet": "fd00:29:1::/64"}]}}
    ok = network("six", "172.29.1.0/24")
    ok["spec"].update(six)
    path = write(sandbox, ok, endpoint("a", "six"))
    converge(sandbox, path)

    wide = network("wide", "172.29.2.0/24")
    wide["spec"].update(enableIPv6=True, ipam={"subnets": [{"subnet": "172.29.2.0/24"}, {"subnet": "fd50::/24"}]})
    other = write(sandbox, wide, name="other/net.yaml")
    stderr = refusal(sandbox, "plan", str(other))
    assert f"subnet fd50::/24 overlaps fd50:50::/64 on {UPLINK} (route, table main)" in stderr, stderr
    assert "fe80" not in stderr, stderr


def test_an_overlay_network_over_the_underlay_is_refused(sandbox):
    make_uplink(sandbox, "10.10.0.11/24")
    host = {"apiVersion": "netreconcile/v1", "kind": "Host", "metadata": {"name": "node-a"},
            "spec": {"underlay": {"address": "10.10.0.11"}}}
    overlay = {"apiVersion": "netreconcile/v1", "kind": "Network", "metadata": {"name": "appnet"},
               "spec": {"driver": "overlay", "ipam": {"subnet": "10.10.0.0/16"}}}
    placed = {"apiVersion": "netreconcile/v1", "kind": "Endpoint", "metadata": {"name": "api1"},
              "spec": {"host": "node-a", "interfaces": [{"network": "appnet"}]}}
    path = sandbox.write("m/net.yaml", text(host, overlay, placed))
    stderr = refusal(sandbox, "apply", str(path))
    assert "network appnet (" in stderr and f"overlaps 10.10.0.0/24 on {UPLINK} (route, table main)" in stderr, stderr


def test_a_macvlan_network_on_its_parents_lan_still_works_but_a_bridge_there_is_refused(sandbox):
    make_lan(sandbox)
    lan = lower_network("lan60", "macvlan", LAN_SUBNET, gateway=ROUTER, parent=PARENT, mode="bridge", hostAccess=True)
    path = write(sandbox, lan, endpoint("a", iface("lan60", "192.168.60.21")))
    converge(sandbox, path)
    assert sandbox.ping("a", ROUTER) and sandbox.ping(None, "192.168.60.21")

    bridged = write(sandbox, network("lan60", LAN_SUBNET), name="other/net.yaml")
    stderr = refusal(sandbox, "plan", str(bridged))
    assert f"overlaps {LAN_SUBNET} on {PARENT} (route, table main)" in stderr, stderr
    assert HOST_ON_LAN not in stderr  # the address's own connected route names it once


def test_watch_logs_the_refusal_and_changes_nothing(sandbox):
    make_uplink(sandbox, "192.168.50.2/24")
    path = write(sandbox, network("front", "172.29.1.0/24"), endpoint("a", "front"))
    with watching(sandbox, path.parent) as watch:
        sandbox.sh(f"ip route add 172.29.0.0/16 dev {UPLINK} table 100")  # a VPN comes up: no reconcile yet
        settle(sandbox)
        before = snapshot(sandbox, *KERNEL)
        seen = len(watch.lines())
        path.write_text(text(network("front", "172.29.1.0/24"), endpoint("a", "front"), endpoint("b", "front")))
        line = watch.wait_for(re.escape(f"overlaps 172.29.0.0/16 on {UPLINK} (route, table 100)"), after=seen)
        assert "network front (" in line
        assert_unchanged(sandbox, before)  # b was not added
