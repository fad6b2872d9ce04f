"""What lives on a link: addresses, routes, and a VXLAN link's forwarding and neighbour entries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from reconciler.model.base import KernelObject, Key, link_key


@dataclass(frozen=True)
class Fdb(KernelObject):
    """A static forwarding entry of a VXLAN link: frames for `mac` go to the VTEP `dst` (the all-zero
    MAC: broadcast and unknown frames, one entry per remote host)."""

    ifname: str
    mac: str
    dst: str
    owner: str = field(default="", compare=False)
    kind: ClassVar[str] = "fdb"
    rank: ClassVar[int] = 6

    @property
    def key(self) -> Key:
        return ("fdb", self.ifname, self.mac, self.dst)

    @property
    def parents(self) -> tuple[Key, ...]:
        return (link_key(None, self.ifname),)

    @property
    def title(self) -> str:
        return f"{self.mac} -> {self.dst} on {self.ifname}"


@dataclass(frozen=True)
class BridgeFdb(KernelObject):
    """A static entry of an overlay bridge: frames for a remote endpoint's `mac` leave by the VXLAN
    port `ifname` (the bridge learns nothing there). One the manifests no longer place remotely goes,
    so the bridge never holds a stale location for it (an endpoint moved onto this host is found
    by flooding until it speaks)."""

    ifname: str
    mac: str
    owner: str = field(default="", compare=False)
    kind: ClassVar[str] = "bridge-fdb"
    rank: ClassVar[int] = 6

    @property
    def key(self) -> Key:
        return ("bridge-fdb", self.ifname, self.mac)

    @property
    def parents(self) -> tuple[Key, ...]:
        return (link_key(None, self.ifname),)

    @property
    def title(self) -> str:
        return f"{self.mac} -> {self.ifname}"


@dataclass(frozen=True)
class Neigh(KernelObject):
    """A permanent neighbour (ARP/NDP) entry on a VXLAN link: a remote endpoint's address and MAC."""

    ifname: str
    address: str
    mac: str
    owner: str = field(default="", compare=False)
    kind: ClassVar[str] = "neigh"
    rank: ClassVar[int] = 6

    @property
    def key(self) -> Key:
        return ("neigh", self.ifname, self.address)

    @property
    def parents(self) -> tuple[Key, ...]:
        return (link_key(None, self.ifname),)

    @property
    def title(self) -> str:
        return f"{self.address} lladdr {self.mac} on {self.ifname}"


@dataclass(frozen=True)
class Address(KernelObject):
    """An IP address (CIDR) on a link."""

    ns: str | None
    ifname: str
    address: str
    owner: str = field(default="", compare=False)
    kind: ClassVar[str] = "address"
    rank: ClassVar[int] = 4

    @property
    def key(self) -> Key:
        return ("address", self.ns, self.ifname, self.address)

    @property
    def parents(self) -> tuple[Key, ...]:
        return (link_key(self.ns, self.ifname),)

    @property
    def netns(self) -> str | None:
        return self.ns

    @property
    def title(self) -> str:
        return f"{self.address} on {self.ns + '/' if self.ns else ''}{self.ifname}"


@dataclass(frozen=True)
class Route(KernelObject):
    """A route in the main table, marked with our protocol number."""

    ns: str | None
    dst: str
    gateway: str | None
    ifname: str
    owner: str = field(default="", compare=False)
    kind: ClassVar[str] = "route"
    rank: ClassVar[int] = 5

    @property
    def key(self) -> Key:
        return ("route", self.ns, self.dst)

    @property
    def parents(self) -> tuple[Key, ...]:
        return (link_key(self.ns, self.ifname),)

    @property
    def netns(self) -> str | None:
        return self.ns

    @property
    def title(self) -> str:
        via = f" via {self.gateway}" if self.gateway else ""
        return f"{self.dst}{via} dev {self.ifname}{' in ' + self.ns if self.ns else ''}"
