"""IPAM: deterministic from the manifests, never a reserved address, and stable for existing endpoints."""

from __future__ import annotations

from ipaddress import ip_address, ip_network

import pytest

from reconciler.errors import ManifestError
from reconciler.input.ipam import allocate
from reconciler.input.validate import load_manifests
from reconciler.planners import desired_state, sticky_addresses
from reconciler.planning.plan import Observed
from unit.helpers import endpoint, network, parse


def dynamic(names, net="front"):
    return "".join(endpoint(n, f"[{{network: {net}}}]") for n in names)


def v4(addresses, net="front"):
    """endpoint name -> IPv4 address as text, for one network."""
    return {ep: str(a) for (ep, n, version), a in addresses.items() if n == net and version == 4}


NAMES = [f"e{i:02d}" for i in range(60)]
FRONT = network("front", "{subnet: 10.9.0.0/24}")


def test_same_manifests_give_the_same_addresses_whatever_the_endpoint_order():
    first = allocate(parse(FRONT + dynamic(NAMES)))
    assert allocate(parse(FRONT + dynamic(NAMES))) == first
    assert allocate(parse(dynamic(reversed(NAMES)) + FRONT)) == first
    assert len(set(first.values())) == len(NAMES)


def test_network_broadcast_gateway_and_aux_addresses_are_never_handed_out():
    # A /28 has 16 addresses: without network, broadcast, gateway and two aux addresses, 11 remain.
    net = network("tiny", "{subnet: 10.8.0.0/28, gateway: 10.8.0.14, auxAddresses: {a: 10.8.0.5, b: 10.8.0.9}}")
    names = [f"n{i}" for i in range(11)]
    given = set(v4(allocate(parse(net + dynamic(names, "tiny"))), "tiny").values())
    reserved = {"10.8.0.0", "10.8.0.15", "10.8.0.14", "10.8.0.5", "10.8.0.9"}
    assert given == {str(a) for a in ip_network("10.8.0.0/28")} - reserved

    with pytest.raises(ManifestError, match="network 'tiny' has no free address left"):
        allocate(parse(net + dynamic(names + ["one-too-many"], "tiny")))


def test_dynamic_addresses_come_from_ip_range_and_static_ones_outside_it_are_kept():
    net = network("front", "{subnet: 10.7.0.0/24, ipRange: 10.7.0.128/28}")
    static = endpoint("fixed", "[{network: front, ipv4Address: 10.7.0.20}]")
    addresses = v4(allocate(parse(net + static + dynamic(NAMES[:10]))))
    assert addresses.pop("fixed") == "10.7.0.20"
    assert all(ip_address(a) in ip_network("10.7.0.128/28") for a in addresses.values())
    assert len(set(addresses.values())) == 10


def test_adding_and_removing_endpoints_moves_no_other_endpoint():
    before = parse(FRONT + dynamic(NAMES))
    # The kernel as the planner would leave it: what sticky_addresses reads back on the next run.
    observed = Observed({obj.key: obj for obj in desired_state(before)})
    after = parse(FRONT + dynamic([n for n in NAMES if n != "e43"] + ["new"]))

    old = v4(allocate(before))
    new = v4(allocate(after, sticky_addresses(after, observed)))

    assert {n: new[n] for n in old if n != "e43"} == {n: a for n, a in old.items() if n != "e43"}
    assert new["new"] not in set(old.values()) - {old["e43"]}
    # Without sticky, the same manifests are allocated afresh, the same every time, and here e43's
    # removal frees a slot that e46 and e53 would move into: sticky is what keeps them where they are.
    fresh = v4(allocate(after))
    assert fresh == v4(allocate(after))
    assert {n for n in old if n in fresh and fresh[n] != old[n]} == {"e46", "e53"}


def test_ipv6_addresses_are_allocated_in_the_v6_subnet_never_its_anycast_or_gateway_address():
    # A /125 has 8 addresses: `::` (subnet-router anycast) and the gateway `::1` leave 6.
    net = network("dual", "{subnets: [{subnet: 10.6.0.0/24}, {subnet: 'fd00:6::/125'}]}", "  enableIPv6: true\n")
    names = [f"n{i}" for i in range(6)]
    addresses = allocate(parse(net + dynamic(names, "dual")))
    v6 = {str(a) for (_, _, version), a in addresses.items() if version == 6}
    assert v6 == {f"fd00:6::{i}" for i in range(2, 8)}
    assert len(v4(addresses, "dual")) == 6

    with pytest.raises(ManifestError, match="no free address left"):
        allocate(parse(net + dynamic(names + ["n6"], "dual")))


def lower(name: str, driver: str, ipam: str, options: str) -> str:
    return (f"apiVersion: netreconcile/v1\nkind: Network\nmetadata: {{name: {name}}}\nspec:\n  driver: {driver}\n"
            f"  enableIPv6: true\n  ipam: {ipam}\n  {driver}: {options}\n---\n")


P2P = "{subnets: [{subnet: 192.168.135.0/31}, {subnet: 'fd00:135::/127'}]}"


def given(addresses, version: int) -> list[str]:
    return sorted(str(a) for (_, _, v), a in addresses.items() if v == version)


def test_a_point_to_point_subnet_of_an_l3_ipvlan_network_holds_two_endpoints_and_refuses_a_third(tmp_path):
    # RFC 3021 (/31) and RFC 6164 (/127): no network, broadcast or anycast address, and l3 keeps no gateway.
    net = lower("p2p", "ipvlan", P2P, "{parent: eth1, mode: l3}")
    addresses = allocate(parse(net + dynamic(["a", "b"], "p2p")))
    assert given(addresses, 4) == ["192.168.135.0", "192.168.135.1"]
    assert given(addresses, 6) == ["fd00:135::", "fd00:135::1"]
    path = tmp_path / "p2p.yaml"
    path.write_text(net + dynamic(["a", "b"], "p2p"))
    load_manifests([str(path)])   # validation allocates too: it must not call the pool full
    with pytest.raises(ManifestError, match="p2p"):
        allocate(parse(net + dynamic(["a", "b", "c"], "p2p")))


def test_both_addresses_of_a_point_to_point_subnet_may_be_given_and_the_other_is_allocated(tmp_path):
    net = lower("p2p", "ipvlan", P2P, "{parent: eth1, mode: l3s}")
    fixed = endpoint("a", "[{network: p2p, ipv4Address: 192.168.135.1, ipv6Address: 'fd00:135::'}]")
    path = tmp_path / "p2p.yaml"
    path.write_text(net + fixed + dynamic(["b"], "p2p"))
    addresses = allocate(load_manifests([str(path)]))
    assert addresses[("b", "p2p", 4)] == ip_address("192.168.135.0")
    assert addresses[("b", "p2p", 6)] == ip_address("fd00:135::1")


def test_a_macvlan_point_to_point_subnet_keeps_an_address_for_a_gateway_only_when_one_is_given():
    # Docker's macvlan (and ipvlan l2) reserve no gateway unless the manifest names the LAN's router.
    without = lower("lan", "macvlan", "{subnet: 192.168.135.0/31}", "{parent: eth1}")
    assert given(allocate(parse(without + dynamic(["a", "b"], "lan"))), 4) == ["192.168.135.0", "192.168.135.1"]
    routed = lower("lan", "macvlan", "{subnet: 192.168.135.0/31, gateway: 192.168.135.0}", "{parent: eth1}")
    assert given(allocate(parse(routed + dynamic(["a"], "lan"))), 4) == ["192.168.135.1"]
    with pytest.raises(ManifestError, match="lan"):
        allocate(parse(routed + dynamic(["a", "b"], "lan")))
