"""Where the watch's kernel cache reads a namespace from (the kernel; a test gives a scripted one),
what it keeps of one as read, and the stand-in for our client that answers from it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Protocol

from reconciler.kernel import netns
from reconciler.kernel.inotify import MountTable
from reconciler.kernel.listing import Listing, TableChanges
from reconciler.kernel.observe_objects import Link
from reconciler.kernel.rtnl import (
    AF_BRIDGE,
    IFF_UP,
    IFINFOMSG,
    IFLA_BRPORT_ISOLATED,
    IFLA_BRPORT_LEARNING,
    IFLA_BRPORT_MODE,
    IFLA_PROTINFO,
    AddrMsg,
    LinkMsg,
    NeighMsg,
    RouteMsg,
    attrs,
    parse_link,
)
from reconciler.kernel.rtnl_client import RtnlClient


class Client(Protocol):
    """What the cache asks of a namespace: our rtnetlink client, opened in it."""

    def links(self) -> list[LinkMsg]: ...
    def get_link(self, index: int) -> LinkMsg: ...
    def addresses(self) -> list[AddrMsg]: ...
    def routes(self, table: int = 0, protocol: int = 0) -> list[RouteMsg]: ...
    def neighbours(self, family: int) -> list[NeighMsg]: ...
    def close(self) -> None: ...


class KernelSource:
    """Where the cache reads from: the kernel (a test gives a scripted one)."""

    def __init__(self, mounts: MountTable | None = None) -> None:
        self.listing = Listing(TableChanges(mounts) if mounts is not None else None)

    def client(self, name: str | None) -> Client:
        """A client in namespace `name` (None: this one); NamespaceGoneError, OSError when it is gone."""
        with netns.entered(name):
            return RtnlClient()

    def nsid(self, name: str) -> int:
        """The id the host gives namespace `name` (-1: none yet)."""
        fd = netns.open_fd(name)
        try:
            client = RtnlClient()
            try:
                return client.nsid(fd)
            finally:
                client.close()
        except OSError:
            return -1
        finally:
            os.close(fd)

    def inodes(self) -> dict[str, int]:
        """Named namespaces (mount points under the netns folder), with their inodes."""
        return self.listing.inodes()

    def forget(self) -> None:
        self.listing.listed = None

    def inode(self, name: str) -> int:
        return os.stat(netns.path(name)).st_ino


@dataclass
class Space:
    """One namespace as last read: its identity (nsfs inode, and its nsid here: -1 when it has none, so
    no event can tell of it) and its dumps."""

    inode: int
    nsid: int
    links: dict[int, Link]
    addresses: list[AddrMsg] = field(default_factory=list)
    routes: list[RouteMsg] = field(default_factory=list)


class CachedDumps:
    """The Dumps (observe_objects.py) of a namespace the watch's cache holds: answers from what was read;
    neighbours are read live (only VXLAN networks need them, and no event we listen to tells of them)."""

    def __init__(self, name: str | None, space: Space, source: KernelSource) -> None:
        self.name, self.space, self.source = name, space, source

    def addresses(self) -> list[AddrMsg]:
        return self.space.addresses

    def routes(self, table: int = 0, protocol: int = 0) -> list[RouteMsg]:
        return self.space.routes  # dumped with observe's filter (_routes)

    def neighbours(self, family: int) -> list[NeighMsg]:
        client = self.source.client(self.name)
        try:
            return client.neighbours(family)
        finally:
            client.close()

    def close(self) -> None:
        pass


PORT_FLAGS = ((IFLA_BRPORT_MODE, "hairpin"), (IFLA_BRPORT_LEARNING, "learning"), (IFLA_BRPORT_ISOLATED, "isolated"))


def nothing_new(body: memoryview, link: Link) -> bool:
    """Whether news of a host link is bridge port news (AF_BRIDGE) telling what the link as kept shows
    already: its name, MTU, master, whether it is up, and each port flag we manage that it tells. A
    bridge tells each port's state so, all of its ports' as ports come and go: not reading them again
    spares a read per port (at 1000 endpoints, 50 to 260 of them in one reconcile)."""
    msg = parse_link(body)
    if msg.family != AF_BRIDGE or (msg.name, msg.mtu, msg.master, bool(msg.flags & IFF_UP)) != (
            link.name, link.mtu, link.master, link.up):
        return False
    port = attrs(attrs(body, IFINFOMSG.size).get(IFLA_PROTINFO, b""))
    return all((bytes(port[kind])[:1] == b"\1") == getattr(link, field) for kind, field in PORT_FLAGS if kind in port)
