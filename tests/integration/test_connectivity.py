"""Real traffic through what apply builds: same network, NAT out, isolation, icc, internal, multi-subnet."""

from builders import (
    OUTSIDE,
    UPLINK_OUT,
    converge,
    endpoint,
    iface,
    make_outside,
    network,
    out,
    outside_seen,
    write,
)


def test_endpoints_on_one_network_reach_each_other_and_the_gateway(sandbox):
    path = write(sandbox, network("front", "172.20.0.0/24"),
                 endpoint("a", iface("front", "172.20.0.10")), endpoint("b", iface("front", "172.20.0.11")))
    converge(sandbox, path)
    assert sandbox.ping("a", "172.20.0.11")
    assert sandbox.ping("b", "172.20.0.10")
    assert sandbox.ping("a", "172.20.0.1")
    assert sandbox.ping("b", "172.20.0.1")
    assert "172.20.0.1/24" in out(sandbox, "ip -4 -o addr show dev br-front")
    assert out(sandbox, "ip -n a route show default").split()[:3] == ["default", "via", "172.20.0.1"]


def test_masquerade_lets_an_endpoint_reach_the_outside_as_the_host(sandbox):
    make_outside(sandbox)
    path = write(sandbox, network("front", "172.20.0.0/24"), endpoint("a", iface("front", "172.20.0.10")))
    converge(sandbox, path)
    # The outside has no route back to 172.20.0.0/24: a reply can only come back if the source was rewritten.
    assert "172.20" not in out(sandbox, f"ip -n {OUTSIDE} route")
    assert sandbox.ping("a", UPLINK_OUT)
    assert outside_seen(sandbox) == {"from-host": 1, "from-other": 0}
    table = out(sandbox, "nft list table inet netreconcile")
    assert 'ip saddr 172.20.0.0/24 oifname != "br-front" masquerade' in table


def test_without_masquerade_the_outside_sees_the_endpoint_address_and_cannot_answer(sandbox):
    make_outside(sandbox)
    path = write(sandbox, network("front", "172.20.0.0/24", masquerade=False), endpoint("a", iface("front", "172.20.0.10")))
    converge(sandbox, path)
    assert sandbox.ping("a", "172.20.0.1")
    assert sandbox.unreachable("a", UPLINK_OUT)
    assert outside_seen(sandbox) == {"from-host": 0, "from-other": 1}  # forwarded, not rewritten
    assert "masquerade" not in out(sandbox, "nft list table inet netreconcile")


def test_endpoints_on_different_networks_are_isolated_both_ways(sandbox):
    path = write(sandbox, network("front", "172.20.0.0/24"), network("back", "172.21.0.0/24"),
                 endpoint("a", iface("front", "172.20.0.10")), endpoint("b", iface("back", "172.21.0.10")))
    converge(sandbox, path)
    assert sandbox.ping("a", "172.20.0.1")
    assert sandbox.ping("b", "172.21.0.1")
    assert sandbox.unreachable("a", "172.21.0.10")
    assert sandbox.unreachable("b", "172.20.0.10")


def test_icc_false_blocks_endpoints_of_one_network_but_not_the_gateway_or_the_outside(sandbox):
    make_outside(sandbox)
    path = write(sandbox, network("front", "172.20.0.0/24", icc=False),
                 endpoint("a", iface("front", "172.20.0.10")), endpoint("b", iface("front", "172.20.0.11")))
    converge(sandbox, path)
    assert sandbox.unreachable("a", "172.20.0.11")
    assert sandbox.unreachable("b", "172.20.0.10")
    assert sandbox.ping("a", "172.20.0.1")
    assert sandbox.ping("b", "172.20.0.1")
    assert sandbox.ping("a", UPLINK_OUT)
    assert sandbox.ping("b", UPLINK_OUT)


def test_internal_network_has_no_way_out_but_peers_talk(sandbox):
    make_outside(sandbox)
    path = write(sandbox, network("priv", "172.22.0.0/24", internal=True),
                 endpoint("a", iface("priv", "172.22.0.10")), endpoint("b", iface("priv", "172.22.0.11")))
    converge(sandbox, path)
    assert out(sandbox, "ip -n a route show default") == ""
    assert out(sandbox, "ip -n a -4 route").split()[0] == "172.22.0.0/24"
    assert sandbox.ping("a", "172.22.0.11")
    assert sandbox.unreachable("a", UPLINK_OUT)
    # Even with a default route added by hand inside the endpoint, the firewall keeps it in.
    sandbox.sh("ip -n a route add default via 172.22.0.1")
    assert sandbox.unreachable("a", UPLINK_OUT)
    assert outside_seen(sandbox) == {"from-host": 0, "from-other": 0}
    assert "masquerade" not in out(sandbox, "nft list table inet netreconcile")


def test_network_with_two_ipv4_subnets_has_both_gateways_on_its_bridge(sandbox):
    make_outside(sandbox)
    path = write(sandbox, network("multi", subnets=["172.23.0.0/24", "172.24.0.0/24"]),
                 endpoint("a", iface("multi", "172.23.0.10")), endpoint("b", iface("multi", "172.24.0.10")))
    converge(sandbox, path)
    addrs = out(sandbox, "ip -4 -o addr show dev br-multi")
    assert "172.23.0.1/24" in addrs and "172.24.0.1/24" in addrs
    assert sandbox.ping("a", "172.23.0.1")
    assert sandbox.ping("b", "172.24.0.1")
    assert sandbox.ping("a", UPLINK_OUT)
    assert sandbox.ping("b", UPLINK_OUT)
    assert sandbox.ping("a", "172.24.0.10")  # routed through the bridge's two gateways


def test_an_endpoint_on_two_networks_reaches_both_while_they_stay_apart(sandbox):
    make_outside(sandbox)
    path = write(sandbox, network("front", "172.20.0.0/24"), network("back", "172.21.0.0/24", internal=True),
                 endpoint("a", iface("front", "172.20.0.10")), endpoint("b", iface("back", "172.21.0.10")),
                 endpoint("c", iface("front", "172.20.0.20"), iface("back", "172.21.0.20")))
    converge(sandbox, path)
    assert out(sandbox, "ip -n c route show default").split()[:5] == ["default", "via", "172.20.0.1", "dev", "eth0"]
    assert "172.21.0.20/24" in out(sandbox, "ip -n c -4 -o addr show dev eth1")
    assert sandbox.ping("c", "172.20.0.10")
    assert sandbox.ping("c", "172.21.0.10")
    assert sandbox.ping("c", UPLINK_OUT)  # out through the first, non-internal network
    assert sandbox.unreachable("a", "172.21.0.10")
