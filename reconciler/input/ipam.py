"""Address allocation: deterministic from the manifests, stable for endpoints that already have one.

Each dynamic interface hashes (network, endpoint) to a home slot of the pool's range and takes the
first free address from there. An address the kernel already carries for that interface is kept
while it stays valid ("sticky"), so adding or removing an endpoint never moves another one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from ipaddress import ip_address

from reconciler.errors import ManifestError, Problem
from reconciler.input.spec import (
    Endpoint,
    Interface,
    IPAddress,
    IPNetwork,
    Manifests,
    Network,
    Subnet,
    mesh_endpoints,
    shim_endpoint,
    vip_endpoint,
)

# (endpoint name, network name, IP version) -> address
AllocKey = tuple[str, str, int]
Addresses = Mapping[AllocKey, IPAddress]  # an allocation, as the planners read it


@dataclass(frozen=True)
class Request:
    """An endpoint's interface asking for an address on its network."""

    endpoint: Endpoint
    iface: Interface


Attached = tuple[tuple[Endpoint, Interface], ...]  # the interfaces on a network, each with its endpoint
Given = tuple[dict[AllocKey, IPAddress], tuple[Problem, ...]]  # a family's addresses, and its misses
FamilyAllocator = Callable[[Network, int, Attached, Mapping[AllocKey, IPAddress]], Given]


def allocate(m: Manifests, sticky: Mapping[AllocKey, IPAddress] | None = None,
             family: FamilyAllocator | None = None) -> dict[AllocKey, IPAddress]:
    """An address for every (endpoint, network, family) the manifests attach, static or allocated;
    ManifestError naming every interface that finds no free address. `family` stands for
    allocate_family (the watch's planner gives a memoised one)."""
    sticky, family = sticky or {}, family or allocate_family
    result: dict[AllocKey, IPAddress] = {}
    misses: list[Problem] = []
    for network in m.networks:
        for version in _versions(network):
            shim = shim_endpoint(network)
            vips = [vip_endpoint(s) for s in m.services if s.network == network.name and s.has_vip]
            others = (*vips, *([shim] if shim else []), *mesh_endpoints(m, network))
            attached = m.attached(network.name) + tuple((e, i) for e in others for i in e.interfaces if i.network == network.name)
            given, missed = family(network, version, attached, sticky)
            result |= given
            misses += missed
    if misses:
        raise ManifestError(sorted(misses, key=lambda p: (p.where.file, p.where.line, p.where.column)))
    return result


def allocate_family(network: Network, version: int, attached: Attached, sticky: Mapping[AllocKey, IPAddress]) -> Given:
    """The addresses of one family of one network, and the interfaces that found none: a function of
    its arguments alone (the network, its interfaces in order, the addresses the kernel holds)."""
    misses: list[Problem] = []
    given = _allocate_family(network, version, [Request(e, i) for e, i in attached], sticky, misses)
    return given, tuple(misses)


def _versions(network: Network) -> list[int]:
    return [v for v in (4, 6) if network.first_subnet(v) and (v == 4 or network.enable_ipv6)]


def _static(iface: Interface, version: int) -> IPAddress | None:
    return iface.ipv4_address if version == 4 else iface.ipv6_address


@dataclass
class _Family:
    """One family of one network while it is allocated: its pools, the addresses taken (as integers:
    an address's own hash is computed in Python, at every set operation), those given."""

    network: Network
    version: int
    pools: list[Subnet]
    taken: set[int]
    given: dict[AllocKey, IPAddress] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.spans = [(int(r.network_address), int(r.broadcast_address)) for r in map(allocation_range, self.pools)]

    def key(self, r: Request) -> AllocKey:
        return (r.endpoint.name, self.network.name, self.version)

    def give(self, r: Request, address: IPAddress) -> None:
        self.given[self.key(r)] = address
        self.taken.add(int(address))

    def free(self, address: IPAddress) -> bool:
        value = int(address)
        return value not in self.taken and any(low <= value <= high for low, high in self.spans)


def _allocate_family(network: Network, version: int, requests: list[Request], sticky: Mapping[AllocKey, IPAddress],
                     misses: list[Problem]) -> dict[AllocKey, IPAddress]:
    """Static addresses first, then the sticky ones still free, then the rest from each one's home slot."""
    pools = [s for s in network.subnets if s.version == version]
    family = _Family(network, version, pools, {int(a) for s in pools for a in reserved(s)})
    dynamic = []
    for r in requests:
        static = _static(r.iface, version)
        if static is None:
            dynamic.append(r)
        else:
            family.give(r, static)
    for r in sorted(dynamic, key=lambda r: r.endpoint.name):
        kept = sticky.get(family.key(r))
        if kept is not None and family.free(kept):
            family.give(r, kept)
    _allocate_dynamic(family, [r for r in dynamic if family.key(r) not in family.given], misses)
    return family.given


def _allocate_dynamic(family: _Family, requests: list[Request], misses: list[Problem]) -> None:
    """Each request the first free address from its home slot on, in the order of the home slots."""
    full = False
    for r in sorted(requests, key=lambda r: (_home(r, family.pools[0]), r.endpoint.name)):
        address = None if full else _first_free(r, family.pools, family.taken)
        if address is None:
            full = True  # every later request of this family misses too: no need to scan the pools again
            misses.append(_no_room(family.network, r, family.pools))
        else:
            family.give(r, address)


def reserved(s: Subnet) -> set[IPAddress]:
    """Never handed out: the addresses no host holds (see `unusable`), the gateway, every aux address."""
    out = {*unusable(s), *(a for _, a in s.aux_addresses)}
    if s.gateway is not None:
        out.add(s.gateway)
    return out


def unusable(s: Subnet) -> set[IPAddress]:
    """The network address (in IPv6 the subnet-router anycast address) and the IPv4 broadcast address,
    except in a point-to-point subnet, a /31 (RFC 3021) or a /127 (RFC 6164), where both addresses
    are hosts' (and in a single-address /32 or /128)."""
    net = s.subnet
    if net.prefixlen >= net.max_prefixlen - 1:
        return set()
    return {net.network_address, net.broadcast_address} if s.version == 4 else {net.network_address}


def allocation_range(s: Subnet) -> IPNetwork:
    return s.ip_range or s.subnet


def _home(r: Request, pool: Subnet) -> int:
    digest = hashlib.sha256(f"{r.iface.network}\0{r.endpoint.name}".encode()).digest()
    slots: int = allocation_range(pool).num_addresses
    return int.from_bytes(digest[:16], "big") % slots


def _first_free(r: Request, pools: list[Subnet], taken: set[int]) -> IPAddress | None:
    for pool in pools:
        span = allocation_range(pool)
        start = _home(r, pool)
        for offset in range(min(span.num_addresses, 1 << 20)):
            candidate = int(span.network_address) + (start + offset) % span.num_addresses
            if candidate not in taken:
                return ip_address(candidate)
    return None


def _no_room(network: Network, r: Request, pools: list[Subnet]) -> Problem:
    assert r.endpoint.source is not None
    where = ("spec", "interfaces", r.iface.index)
    message = f"network {network.name!r} has no free address left for this interface (pools {', '.join(str(allocation_range(p)) for p in pools)} are full)"
    return r.endpoint.source.problem(message, *where)
