"""Links: bridges, veth pairs, VLAN, dummy, macvlan, ipvlan and VXLAN links."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from reconciler.model.base import HostLinkObject, KernelObject, Key, link_key


@dataclass(frozen=True)
class Bridge(HostLinkObject):
    """A Linux bridge in the host namespace."""

    name: str
    mtu: int | None = None
    up: bool = True
    ipv6: bool | None = None
    mac: str | None = None
    owner: str = ""
    localnet: bool | None = None  # route_localnet: DNAT of 127.0.0.1 to its endpoints (published ports)
    kind: ClassVar[str] = "bridge"
    rank: ClassVar[int] = 2


@dataclass(frozen=True)
class Veth(HostLinkObject):
    """A veth pair: `name` in the host namespace (a bridge port), `peer` inside `ns`."""

    name: str
    ns: str
    peer: str
    mac: str | None = None
    mtu: int | None = None
    host_mac: str | None = None
    master: str | None = None
    isolated: bool = False
    up: bool = True
    ipv6: bool | None = None
    owner: str = ""
    hairpin: bool | None = None  # the port sends frames back where they came from (own published port)
    kind: ClassVar[str] = "veth"
    rank: ClassVar[int] = 3
    immutable: ClassVar[tuple[str, ...]] = ("ns", "peer")

    @property
    def provides(self) -> tuple[Key, ...]:
        return (self.key, link_key(self.ns, self.peer))

    @property
    def parents(self) -> tuple[Key, ...]:
        return (("netns", self.ns),)

    @property
    def requires(self) -> tuple[Key, ...]:
        return (link_key(None, self.master),) if self.master else ()

    @property
    def netns(self) -> str | None:
        return self.ns

    @property
    def title(self) -> str:
        return f"{self.name} <-> {self.ns}/{self.peer}"


@dataclass(frozen=True)
class Vlan(HostLinkObject):
    """An 802.1q sub-interface (`eth0.60`) made as a macvlan/ipvlan parent. Several networks may share
    it: `owner` lists them all, and it goes when the last one does."""

    name: str
    parent: str
    vlan_id: int
    up: bool = True
    owner: str = ""
    kind: ClassVar[str] = "vlan"
    rank: ClassVar[int] = 2
    immutable: ClassVar[tuple[str, ...]] = ("parent", "vlan_id")

    @property
    def parents(self) -> tuple[Key, ...]:
        return (link_key(None, self.parent),)

    @property
    def title(self) -> str:
        return f"{self.name} (id {self.vlan_id} on {self.parent})"


@dataclass(frozen=True)
class Dummy(HostLinkObject):
    """A dummy link: the parent of a macvlan/ipvlan network declared without one (internal)."""

    name: str
    up: bool = True
    owner: str = ""
    kind: ClassVar[str] = "dummy"
    rank: ClassVar[int] = 2


@dataclass(frozen=True)
class LowerLink(KernelObject):
    """A macvlan or ipvlan interface on a host `parent`: inside an endpoint's `ns`, or on the host
    itself (ns None: the hostAccess shim). The kernel deletes it with its parent."""

    ns: str | None
    name: str
    parent: str
    mode: str
    mtu: int | None = None
    ipv6: bool | None = None
    up: bool = True
    owner: str = ""
    rank: ClassVar[int] = 3
    immutable: ClassVar[tuple[str, ...]] = ("parent", "mode")

    @property
    def key(self) -> Key:
        return link_key(self.ns, self.name)

    @property
    def parents(self) -> tuple[Key, ...]:
        return ((("netns", self.ns),) if self.ns else ()) + (link_key(None, self.parent),)

    @property
    def netns(self) -> str | None:
        return self.ns

    @property
    def title(self) -> str:
        where = f"{self.ns}/" if self.ns else ""
        return f"{where}{self.name} (on {self.parent}, {self.mode})"


@dataclass(frozen=True)
class Macvlan(LowerLink):
    """Its own MAC (None: the kernel's), on the parent's wire; `mode` is bridge, private, vepa or passthru."""

    mac: str | None = None
    kind: ClassVar[str] = "macvlan"


@dataclass(frozen=True)
class Ipvlan(LowerLink):
    """Shares the parent's MAC; `flag` is bridge, private or vepa."""

    flag: str = "bridge"
    kind: ClassVar[str] = "ipvlan"
    immutable: ClassVar[tuple[str, ...]] = ("parent", "mode", "flag")


@dataclass(frozen=True)
class Vxlan(HostLinkObject):
    """An overlay network's VXLAN link on this host: no learning (the manifests say where every MAC
    lives), ARP answered locally from static neighbour entries (proxy), a port of the overlay bridge.
    `learning` is the bridge's on that port: off, so frames arriving through the tunnel never tell
    the bridge where a MAC lives (a stale location, a forged one); BridgeFdb entries do instead."""

    name: str
    vni: int
    port: int
    local: str | None = None
    dev: str | None = None
    master: str | None = None
    mtu: int | None = None
    up: bool = True
    owner: str = ""
    ipv6: bool | None = None  # on for IPv6 overlays: their neighbour entries need it
    learning: bool | None = False
    kind: ClassVar[str] = "vxlan"
    rank: ClassVar[int] = 3
    immutable: ClassVar[tuple[str, ...]] = ("vni", "port", "local", "dev")

    @property
    def requires(self) -> tuple[Key, ...]:
        return (link_key(None, self.master),) if self.master else ()

    @property
    def title(self) -> str:
        return f"{self.name} (vni {self.vni}, local {self.local})"
