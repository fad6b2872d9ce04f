"""What the semantic checks of manifests share: a problem at an object's field, where a field was
written, duplicates among objects, and which reserved address an address is."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from ipaddress import IPv4Address, IPv6Address
from typing import TypeVar

from reconciler.errors import Location, Problem
from reconciler.input.ipam import unusable
from reconciler.input.spec import Endpoint, Host, Network, Service, Subnet

Path = tuple[str | int, ...]
IPAddress = IPv4Address | IPv6Address
Named = TypeVar("Named", Network, Endpoint, Host, Service)


def problem(obj: Network | Endpoint | Host | Service, message: str, *path: str | int) -> Problem:
    assert obj.source is not None
    return obj.source.problem(message, *path)


def where(obj: Network | Endpoint | Host | Service, *path: str | int) -> Location:
    assert obj.source is not None
    return obj.source.where(*path)


def duplicates(objs: Iterable[Named], key: Callable[[Named], str], *path: str, what: str) -> list[Problem]:
    seen: dict[str, Named] = {}
    problems = []
    for obj in objs:
        value = key(obj)
        if value in seen:
            first = where(seen[value], *path)
            problems.append(problem(obj, f"duplicate {what} {value!r} (first declared at {first})", *path))
        else:
            seen[value] = obj
    return problems


def reserved_by(address: IPAddress, pools: list[Subnet]) -> str | None:
    for s in pools:
        if address == s.gateway:
            return "the gateway"
        if address in unusable(s):
            return "the network or broadcast address"
        for name, aux in s.aux_addresses:
            if address == aux:
                return f"auxAddresses.{name}"
    return None
