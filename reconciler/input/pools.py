"""Automatic subnets: a network without `ipam` (or with `ipam: {subnet: auto}`) gets one per family
from the address pools, deterministic and stable.

The pools (AddressPools, else Docker's defaults) are cut into slots of their `size`. A digest of the
network's name picks the first slot to try; the next ones follow, wrapping around. A slot is skipped
when it overlaps what is taken: another network's subnet (declared or picked), a Host's underlay
address, and on this host its addresses, routes in any table but default ones, and name servers
(`HostView`). Overlay networks pick first, from the manifests alone, so that every host picks the
same. A network keeps the subnet the kernel holds for it while that is still a slot of the pools and
clear of the other networks, so adding a network never moves another. IPv6 without an IPv6 pool:
a ULA /64 derived from the name (fd00::/8 in /64s, the same walk: a collision takes the next one).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from ipaddress import ip_network

from reconciler.errors import Location, ManifestError, Problem
from reconciler.input.spec import IPNetwork, Manifests, Network, Pool, Subnet

DEFAULT_POOLS = (*(Pool(ip_network(f"172.{n}.0.0/16"), 16) for n in range(17, 32)), Pool(ip_network("192.168.0.0/16"), 20))
ULA_POOL = Pool(ip_network("fd00::/8"), 64)
MAX_TRIES = 1 << 16  # slots tried before a pool is called exhausted (a /48 in /64s has 65536)
SHOWN = 8  # slots named in an explanation or an exhaustion error


@dataclass(frozen=True)
class Taken:
    """Something a candidate subnet must not overlap, as the explanation names it."""

    network: IPNetwork
    what: str  # "route 172.17.0.0/16 dev wg0 table 51820", "network db", ...


@dataclass(frozen=True)
class HostView:
    """What this host holds: its own networks (addresses, routes, name servers) and, by network name,
    the subnets the kernel already gives our networks."""

    taken: tuple[Taken, ...] = ()
    held: Mapping[str, tuple[IPNetwork, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Choice:
    """One automatic subnet and why: kept from the kernel, or the slots skipped before it."""

    network: str
    subnet: IPNetwork
    kept: bool = False
    skipped: tuple[tuple[IPNetwork, str], ...] = ()

    def __str__(self) -> str:
        if self.kept:
            why = " (kept: the kernel holds it)"
        elif self.skipped:
            why = f" (skipped {_runs(self.skipped)})"
        else:
            why = ""
        return f"network {self.network}: subnet auto -> {self.subnet}{why}"


def assign(m: Manifests, host: HostView | None = None) -> tuple[Manifests, tuple[Choice, ...]]:
    """The manifests with every automatic subnet picked, and the choices made; ManifestError naming the
    pools and what took them when a network finds no free slot. Without `host`: from the manifests alone."""
    host = host or HostView()
    auto = [n for n in m.networks if n.auto_subnet and not n.subnets]
    if not auto:
        return m, ()
    taken = _declared(m)
    overlays = sorted((n for n in auto if n.overlay is not None), key=lambda n: n.name)
    others = sorted((n for n in auto if n.overlay is None), key=lambda n: n.name)
    picked: dict[str, list[Choice]] = {}
    misses: list[Problem] = []
    for network in overlays:
        picked[network.name] = _pick(m, network, taken, {}, misses)
    for network, kept in _kept(m, others, taken, host.held):
        picked[network.name] = kept
    taken += host.taken
    for network in others:
        picked[network.name] = _pick(m, network, taken, {c.subnet.version: c for c in picked[network.name]}, misses)
    if misses:
        raise ManifestError(misses)
    networks = tuple(_with_subnets(n, picked[n.name]) if n.name in picked else n for n in m.networks)
    return replace(m, networks=networks), tuple(c for n in (*overlays, *others) for c in picked[n.name])


def pools_for(m: Manifests, version: int) -> tuple[Pool, ...]:
    """The declared pools of that family; without AddressPools, Docker's (IPv4) or the ULA one (IPv6)."""
    declared = tuple(p for a in m.address_pools for p in a.pools if p.version == version)
    if declared or version == 4 and m.address_pools:
        return declared
    return DEFAULT_POOLS if version == 4 else (ULA_POOL,)


def _declared(m: Manifests) -> list[Taken]:
    """What the manifests hold on every host: the declared subnets, the Hosts' underlay addresses."""
    out = [Taken(s.subnet, f"network {n.name}") for n in m.networks for s in n.subnets]
    return out + [Taken(ip_network(h.address), f"underlay address of Host {h.name}") for h in m.hosts]


def _versions(network: Network) -> list[int]:
    return [v for v, on in ((4, network.enable_ipv4), (6, network.enable_ipv6)) if on]


def _kept(m: Manifests, networks: list[Network], taken: list[Taken],
          held: Mapping[str, tuple[IPNetwork, ...]]) -> Iterator[tuple[Network, list[Choice]]]:
    """The subnets the kernel holds that are still slots of the pools and clear of the other networks'."""
    for network in networks:
        kept = []
        for version in _versions(network):
            slot = next((s for s in held.get(network.name, ()) if _is_slot(s, pools_for(m, version))), None)
            if slot is not None and _blocker(slot, taken) is None:
                kept.append(Choice(network.name, slot, kept=True))
                taken.append(Taken(slot, f"network {network.name}"))
        yield network, kept


def _is_slot(subnet: IPNetwork, pools: tuple[Pool, ...]) -> bool:
    return any(subnet.version == p.version and subnet.prefixlen == p.size
               and subnet.subnet_of(p.base) for p in pools)  # type: ignore[arg-type]  # same version


def _pick(m: Manifests, network: Network, taken: list[Taken], done: dict[int, Choice],
          misses: list[Problem]) -> list[Choice]:
    """A choice per family of the network (those in `done` kept), each then taken."""
    out = []
    for version in _versions(network):
        choice = done.get(version) or _first_free(network, pools_for(m, version), taken, misses)
        if choice is not None:
            out.append(choice)
            taken.append(Taken(choice.subnet, f"network {network.name}"))
    return out


def _first_free(network: Network, pools: tuple[Pool, ...], taken: list[Taken], misses: list[Problem]) -> Choice | None:
    skipped: list[tuple[IPNetwork, str]] = []
    for slot in _slots(network.name, pools):
        blocker = _blocker(slot, taken)
        if blocker is None:
            return Choice(network.name, slot, skipped=tuple(skipped))
        skipped.append((slot, blocker))
    misses.append(_exhausted(network, pools, skipped))
    return None


def _blocker(slot: IPNetwork, taken: list[Taken]) -> str | None:
    return next((t.what for t in taken if t.network.version == slot.version and t.network.overlaps(slot)), None)


def _slots(name: str, pools: tuple[Pool, ...]) -> Iterator[IPNetwork]:
    """The pools' slots from the one the name's digest picks, wrapping around (at most MAX_TRIES)."""
    counts = [1 << (p.size - p.base.prefixlen) if p.size >= p.base.prefixlen else 0 for p in pools]
    total = sum(counts)
    if not total:
        return
    home = int.from_bytes(hashlib.sha256(name.encode()).digest()[:16], "big") % total
    for offset in range(min(total, MAX_TRIES)):
        yield _slot(pools, counts, (home + offset) % total)


def _slot(pools: tuple[Pool, ...], counts: list[int], index: int) -> IPNetwork:
    for pool, count in zip(pools, counts):
        if index < count:
            width = pool.base.max_prefixlen - pool.size
            return ip_network((int(pool.base.network_address) + (index << width), pool.size))
        index -= count
    raise AssertionError("slot index beyond the pools")


def _with_subnets(network: Network, choices: list[Choice]) -> Network:
    """The network with a subnet per choice, its gateway the first host address (as a declared one's)."""
    subnets = tuple(Subnet(c.subnet, c.subnet.network_address + 1) for c in choices)
    return replace(network, subnets=subnets)


def _exhausted(network: Network, pools: tuple[Pool, ...], skipped: list[tuple[IPNetwork, str]]) -> Problem:
    family = "IPv4" if not pools or pools[0].version == 4 else "IPv6"
    where = _described(pools)
    message = f"network {network.name!r} finds no free {family} subnet in the address pools ({where})"
    message += f"; taken: {_runs(sorted(skipped, key=lambda t: int(t[0].network_address)))}" if skipped else ""
    path = ("spec", "ipam", "subnet")  # the deepest written node along it: `ipam` or `spec` when left out
    return network.source.problem(message, *path) if network.source else Problem(Location("?"), f"Network/{network.name}", message)


def _described(pools: tuple[Pool, ...]) -> str:
    if pools == DEFAULT_POOLS:
        return "the default pools: 172.17.0.0/16 … 172.31.0.0/16, 192.168.0.0/16 in /20s"
    if pools == (ULA_POOL,):
        return f"{ULA_POOL}, no IPv6 pool being declared"
    return ", ".join(map(str, pools)) if pools else "none declared in AddressPools"


def _runs(skipped: tuple[tuple[IPNetwork, str], ...] | list[tuple[IPNetwork, str]]) -> str:
    """Slots and what took them, a run of consecutive slots taken by the same thing as one entry."""
    runs: list[tuple[IPNetwork, IPNetwork, int, str]] = []
    for slot, what in skipped:
        if runs and runs[-1][3] == what:
            runs[-1] = (runs[-1][0], slot, runs[-1][2] + 1, what)
        else:
            runs.append((slot, slot, 1, what))
    shown = [f"{a}: {what}" if n == 1 else f"{a} … {b} ({n}): {what}" for a, b, n, what in runs[:SHOWN]]
    more = [f"{len(runs) - SHOWN} more"] if len(runs) > SHOWN else []
    return "; ".join(shown + more)
