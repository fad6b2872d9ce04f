"""What observe makes of a namespace it read: our kernel objects (reconciler/model.py), by key.

Objects are ours when they carry the mark: IFLA_GROUP on links (the loopback of a namespace marks
the namespace), our rtm_protocol on routes; addresses belong to the link that holds them. A link
refers to others by index (its master, parent, lower): named here from the links read with it.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import ip_address, ip_network
from typing import Protocol

from reconciler.kernel.names import is_text, shown
from reconciler.kernel.rtnl import (
    AF_BRIDGE,
    IFF_UP,
    NUD_NOARP,
    NUD_PERMANENT,
    RT_TABLE_LOCAL,
    RT_TABLE_MAIN,
    RTN_UNICAST,
    AddrMsg,
    LinkMsg,
    NeighMsg,
    RouteMsg,
    link_fields,
)
from reconciler.model import (
    ALIAS_PREFIX,
    IPVLAN_FLAGS,
    IPVLAN_MODES,
    MACVLAN_MODES,
    OWNER_GROUP,
    ROUTE_PROTO,
    Address,
    Bridge,
    BridgeFdb,
    Dummy,
    Fdb,
    Ipvlan,
    KernelObject,
    Key,
    LowerLink,
    Macvlan,
    Neigh,
    Netns,
    Route,
    Veth,
    Vlan,
    Vxlan,
    link_key,
)
from reconciler.planning.plan import HostLink, HostRoute

LINK_LOCAL_V6 = ip_network("fe80::/10")
LOWER_KINDS = ("macvlan", "ipvlan")
MACVLAN_MODE_NAMES = {v: k for k, v in MACVLAN_MODES.items()}
IPVLAN_MODE_NAMES = {v: k for k, v in IPVLAN_MODES.items()}
IPVLAN_FLAG_NAMES = {v: k for k, v in IPVLAN_FLAGS.items()}
Objects = dict[Key, KernelObject]
Ends = tuple[tuple["Link | None", str | None], ...]  # see host_ends


@dataclass(frozen=True)
class Link:
    """The parts of a link we compare, with our mark and owner decoded."""

    index: int
    name: str
    kind: str
    owned: bool
    owner: str
    mtu: int
    up: bool
    mac: str
    master: int
    peer_index: int
    isolated: bool
    ipv6: bool
    hairpin: bool = False
    learning: bool = False
    link_netnsid: int = -1
    mode: int = 0
    flag: int = 0
    vlan_id: int = 0
    vni: int = 0
    port: int = 0
    local: str | None = None
    lower: int = 0

    @classmethod
    def of(cls, msg: LinkMsg) -> Link:
        return cls.made(msg.index, msg.flags, msg.name, msg.kind, msg.group, msg.alias, msg.mtu, msg.mac, msg.master,
                        msg.link, msg.isolated, msg.ipv6, msg.hairpin, msg.learning, msg.link_netnsid, msg.mode,
                        msg.flag, msg.vlan_id, msg.vni, msg.port, msg.local, msg.lower, msg.family)

    @classmethod
    def read(cls, m: memoryview) -> Link:
        """The link a link message tells of: as Link.of(parse_link(m)), without the LinkMsg between (a
        one-shot observe's parent makes two per namespace)."""
        return cls.made(*link_fields(m))

    @classmethod
    def made(cls, index: int, flags: int, name: str, kind: str, group: int, alias: str, mtu: int, mac: str,
             master: int, link: int, isolated: bool, ipv6: bool, hairpin: bool, learning: bool, link_netnsid: int,
             mode: int, flag: int, vlan_id: int, vni: int, port: int, local: str | None, lower: int,
             _family: int) -> Link:
        """Of a LinkMsg's fields, in their order: positional (a third faster than by name)."""
        return cls(
            # A name that is not text is none we could have made, whatever its mark: never adopted.
            index, name, kind, group == OWNER_GROUP and is_text(name),
            shown(alias[len(ALIAS_PREFIX):]) if alias.startswith(ALIAS_PREFIX) else "",
            mtu, bool(flags & IFF_UP), mac, master, link, isolated, ipv6, hairpin, learning,
            link_netnsid, mode, flag, vlan_id, vni, port, local, lower,
        )


class Dumps(Protocol):
    """Where observe reads a namespace's addresses, routes and neighbours: our rtnetlink client, or the
    watch's kernel cache replaying what it read."""

    def addresses(self) -> list[AddrMsg]: ...
    def routes(self, table: int = 0, protocol: int = 0) -> list[RouteMsg]: ...
    def neighbours(self, family: int) -> list[NeighMsg]: ...
    def close(self) -> None: ...


@dataclass
class Namespace:
    """What one namespace holds, gathered by one dump per object type."""

    name: str | None
    links: dict[int, Link]
    dumps: Dumps


def host_objects(host: Namespace, routes: list[RouteMsg]) -> tuple[Objects, set[Key], dict[str, HostLink]]:
    """Our objects in the host namespace (links, addresses, our routes among `routes`, VXLAN entries),
    the keys of the links there that are not ours, and every link with its addresses."""
    objects: Objects = {}
    foreign: set[Key] = set()
    for link in host.links.values():
        found = link_object(host, link)
        if isinstance(found, KernelObject):
            _add(objects, found)
        elif found:
            foreign.add(link_key(None, link.name))
    held = collect_addresses(host, objects)
    links = {l.name: host_link(host, l, tuple(held.get(l.index, ()))) for l in host.links.values()}
    collect_routes(host, objects, routes)
    collect_vxlan_entries(host, objects)
    return objects, foreign, links


def namespace_objects(ns: Namespace, host: Namespace) -> tuple[Objects, set[Key]]:
    """An owned namespace's objects (the netns, its links, addresses and routes) by key, and the keys
    of what in it is not ours. Depends on the namespace and on its links' ends in the host: see
    `host_ends`."""
    assert ns.name is not None, "only named namespaces are owned"
    objects: Objects = {}
    foreign: set[Key] = set()
    lo = next(l for l in ns.links.values() if l.name == "lo")
    _add(objects, Netns(ns.name, lo_up=lo.up, owner=lo.owner))
    _collect_peers(ns.name, ns, host, objects, foreign)
    collect_addresses(ns, objects)
    collect_routes(ns, objects)
    return objects, foreign


def host_ends(links: dict[int, Link], host: Namespace) -> Ends:
    """What of the host `namespace_objects` reads for a namespace with these links: each link's other
    end (a veth's peer, a macvlan's parent) and the name of that end's master."""
    ends = []
    for link in links.values():
        end = host.links.get(link.peer_index)
        ends.append((end, _name(host, end.master) if end else None))
    return tuple(ends)


def host_routes(host: Namespace, routes: list[RouteMsg]) -> tuple[HostRoute, ...]:
    """The unicast routes of every table but local (whose entries mirror addresses, checked as such)."""
    return tuple(HostRoute(_dst(m), m.table, m.protocol, _name(host, m.oif))
                 for m in routes if m.type == RTN_UNICAST and m.table != RT_TABLE_LOCAL)


def netns_owner(objects: Objects, name: str) -> str:
    return objects[("netns", name)].owner


def _add(objects: Objects, obj: KernelObject) -> None:
    objects[obj.key] = obj


def link_object(host: Namespace, link: Link) -> KernelObject | bool | None:
    """Our object of a host link; True: the link is not ours; None: no object of ours is made of it."""
    if not link.owned:
        return True
    if link.kind == "bridge":
        return Bridge(link.name, link.mtu, link.up, link.ipv6, link.mac, owner=link.owner,
                      localnet=_route_localnet(link.name))
    if link.kind == "vlan":
        return Vlan(link.name, _name(host, link.peer_index) or "?", link.vlan_id, link.up, owner=link.owner)
    if link.kind == "vxlan":
        return Vxlan(link.name, link.vni, link.port, link.local, _name(host, link.lower), _name(host, link.master),
                     link.mtu, link.up, owner=link.owner, ipv6=link.ipv6, learning=link.learning)
    if link.kind == "dummy":
        return Dummy(link.name, link.up, owner=link.owner)
    if link.kind in LOWER_KINDS:
        return _lower_link(None, link, _name(host, link.peer_index) or "?")
    if link.kind == "veth":
        # Its peer is filled in when we meet it inside its namespace; unpaired, it shows as orphaned.
        return Veth(name=link.name, ns="", peer="", mac="", mtu=link.mtu, host_mac=link.mac,
                    master=_name(host, link.master), isolated=link.isolated, up=link.up, ipv6=link.ipv6,
                    owner=link.owner, hairpin=link.hairpin)
    return None


def _lower_link(ns: str | None, link: Link, parent: str) -> LowerLink:
    if link.kind == "macvlan":
        return Macvlan(ns=ns, name=link.name, parent=parent, mtu=link.mtu, ipv6=link.ipv6, up=link.up,
                       owner=link.owner, mode=MACVLAN_MODE_NAMES.get(link.mode, str(link.mode)), mac=link.mac)
    return Ipvlan(ns=ns, name=link.name, parent=parent, mtu=link.mtu, ipv6=link.ipv6, up=link.up, owner=link.owner,
                  mode=IPVLAN_MODE_NAMES.get(link.mode, str(link.mode)),
                  flag=IPVLAN_FLAG_NAMES.get(link.flag, str(link.flag)))


def _collect_peers(name: str, ns: Namespace, host: Namespace, objects: Objects, foreign: set[Key]) -> None:
    for link in ns.links.values():
        if link.name == "lo":
            continue
        if link.owned and link.kind in LOWER_KINDS:
            # Its parent's index is in the host namespace: the only one we make them from.
            parent = _name(host, link.peer_index) if link.link_netnsid >= 0 else None
            _add(objects, _lower_link(name, link, parent or "?"))
            continue
        end = host.links.get(link.peer_index)
        if not link.owned or link.kind != "veth" or end is None or not end.owned or end.peer_index != link.index:
            foreign.add(link_key(name, link.name))
            continue
        _add(objects, Veth(
            name=end.name, ns=name, peer=link.name, mac=link.mac, mtu=min(end.mtu, link.mtu), host_mac=end.mac,
            master=_name(host, end.master), isolated=end.isolated, up=end.up and link.up,
            ipv6=end.ipv6 or link.ipv6, owner=end.owner, hairpin=end.hairpin,
        ))


def _name(ns: Namespace, index: int) -> str | None:
    """The name of another link an object refers to (its master, parent, lower), as shown: compared with
    names in manifests, which are text, and printed."""
    link = ns.links.get(index)
    return shown(link.name) if link else None


def collect_addresses(ns: Namespace, objects: Objects) -> dict[int, list[str]]:
    """Addresses of our links; returns every address of the namespace by link index (parent checks)."""
    held: dict[int, list[str]] = {}
    ns_owner = None if ns.name is None else netns_owner(objects, ns.name)
    for msg in ns.dumps.addresses():
        if msg.address is None:
            continue
        text = f"{msg.address}/{msg.prefixlen}"
        held.setdefault(msg.index, []).append(text)
        link = ns.links.get(msg.index)
        if link is None or not link.owned or link.name == "lo":
            continue
        if msg.family == socket.AF_INET6 and ip_address(msg.address) in LINK_LOCAL_V6:
            continue
        if msg.family == socket.AF_INET and not msg.permanent:
            continue  # a lease's: the DHCP lease keeper's to keep, never drift (the keeper is observed)
        _add(objects, Address(ns.name, link.name, text, owner=link.owner if ns_owner is None else ns_owner))
    return held


def host_link(ns: Namespace, link: Link, addresses: tuple[str, ...]) -> HostLink:
    """A link of the namespace with its addresses."""
    return HostLink(link.name, link.kind, link.up, _name(ns, link.master), addresses, link.mtu, link.owned)


def collect_routes(ns: Namespace, objects: Objects, routes: list[RouteMsg] | None = None) -> None:
    """Our routes among `routes` (default: a dump of our routes in the main table, both families)."""
    for msg in ns.dumps.routes(RT_TABLE_MAIN, ROUTE_PROTO) if routes is None else routes:
        if msg.protocol != ROUTE_PROTO or msg.table != RT_TABLE_MAIN:
            continue
        dst = _dst(msg)
        link = ns.links.get(msg.oif)
        if link is not None and not is_text(link.name):
            continue  # by a link none of ours (see Link.of): never adopted, whatever its mark
        ifname = link.name if link else "?"
        # On the host, a route belongs with the link it leaves by (a hostAccess shim's routes, its network).
        owner = (link.owner if link else "") if ns.name is None else netns_owner(objects, ns.name)
        _add(objects, Route(ns.name, dst, msg.gateway, ifname, owner=owner))


def _dst(msg: RouteMsg) -> str:
    return f"{msg.dst}/{msg.dst_len}" if msg.dst else ("0.0.0.0/0" if msg.family == socket.AF_INET else "::/0")


def collect_vxlan_entries(host: Namespace, objects: Objects, indexes: Iterable[int] | None = None) -> None:
    """Permanent FDB and neighbour entries of our VXLAN links (the overlay's remote endpoints), and
    the static entries their bridges hold for those links' port. `indexes`: those links' if known (else
    every link is looked at)."""
    links = host.links.values() if indexes is None else (host.links[i] for i in indexes if i in host.links)
    vxlans = {l.index: l for l in links if l.owned and l.kind == "vxlan"}
    if not vxlans:
        return
    for msg in host.dumps.neighbours(AF_BRIDGE) + host.dumps.neighbours(socket.AF_UNSPEC):
        link = vxlans.get(msg.index)
        if link is not None and msg.family == AF_BRIDGE and msg.dst is None and msg.state == NUD_NOARP:
            _add(objects, BridgeFdb(link.name, msg.mac, owner=link.owner))
        if link is None or not msg.state & NUD_PERMANENT or msg.dst is None:
            continue
        if msg.family == AF_BRIDGE:
            _add(objects, Fdb(link.name, msg.mac, msg.dst, owner=link.owner))
        else:
            _add(objects, Neigh(link.name, msg.dst, msg.mac, owner=link.owner))


def _route_localnet(bridge: str) -> bool:
    """Read for every bridge by every observe (no event tells of a sysctl): one open and one read, not
    pathlib's text file (a tenth of its cost)."""
    try:
        fd = os.open(f"/proc/sys/net/ipv4/conf/{bridge}/route_localnet", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        return os.read(fd, 16).strip() == b"1"
    except OSError:
        return False
    finally:
        os.close(fd)
