"""Address allocation: deterministic from the manifests, stable for endpoints that already have one.

Each dynamic interface hashes (network, endpoint) to a home slot of the pool's range and takes the
first free address from there. An address the kernel already carries for that interface is kept
while it stays valid ("sticky"), so adding or removing an endpoint never moves another one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from ipaddress import IPv4Address, IPv6Address

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
    its arguments alone (the network, its interfaces in order, the addresses the kernel holds), every
    address allocated afresh (Allocations: the same, in proportion to what differs from the last)."""
    return _fresh(network, version, attached, sticky)[0]


@dataclass(frozen=True)
class _Last:
    """A family's last allocation and what it was made of: its network and interfaces, the addresses
    given (`dynamic`: those without a static address), every address taken (reserved, static, given)."""

    network: Network
    attached: Attached
    given: dict[AllocKey, IPAddress]
    misses: tuple[Problem, ...]
    dynamic: dict[AllocKey, IPAddress]
    taken: set[int]  # never changed once kept: another allocation takes a set of its own


Made = tuple[Given, _Last | None]  # an allocation, and what to remember of it


class Allocations:
    """allocate_family, in proportion to what differs from each family's last allocation (the watch
    plans the same families again and again, one endpoint more at a time).

    Of the same network (the very object: the watch's ManifestCache keeps an unchanged document's; a
    plan of another load shares nothing with the watch's), with the same interfaces or one run of them
    inserted, none missed last, and every address the kernel holds in it the one given last: the
    interfaces given the address they hold keep it, as afresh (none collides with another, or with a
    static or reserved address: the last allocation gave them all); the others (those inserted, and
    those whose address the kernel does not hold) are allocated around them, as afresh. Nothing
    allocated again, or each the same address: the very same allocation (the planners downstream reuse
    by identity of a family's dict). Otherwise (an interface removed or changed, an address moved or
    dropped in the kernel, a subnet changed...) the family is allocated afresh."""

    LIMIT = 256  # families remembered: more are forgotten at once (each is its network's last allocation alone)

    def __init__(self) -> None:
        self._last: dict[tuple[str, int], _Last] = {}

    def __call__(self, network: Network, version: int, attached: Attached, sticky: Mapping[AllocKey, IPAddress]) -> Given:
        last = self._last.get((network.name, version))
        found = _again(last, network, version, attached, sticky) if last is not None else None
        given, made = found or _fresh(network, version, attached, sticky)
        if made is not None and made is not last:
            if len(self._last) >= self.LIMIT:
                self._last.clear()
            self._last[(network.name, version)] = made
        return given


def _fresh(network: Network, version: int, attached: Attached, sticky: Mapping[AllocKey, IPAddress]) -> Made:
    """The family allocated afresh, and what to remember of it (nothing when two of its interfaces
    share a key: an endpoint twice on the network, where an address found may be left unused)."""
    misses: list[Problem] = []
    family = _allocate_family(network, version, [Request(e, i) for e, i in attached], sticky, misses)
    given = (family.given, tuple(misses))
    if len(family.given) + len(misses) != len(attached):
        return given, None
    return given, _Last(network, attached, family.given, given[1], family.dynamic, family.taken)


def _again(last: _Last, network: Network, version: int, attached: Attached, held: Mapping[AllocKey, IPAddress]) -> Made | None:
    """The last allocation, the interfaces inserted since and those whose address the kernel does not
    hold allocated again; None when that is not what allocating afresh would give (see Allocations)."""
    if last.network is not network or last.misses:
        return None
    new = () if last.attached == attached else _inserted(last.attached, attached)
    if new is None or not held.items() <= last.given.items():
        return None
    unheld = set() if last.dynamic.keys() <= held.keys() else last.dynamic.keys() - held.keys()
    if not new and not unheld:
        return (last.given, last.misses), last
    return _around(last, version, attached, new, unheld)


def _around(last: _Last, version: int, attached: Attached, new: Attached, unheld: set[AllocKey]) -> Made | None:
    """The interfaces inserted, and those of `unheld`, allocated around the addresses held, as afresh."""
    family = _start(last.network, version)
    family.taken = last.taken - {int(last.given[k]) for k in unheld}
    requests = [Request(e, i) for e, i in new]
    for r in requests:
        static = _static(r.iface, version)
        if static is not None and int(static) in family.taken:
            return None  # on an address another interface holds (which would move), or reserved: afresh
        if static is not None:
            family.give(r, address_of(int(static), version), dynamic=False)
    again = _requests_of(attached, {k[0] for k in unheld}, version) if unheld else []
    misses: list[Problem] = []
    _allocate_dynamic(family, [r for r in requests if _static(r.iface, version) is None] + again, misses)
    if len(again) != len(unheld) or (misses and again):
        return None  # an interface given an address last finds none now: afresh, without it
    if not new and [family.given[k] for k in unheld] == [last.given[k] for k in unheld]:  # by identity first
        return (last.given, last.misses), last
    given = last.given | family.given
    if len(given) + len(misses) != len(attached):
        return None  # a key twice (an endpoint twice on the network): afresh
    made = _Last(last.network, attached, given, tuple(misses), last.dynamic | family.dynamic, family.taken)
    return (given, made.misses), made


def _requests_of(attached: Attached, names: set[str], version: int) -> list[Request]:
    """The requests of the endpoints named, without a static address."""
    return [Request(e, i) for e, i in attached if e.name in names and _static(i, version) is None]


def _inserted(before: Attached, after: Attached) -> Attached | None:
    """The interfaces `after` adds to `before`, when it is `before` with one run of them inserted."""
    extra = len(after) - len(before)
    if extra <= 0:
        return None
    if after[:len(before)] == before:
        return after[len(before):]
    at = next(i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a is not b and a != b)
    return after[at:at + extra] if after[at + extra:] == before[at:] else None



def _versions(network: Network) -> list[int]:
    return [v for v in (4, 6) if network.first_subnet(v) and (v == 4 or network.enable_ipv6)]


def _static(iface: Interface, version: int) -> IPAddress | None:
    return iface.ipv4_address if version == 4 else iface.ipv6_address


@dataclass
class _Family:
    """One family of one network while it is allocated: its pools, the addresses taken (as integers:
    an address's own hash is computed in Python, at every set operation), those given (`dynamic`: those
    of interfaces without a static address)."""

    network: Network
    version: int
    pools: list[Subnet]
    taken: set[int]
    given: dict[AllocKey, IPAddress] = field(default_factory=dict)
    dynamic: dict[AllocKey, IPAddress] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.spans = [(int(r.network_address), int(r.broadcast_address)) for r in map(allocation_range, self.pools)]

    def key(self, r: Request) -> AllocKey:
        return (r.endpoint.name, self.network.name, self.version)

    def give(self, r: Request, address: IPAddress, dynamic: bool = True) -> None:
        key = self.key(r)
        self.given[key] = address
        if dynamic:
            self.dynamic[key] = address
        self.taken.add(int(address))

    def free(self, address: IPAddress) -> bool:
        value = int(address)
        return value not in self.taken and any(low <= value <= high for low, high in self.spans)


def _start(network: Network, version: int) -> _Family:
    pools = [s for s in network.subnets if s.version == version]
    return _Family(network, version, pools, {int(a) for s in pools for a in reserved(s)})


def _allocate_family(network: Network, version: int, requests: list[Request], sticky: Mapping[AllocKey, IPAddress],
                     misses: list[Problem]) -> _Family:
    """Static addresses first, then the sticky ones still free, then the rest from each one's home slot."""
    family = _start(network, version)
    dynamic = []
    for r in requests:
        static = _static(r.iface, version)
        if static is None:
            dynamic.append(r)
        else:
            family.give(r, address_of(int(static), version), dynamic=False)
    for r in sorted(dynamic, key=lambda r: r.endpoint.name):
        kept = sticky.get(family.key(r))
        if kept is not None and family.free(kept):
            family.give(r, kept)
    _allocate_dynamic(family, [r for r in dynamic if family.key(r) not in family.given], misses)
    return family


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
                return address_of(candidate, pool.version)
    return None


def _no_room(network: Network, r: Request, pools: list[Subnet]) -> Problem:
    assert r.endpoint.source is not None
    where = ("spec", "interfaces", r.iface.index)
    message = f"network {network.name!r} has no free address left for this interface (pools {', '.join(str(allocation_range(p)) for p in pools)} are full)"
    return r.endpoint.source.problem(message, *where)


@lru_cache(maxsize=1 << 16)
def address_of(value: int, version: int) -> IPAddress:
    """The address of an integer, one object per address while cached: what allocation gives, and what
    the kernel is found holding (sticky), compare by identity, not by a comparison written in Python."""
    return IPv4Address(value) if version == 4 else IPv6Address(value)
