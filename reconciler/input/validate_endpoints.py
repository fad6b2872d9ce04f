"""The checks of one endpoint alone (its netns, interfaces and their addresses on their networks,
names, MACs, sysctls), and what they found, kept between two loads of the watch's ManifestCache."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

from reconciler.errors import Problem
from reconciler.input.spec import Endpoint, Interface, Network
from reconciler.input.validate_common import Path, problem, reserved_by
from reconciler.input.validate_limits import endpoint_limit_problems
from reconciler.input.validate_names import endpoint_name_problems
from reconciler.input.validate_pools import is_auto

Uses = tuple[tuple[Network | None, bool], ...]  # what one endpoint's checks read of the networks


class EndpointChecks:
    """What the checks of each endpoint alone found, kept by group of endpoints (the watch's cache gives
    a file's, the same sequence while the file's bytes are the same): a group that is the same object
    as in the last call is checked again only when the networks differ (not equal, or not the same
    invalid), and then only its endpoints whose networks differ."""

    def __init__(self) -> None:
        self.kept: dict[int, _Checked] = {}
        self.networks: tuple[dict[str, Network], frozenset[str]] = ({}, frozenset())  # of the last call

    def __call__(self, groups: Iterable[Sequence[Endpoint]], networks: dict[str, Network],
                 invalid_networks: Collection[str]) -> list[Problem]:
        """Every endpoint's problems, group after group."""
        kept, self.kept = self.kept, {}
        last, self.networks = self.networks, (networks, frozenset(invalid_networks))
        same = last == self.networks
        problems = []
        for group in groups:
            known = kept.get(id(group))
            if known is None or known.endpoints is not group:
                known = _Checked.of(group, networks, invalid_networks)
            elif not same:
                known = known.again(networks, invalid_networks)
            self.kept[id(group)] = known
            problems += known.problems
        return problems


@dataclass(frozen=True)
class _Checked:
    """A group of endpoints, what the checks of each read of the networks, and what they found."""

    endpoints: Sequence[Endpoint]
    uses: tuple[Uses, ...]
    found: tuple[list[Problem], ...]

    @classmethod
    def of(cls, endpoints: Sequence[Endpoint], networks: dict[str, Network], invalid_networks: Collection[str]) -> _Checked:
        return cls(endpoints, tuple(_uses(e, networks, invalid_networks) for e in endpoints),
                   tuple(_checks(e, networks, invalid_networks) for e in endpoints))

    @cached_property
    def problems(self) -> list[Problem]:
        return [p for found in self.found for p in found]

    def again(self, networks: dict[str, Network], invalid_networks: Collection[str]) -> _Checked:
        """The same endpoints with other networks: each checked again only if what it reads differs."""
        uses = tuple(_uses(e, networks, invalid_networks) for e in self.endpoints)
        found = tuple(was if now == before else _checks(e, networks, invalid_networks)
                      for e, now, before, was in zip(self.endpoints, uses, self.uses, self.found))
        return _Checked(self.endpoints, uses, found)


def _uses(endpoint: Endpoint, networks: dict[str, Network], invalid_networks: Collection[str]) -> Uses:
    """What the checks of one endpoint read of the networks: each interface's network, and whether it is invalid."""
    return tuple((networks.get(i.network), i.network in invalid_networks) for i in endpoint.interfaces)


def _checks(endpoint: Endpoint, networks: dict[str, Network], invalid_networks: Collection[str]) -> list[Problem]:
    return (_endpoint_problems(endpoint, networks, invalid_networks)
            + endpoint_name_problems(endpoint) + endpoint_limit_problems(endpoint))


def _endpoint_problems(endpoint: Endpoint, networks: dict[str, Network], invalid_networks: Collection[str]) -> list[Problem]:
    problems = []
    if not _plain_name(endpoint.netns):
        problems.append(problem(endpoint, f"netns {endpoint.netns!r} must be a plain name (no '/', not '.' or '..', no leading '-')", "spec", "netns"))
    seen_names: set[str] = set()
    seen_networks: set[str] = set()
    for iface in endpoint.interfaces:
        path = ("spec", "interfaces", iface.index)
        if iface.name in seen_names:
            problems.append(problem(endpoint, f"duplicate interface name {iface.name!r}", *path, "name"))
        if iface.network in seen_networks:
            problems.append(problem(endpoint, f"network {iface.network!r} is attached twice", *path, "network"))
        seen_names.add(iface.name)
        seen_networks.add(iface.network)
        network = networks.get(iface.network)
        if network is None:
            if iface.network not in invalid_networks:
                problems.append(problem(endpoint, f"unknown network {iface.network!r}", *path, "network"))
            continue
        problems += _interface_address_problems(endpoint, iface, network, path)
    return problems


def _plain_name(name: str) -> bool:
    return name not in (".", "..") and "/" not in name and not name.startswith("-") and "\0" not in name


def _interface_address_problems(endpoint: Endpoint, iface: Interface, network: Network, path: Path) -> list[Problem]:
    problems = []
    if iface.mac_address and network.driver == "ipvlan":
        problems.append(problem(endpoint, "macAddress: ipvlan interfaces share their parent's MAC", *path, "macAddress"))
    for field_name, address in (("ipv4Address", iface.ipv4_address), ("ipv6Address", iface.ipv6_address)):
        if address is None or is_auto(network) or network.dhcp:  # validate_pools, validate_dhcp name it
            continue
        pools = [s for s in network.subnets if s.version == address.version]
        if address.version == 6 and not network.enable_ipv6:
            problems.append(problem(endpoint, f"{field_name} {address}: network {network.name!r} does not enable IPv6", *path, field_name))
        elif not any(address in s.subnet for s in pools):
            subnets = ", ".join(str(s.subnet) for s in pools) or "none of that family"
            problems.append(problem(endpoint, f"{field_name} {address} is outside the subnets of network {network.name!r} ({subnets})", *path, field_name))
        elif reserved := reserved_by(address, pools):
            problems.append(problem(endpoint, f"{field_name} {address} is reserved as {reserved} of network {network.name!r}", *path, field_name))
    return problems
