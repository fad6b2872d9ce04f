"""What observe makes of the host's links, kept by the watch's kernel cache between two observes and
made again only for the links that changed: see HostMade."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass

from reconciler.kernel.observe_objects import (
    LOWER_KINDS,
    Link,
    Namespace,
    Objects,
    collect_addresses,
    collect_routes,
    collect_vxlan_entries,
    host_link,
    link_object,
)
from reconciler.kernel.rtnl import RouteMsg
from reconciler.model import KernelObject, Key, link_key
from reconciler.planning.plan import HostLink


@dataclass(frozen=True)
class _Made:
    """What was made of one host link: its object's key (or its key among the links not ours), the
    name of its HostLink, and the indexes of the links it names (master, peer, lower)."""

    key: Key | None
    foreign: Key | None
    name: str
    refs: tuple[int, ...]


class HostMade:
    """The host's objects as observe_objects.host_objects makes them, kept by link. `made(host, routes,
    changed)` makes again what was made of the links of the indexes `changed` (read again since the last
    call, or gone: the cache says which; None: all of them), of the links that name one of those (as
    master, peer or lower: the names are in their objects), of every bridge (its route_localnet sysctl is
    read every time), and of the links whose addresses differ. Addresses, routes and VXLAN entries are
    made every time (the host has few)."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.by_index: dict[int, _Made] = {}
        self.objects: Objects = {}
        self.foreign: set[Key] = set()
        self.links: dict[str, HostLink] = {}
        self.named_by: defaultdict[int, set[int]] = defaultdict(set)
        self.bridges: set[int] = set()
        self.vxlans: set[int] = set()
        self.held: dict[int, tuple[str, ...]] = {}

    def made(self, host: Namespace, routes: list[RouteMsg],
             changed: Collection[int] | None) -> tuple[Objects, set[Key], dict[str, HostLink]]:
        addresses: Objects = {}
        held = {index: tuple(found) for index, found in collect_addresses(host, addresses).items()}
        if changed is None:
            self._reset()
            again = set(host.links)
        else:
            again = {*changed, *self.bridges, *(i for c in changed for i in self.named_by.get(c, ()))}
            again.update(i for i in held.keys() | self.held.keys() if held.get(i) != self.held.get(i))
        self.held = held
        for index in again:  # all dropped first: a link may take the name of one gone
            self._drop(index)
        for index in again:
            link = host.links.get(index)
            if link is not None:
                self._make(host, index)
        objects = {**self.objects, **addresses}
        collect_routes(host, objects, routes)
        collect_vxlan_entries(host, objects, self.vxlans)
        return objects, set(self.foreign), dict(self.links)

    def _drop(self, index: int) -> None:
        made = self.by_index.pop(index, None)
        if made is None:
            return
        if made.key is not None:
            self.objects.pop(made.key, None)
        if made.foreign is not None:
            self.foreign.discard(made.foreign)
        self.links.pop(made.name, None)
        for ref in made.refs:
            self.named_by[ref].discard(index)
        self.bridges.discard(index)
        self.vxlans.discard(index)

    def _make(self, host: Namespace, index: int) -> None:
        link = host.links[index]
        found = link_object(host, link)
        key = found.key if isinstance(found, KernelObject) else None
        foreign = link_key(None, link.name) if found is True else None
        if isinstance(found, KernelObject):
            self.objects[found.key] = found
        if foreign is not None:
            self.foreign.add(foreign)
        self.links[link.name] = host_link(host, link, self.held.get(index, ()))
        refs = tuple(r for r in _named(link) if r)
        for ref in refs:
            self.named_by[ref].add(index)
        if link.kind == "bridge":
            self.bridges.add(index)
        if link.kind == "vxlan":
            self.vxlans.add(index)
        self.by_index[index] = _Made(key, foreign, link.name, refs)


def _named(link: Link) -> tuple[int, ...]:
    """The host links whose names link_object and host_link put in what they make of `link` (a veth's
    peer is in another namespace: its index names no host link)."""
    if link.kind == "vxlan":
        return link.master, link.lower
    if link.kind == "vlan" or link.kind in LOWER_KINDS:
        return link.master, link.peer_index
    return (link.master,)
