"""Semantic checks of automatic subnets: the AddressPools manifest (one, its pools usable and apart),
which networks may pick theirs, and that nothing pins an address inside a subnet not yet known."""

from __future__ import annotations

from itertools import combinations

from reconciler.errors import Problem
from reconciler.input.spec import AddressPools, Manifests, Network
from reconciler.input.validate_common import problem

AUTO_DRIVERS = ("bridge", "overlay")
STATIC = "Docker's rule too: an address is pinned only in a declared subnet"


def pool_problems(m: Manifests) -> list[Problem]:
    problems = [_problem(a, f"only one AddressPools manifest is allowed (the first: {m.address_pools[0].name!r})", "metadata", "name")
                for a in m.address_pools[1:]]
    for declared in m.address_pools:
        problems += _pools_problems(declared)
    return problems + _auto_problems(m)


def _pools_problems(declared: AddressPools) -> list[Problem]:
    problems = []
    for index, pool in enumerate(declared.pools):
        if pool.size < pool.base.prefixlen:
            message = f"size {pool.size} is shorter than base {pool.base}'s prefix: a subnet cannot be larger than its pool"
            problems.append(_problem(declared, message, "spec", "pools", index, "size"))
        elif pool.size >= pool.base.max_prefixlen - 1:
            message = f"size {pool.size}: a bridge needs a gateway besides its endpoints' addresses (at most /{pool.base.max_prefixlen - 2})"
            problems.append(_problem(declared, message, "spec", "pools", index, "size"))
    for (i, a), (j, b) in combinations(enumerate(declared.pools), 2):
        if a.version == b.version and a.base.overlaps(b.base):
            problems.append(_problem(declared, f"base {b.base} overlaps pool {i} ({a.base})", "spec", "pools", j, "base"))
    return problems


def _problem(declared: AddressPools, message: str, *path: str | int) -> Problem:
    assert declared.source is not None
    return declared.source.problem(message, *path)


def _auto_problems(m: Manifests) -> list[Problem]:
    auto = {n.name: n for n in m.networks if n.auto_subnet}
    problems = [problem(n, f"subnet: auto picks bridge and overlay subnets only: a {n.driver} network shares its parent's LAN, "
                           "give that LAN's subnet", "spec", "ipam", "subnet")
                for n in auto.values() if n.driver not in AUTO_DRIVERS]
    for endpoint in m.endpoints:
        for iface in endpoint.interfaces:
            for field_name, address in (("ipv4Address", iface.ipv4_address), ("ipv6Address", iface.ipv6_address)):
                if address is not None and iface.network in auto:
                    message = f"{field_name} {address}: network {iface.network!r} picks its subnet automatically: declare its subnet to pin an address ({STATIC})"
                    problems.append(problem(endpoint, message, "spec", "interfaces", iface.index, field_name))
    for service in m.services:
        if service.vip is not None and service.network in auto:
            message = f"vip {service.vip}: network {service.network!r} picks its subnet automatically: declare its subnet to pin a VIP"
            problems.append(problem(service, message, "spec", "vip"))
    return problems


def is_auto(network: Network | None) -> bool:
    return network is not None and network.auto_subnet
