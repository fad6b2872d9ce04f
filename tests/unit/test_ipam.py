"""IPAM: deterministic from the manifests, never a reserved address, and stable for existing endpoints."""

from __future__ import annotations

from ipaddress import ip_address, ip_network

import pytest

from reconciler.errors import ManifestError
from reconciler.ipam import allocate
from reconciler.plan import Observed
from reconciler.planners import desired_state, sticky_addresses

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
