"""Kernel objects: the same frozen types describe desired and observed state, so a diff is a comparison.

A field whose desired value is None means "not managed". `key` identifies an object; fields listed in
`immutable` cannot change in place (the object is replaced); `parents` are the keys it lives on.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from functools import cache
from typing import Any, ClassVar, Iterable

OWNER_GROUP = 0x4E52  # IFLA_GROUP on every link we create: set atomically in the creating request
ROUTE_PROTO = 113     # rtm_protocol of every route we create
ALIAS_PREFIX = "netreconcile:"
NFT_FAMILY, NFT_TABLE = "inet", "netreconcile"
NFT_MARKER = "managed-by-netreconcile"  # an empty chain in our table, written in the transaction creating it

Key = tuple

# the kernel's numbers for macvlan modes, ipvlan modes and ipvlan flags (linux/if_link.h)
MACVLAN_MODES = {"private": 1, "vepa": 2, "bridge": 4, "passthru": 8}
IPVLAN_MODES = {"l2": 0, "l3": 1, "l3s": 2}
IPVLAN_FLAGS = {"bridge": 0, "private": 1, "vepa": 2}


@dataclass(frozen=True)
class KernelObject:
    """Base of all kernel objects; subclasses are frozen dataclasses."""

    kind: ClassVar[str] = ""
    rank: ClassVar[int] = 0
    immutable: ClassVar[tuple[str, ...]] = ()
    prunable: ClassVar[bool] = True

    @property
    def key(self) -> Key:
        raise NotImplementedError

    @property
    def parents(self) -> tuple[Key, ...]:
        """Keys of the objects this one lives on: the kernel destroys it with them."""
        return ()

    @property
    def requires(self) -> tuple[Key, ...]:
        """Keys of further objects that must exist first (a bridge port needs its bridge)."""
        return ()

    @property
    def provides(self) -> tuple[Key, ...]:
        """Keys this object brings into being (itself, and for a veth its peer too)."""
        return (self.key,)

    @property
    def netns(self) -> str | None:
        return None

    @property
    def stage(self) -> int:
        """0: host-wide objects, 1: objects of one endpoint, 2: the firewall. Orders the plan."""
        return 1 if self.netns is not None else 0

    @property
    def owner(self) -> str:
        return ""

    @property
    def title(self) -> str:
        return " ".join(str(k) for k in self.key[1:] if k is not None)

    def conflict(self, key: Key) -> str:
        """What to say when `key`, which this object would provide, is held by something not ours."""
        where = f" in netns {key[1]}" if len(key) > 2 and key[1] else ""
        return (f"{self.owner or self.kind}: {key[0]} {key[-1]!r}{where} already exists and is not managed by "
                f"netreconcile; remove it or choose another name")

    def differences(self, observed: "KernelObject") -> list[tuple[str, Any, Any]]:
        """(field, observed, desired) for every managed field that differs.

        Both objects are frozen: once they match, the desired one remembers that observed object, and
        answers again at once (the watch compares the same objects reconcile after reconcile: memoised
        desired ones against the observed ones its cache kept)."""
        if self.__dict__.get(_MATCHED) is observed:
            return []
        if self == observed:  # the common case, answered by the generated __eq__ at a fraction of the cost
            self.__dict__[_MATCHED] = observed
            return []
        out = []
        for name in _compared(type(self)):
            want, have = getattr(self, name), getattr(observed, name)
            if want is not None and want != have:
                out.append((name, have, want))
        if not out:
            self.__dict__[_MATCHED] = observed
        return out


_MATCHED = "_matched"  # not a field: outside comparisons, hashes and copies


@cache
def _compared(cls: type) -> tuple[str, ...]:
    """The names of the fields a kind's objects are compared by."""
    return tuple(f.name for f in fields(cls) if f.compare)


def link_key(netns: str | None, name: str) -> Key:
    return ("link", netns, name)


@dataclass(frozen=True)
class HostLinkObject(KernelObject):
    """A link of the host namespace, known by its `name` (every subclass has one)."""

    @property
    def key(self) -> Key:
        return link_key(None, self.name)  # type: ignore[attr-defined]

    @property
    def title(self) -> str:
        return self.name  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Netns(KernelObject):
    """A named network namespace (/run/netns/NAME); its loopback carries the ownership mark."""

    name: str
    owner: str = ""
    lo_up: bool = True
    kind: ClassVar[str] = "netns"
    rank: ClassVar[int] = 0

    @property
    def key(self) -> Key:
        return ("netns", self.name)

    @property
    def netns(self) -> str | None:
        return self.name


    @property
    def title(self) -> str:
        return self.name


@dataclass(frozen=True)
class Sysctl(KernelObject):
    """A sysctl under /proc/sys in a namespace (None: the host). Set, never removed."""

    ns: str | None
    name: str
    value: str
    kind: ClassVar[str] = "sysctl"
    rank: ClassVar[int] = 1
    prunable: ClassVar[bool] = False

    @property
    def key(self) -> Key:
        return ("sysctl", self.ns, self.name)

    @property
    def parents(self) -> tuple[Key, ...]:
        return (("netns", self.ns),) if self.ns else ()

    @property
    def netns(self) -> str | None:
        return self.ns

    @property
    def title(self) -> str:
        where = f"netns {self.ns}" if self.ns else "host"
        return f"{self.name}={self.value} ({where})"


@dataclass(frozen=True)
class InterfaceSysctl(Sysctl):
    """A sysctl of one interface (net.ipv4.conf.eth0.rp_filter): its file is there once the interface
    is, and goes with it, so it is written after the interface is made, and again when it is replaced."""

    rank: ClassVar[int] = 4

    @property
    def parents(self) -> tuple[Key, ...]:
        return (*super().parents, link_key(self.ns, sysctl_interface(self.name) or ""))


PER_INTERFACE = ("ipv4.conf", "ipv4.neigh", "ipv6.conf", "ipv6.neigh")  # net.<these>.<interface>.<setting>


def sysctl_interface(name: str) -> str | None:
    """The interface a sysctl belongs to (eth0 in net.ipv4.conf.eth0.rp_filter), or None (`all` and
    `default` are no interface)."""
    parts = name.split(".")
    if len(parts) < 5 or parts[0] != "net" or f"{parts[1]}.{parts[2]}" not in PER_INTERFACE:
        return None
    return None if parts[3] in ("all", "default") else parts[3]


def sysctl(ns: str | None, name: str, value: str) -> Sysctl:
    """A Sysctl, or an InterfaceSysctl when it belongs to an interface: desired and observed alike."""
    return (InterfaceSysctl if sysctl_interface(name) else Sysctl)(ns, name, value)


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


HOSTS_MARK = "# managed by netreconcile: the names this endpoint can reach\n"


@dataclass(frozen=True)
class HostsFile(KernelObject):
    """/etc/netns/<ns>/hosts (seen as /etc/hosts under `ip netns exec`): the names of the endpoints
    that share a network with this one. Written atomically; ours when it starts with HOSTS_MARK."""

    ns: str
    content: str
    owner: str = field(default="", compare=False)
    kind: ClassVar[str] = "hosts"
    rank: ClassVar[int] = 7

    @property
    def key(self) -> Key:
        return ("hosts", self.ns)

    @property
    def netns(self) -> str | None:
        return self.ns

    @property
    def title(self) -> str:
        return f"/etc/netns/{self.ns}/hosts"


@dataclass(frozen=True)
class NftChain:
    """A chain of our table; base chains have a type, hook, priority and policy."""

    name: str
    type: str | None = None
    hook: str | None = None
    prio: int | None = None
    policy: str | None = None


@dataclass(frozen=True)
class NftRule:
    """A rule: its chain, a comment `<owner> <label>`, and its expression list as canonical JSON."""

    chain: str
    comment: str
    expr: str = "[]"

    @property
    def owner(self) -> str:
        return self.comment.split(" ", 1)[0]


@dataclass(frozen=True)
class NftTable(KernelObject):
    """Our whole nftables table (inet netreconcile), written in one atomic transaction."""

    chains: tuple[NftChain, ...] = ()
    rules: tuple[NftRule, ...] = ()
    kind: ClassVar[str] = "nft"
    rank: ClassVar[int] = 9

    @classmethod
    def of(cls, chains: Iterable[NftChain], rules: Iterable[NftRule]) -> "NftTable":
        """Chains by name, rules grouped by chain in their order within it: equal tables compare equal."""
        return cls(tuple(sorted(chains, key=lambda c: c.name)), tuple(sorted(rules, key=lambda r: r.chain)))

    @property
    def key(self) -> Key:
        return ("nft", NFT_FAMILY, NFT_TABLE)

    @property
    def stage(self) -> int:
        return 2

    @property
    def title(self) -> str:
        return f"table {NFT_FAMILY} {NFT_TABLE}"

    def conflict(self, key: Key) -> str:
        return (f"table {NFT_FAMILY} {NFT_TABLE} already exists and is not managed by netreconcile (it has no "
                f"chain {NFT_MARKER}); nothing was changed. Remove it (nft delete table {NFT_FAMILY} {NFT_TABLE}), "
                f"or, if a netreconcile older than this one wrote it, mark it as ours "
                f"(nft add chain {NFT_FAMILY} {NFT_TABLE} {NFT_MARKER})")

    def guarding(self, old: NftTable) -> NftTable:
        """This table with the rules of `old` it lacks still in, after its own in each chain: written
        before any link changes, it keeps every rule guarding a link that is still there, while this
        table's rules decide first."""
        names = {c.name for c in self.chains}
        mine = set(self.rules)
        return NftTable.of(self.chains + tuple(c for c in old.chains if c.name not in names),
                           self.rules + tuple(r for r in old.rules if r not in mine))
