"""An Attachment finds the subnet holding each of its addresses once, and finds what a fresh search finds."""

from __future__ import annotations

import random
from ipaddress import ip_address

import pytest

from reconciler.input.spec import IPAddress, Subnet
from reconciler.planners.context import Attachment
from unit.helpers import endpoint, network, parse

M = parse(network("dual", "{subnets: [{subnet: 10.6.0.0/24}, {subnet: 10.7.0.0/16}, {subnet: 'fd00:6::/120'}]}",
                  "  enableIPv6: true\n") + endpoint("e1", "[{network: dual}]"))
CANDIDATES: list[IPAddress | None] = [None, *map(ip_address, ("10.6.0.9", "10.7.3.4", "10.8.0.1", "fd00:6::5", "fd00:7::5"))]


def searched(att: Attachment, version: int) -> Subnet | None:
    """The subnet holding the address of that family, found afresh."""
    address = att.ipv4 if version == 4 else att.ipv6
    return next((s for s in att.network.subnets if address is not None and address in s.subnet), None)


@pytest.mark.parametrize("seed", range(20))
def test_an_attachments_subnets_are_those_a_fresh_search_finds(seed: int) -> None:
    rng = random.Random(seed)
    ep, net = M.endpoints[0], M.networks[0]
    att = Attachment(ep.interfaces[0], net, rng.choice(CANDIDATES), rng.choice(CANDIDATES), rng.random() < 0.5)
    for version in rng.sample([4, 6, 4, 6], 4):
        assert att.subnet(version) == searched(att, version)
    assert att.cidrs() == [f"{a}/{s.subnet.prefixlen}" for v in (4, 6)
                           if (s := searched(att, v)) is not None and (a := att.address(v))]


def test_an_attachment_looks_through_its_networks_subnets_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """An endpoint's planners ask an Attachment for its subnets six times: one search per family."""
    looked: list[object] = []
    real = Attachment._holding

    def holding(self: Attachment, address: IPAddress | None) -> object:
        looked.append(address)
        return real(self, address)

    monkeypatch.setattr(Attachment, "_holding", holding)
    ep, net = M.endpoints[0], M.networks[0]
    att = Attachment(ep.interfaces[0], net, ip_address("10.7.3.4"), ip_address("fd00:6::5"))
    for _ in range(3):
        assert [s.subnet for s in (att.subnet(4), att.subnet(6)) if s] == [net.subnets[1].subnet, net.subnets[2].subnet]
    assert looked == [ip_address("10.7.3.4"), ip_address("fd00:6::5")]
