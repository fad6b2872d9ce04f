"""Read what the kernel holds, read-only: our links, addresses, routes, namespaces, sysctls, nft table.

One dump per object type per namespace (never a dump per lookup). Objects are ours when they carry
the mark: IFLA_GROUP on links (the loopback of a namespace marks the namespace), our rtm_protocol on
routes, and our table for nftables; addresses belong to the link that holds them.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from ipaddress import ip_address, ip_network
from pathlib import Path
from typing import Collection, Iterable

from reconciler import netns, nft
from reconciler.hostsfile import ETC_NETNS, read_hosts
from reconciler.errors import PathConflictError
from reconciler.kernel import Kernel
from reconciler.names import is_text, shown
from reconciler.model import (
    ALIAS_PREFIX, IPVLAN_FLAGS, IPVLAN_MODES, MACVLAN_MODES, OWNER_GROUP, ROUTE_PROTO, Address, Bridge, BridgeFdb,
    Dummy, Ipvlan, Fdb, HostsFile, Key, KernelObject, LowerLink, Macvlan, Neigh, Netns, NftTable, Route, Sysctl, Veth, Vlan, Vxlan,
    link_key,
)
from reconciler.plan import HostLink, HostRoute, Observed
from reconciler.rtnl import AF_BRIDGE, NUD_NOARP, NUD_PERMANENT, RTN_UNICAST, Dumper, LinkMsg, RouteMsg

IFF_UP = 1
MAIN_TABLE = 254
LOCAL_TABLE = 255  # the kernel's mirror of every address (local and broadcast routes)
LINK_LOCAL_V6 = ip_network("fe80::/10")


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
    local: str | None = None
    lower: int = 0

    @classmethod
    def of(cls, msg: LinkMsg) -> "Link":
        alias = msg.alias
        return cls(
            # A name that is not text is none we could have made, whatever its mark: never adopted.
            index=msg.index, name=msg.name, kind=msg.kind, owned=msg.group == OWNER_GROUP and is_text(msg.name),
            owner=shown(alias[len(ALIAS_PREFIX):]) if alias.startswith(ALIAS_PREFIX) else "",
            mtu=msg.mtu, up=bool(msg.flags & IFF_UP), mac=msg.mac, master=msg.master,
            peer_index=msg.link, isolated=msg.isolated, ipv6=msg.ipv6, hairpin=msg.hairpin, learning=msg.learning,
            link_netnsid=msg.link_netnsid,
            mode=msg.mode, flag=msg.flag, local=msg.local, lower=msg.lower,
        )


@dataclass(frozen=True)
class InTheWay:
    """What stands where a file of ours should be, and is not ours to write or delete: why."""

    reason: str


@dataclass
class Namespace:
    """What one namespace holds, gathered by one dump per object type."""

    name: str | None
    links: dict[int, Link]
    dumper: Dumper


class Reader:
    """Where observe reads namespaces from: the kernel, one dump per object type. The watch's cache
    (reconciler/cache.py) replays instead the namespaces it has heard no change in."""

    def names(self) -> list[str]:
        return netns.list_names()

    def namespace(self, name: str | None) -> Namespace:
        """OSError when `name` is not a namespace."""
        return _namespace(name)

    def namespace_objects(self, ns: Namespace, host: Namespace) -> tuple[dict[Key, KernelObject], set[Key]]:
        return namespace_objects(ns, host)

    def namespace_state(self, name: str, host: Namespace) -> tuple[dict[Key, KernelObject], dict[Key, str]] | None:
        """A namespace's objects, its hosts file included, and the keys of what in it is not ours (with
        why, where there is more to say than that it exists); None when the namespace is not ours."""
        ns = _owned_namespace(self, name)
        if ns is None:
            return None
        found, alien = self.namespace_objects(ns, host)
        ns.dumper.close()
        objects, foreign = dict(found), dict.fromkeys(alien, "")
        _collect_hosts_file(name, self.hosts_file(name), objects, foreign)
        return objects, foreign

    def hosts_file(self, ns: str) -> str | InTheWay | None:
        """The content of the endpoint's hosts file if we wrote it (None: there is none), or what is in
        the way of it (a symbolic link, a file we did not write)."""
        try:
            return read_hosts(ns)
        except PathConflictError as err:
            return InTheWay(str(err))
        except OSError as err:
            return InTheWay(f"{ETC_NETNS}/{ns}/hosts cannot be read ({err.strerror}); fix it and run again")

    def stray_files(self, skip: Collection[str]) -> dict[Key, str]:
        """What stands in the way of the hosts files of namespaces not ours or not there yet (a file we
        did not write, a symbolic link), by key, with why."""
        try:
            entries = os.scandir(ETC_NETNS)
        except FileNotFoundError:
            return {}
        with entries:
            names = [e.name for e in entries if e.name not in skip]
        found = {name: self.hosts_file(name) for name in names}
        return {("hosts", name): f.reason for name, f in found.items() if isinstance(f, InTheWay)}


def observe(kernel: Kernel, sysctls: Iterable[tuple[str | None, str]] = (), reader: Reader | None = None,
            namespaces: Collection[str] | None = None, table: bool = True) -> Observed:
    """Our objects in the host namespace and in every namespace we own (or only in those of
    `namespaces`), and our nftables table (unless `table` is False), plus same-named foreign ones."""
    reader = reader or Reader()
    objects: dict = {}
    foreign: set = set()
    reasons: dict[Key, str] = {}
    host = reader.namespace(None)
    _collect_links(host, objects, foreign)
    host_links = _host_links(host, _collect_addresses(host, objects))
    routes = host.dumper.routes()  # every table, unfiltered: ours, and the host's own for the overlap check
    _collect_routes(host, objects, routes)
    _collect_vxlan_entries(host, objects)
    host.dumper.close()
    owned_ns: set[str] = set()
    for name in reader.names():
        if namespaces is not None and name not in namespaces:
            continue
        state = reader.namespace_state(name, host) if is_text(name) else None
        if state is None:
            if netns.identity(name) is not None:  # one removed since it was listed is neither ours nor foreign
                foreign.add(("netns", name))
            continue
        owned_ns.add(name)
        objects.update(state[0])
        foreign.update(state[1])
        reasons.update((k, why) for k, why in state[1].items() if why)
    for stray, why in reader.stray_files(owned_ns).items():
        if namespaces is None or stray[1] in namespaces:
            foreign.add(stray)
            reasons[stray] = why
    for ns_name, key in sysctls:
        if ns_name is None or ns_name in owned_ns:
            value = kernel.read_sysctl(ns_name, key)
            if value is not None:
                _add(objects, Sysctl(ns_name, key, value))
    if table:
        _collect_table(objects, foreign)
    return Observed(objects, frozenset(foreign), host_links, host_routes=_host_routes(host, routes), reasons=reasons)


def _collect_table(objects: dict, foreign: set) -> None:
    try:
        found = nft.read_table()
    except nft.ForeignTable:
        foreign.add(NftTable().key)
        return
    if found is not None:
        _add(objects, found)


def namespace_objects(ns: Namespace, host: Namespace) -> tuple[dict[Key, KernelObject], set[Key]]:
    """An owned namespace's objects (the netns, its links, addresses and routes) by key, and the keys
    of what in it is not ours. Depends on the namespace and on its links' ends in the host: see
    `host_ends`."""
    objects: dict[Key, KernelObject] = {}
    foreign: set[Key] = set()
    lo = next(l for l in ns.links.values() if l.name == "lo")
    _add(objects, Netns(ns.name, lo_up=lo.up, owner=lo.owner))
    _collect_peers(ns, host, objects, foreign)
    _collect_addresses(ns, objects)
    _collect_routes(ns, objects)
    return objects, foreign


def host_ends(links: dict[int, Link], host: Namespace) -> tuple:
    """What of the host `namespace_objects` reads for a namespace with these links: each link's other
    end (a veth's peer, a macvlan's parent) and the name of that end's master."""
    ends = []
    for link in links.values():
        end = host.links.get(link.peer_index)
        ends.append((end, _name(host, end.master) if end else None))
    return tuple(ends)


def _add(objects: dict, obj: KernelObject) -> None:
    objects[obj.key] = obj


def _namespace(name: str | None) -> Namespace:
    with netns.entered(name):
        dumper = Dumper()
    return Namespace(name, {l.index: l for l in map(Link.of, dumper.links())}, dumper)


def _owned_namespace(reader: Reader, name: str) -> Namespace | None:
    try:
        ns = reader.namespace(name)
    except OSError:
        return None  # not a namespace mount (a stale file): not ours
    lo = next((l for l in ns.links.values() if l.name == "lo"), None)
    if lo is None or not lo.owned:
        ns.dumper.close()
        return None
    return ns


def _collect_links(host: Namespace, objects: dict, foreign: set) -> None:
    for link in host.links.values():
        if not link.owned:
            foreign.add(link_key(None, link.name))
        elif link.kind == "bridge":
            _add(objects, Bridge(link.name, link.mtu, link.up, link.ipv6, link.mac, owner=link.owner,
                                 localnet=_route_localnet(link.name)))
        elif link.kind == "vlan":
            _add(objects, Vlan(link.name, _name(host, link.peer_index) or "?", link.mode, link.up, owner=link.owner))
        elif link.kind == "vxlan":
            _add(objects, Vxlan(link.name, link.mode, link.flag, link.local, _name(host, link.lower),
                                _name(host, link.master), link.mtu, link.up, owner=link.owner, ipv6=link.ipv6,
                                learning=link.learning))
        elif link.kind == "dummy":
            _add(objects, Dummy(link.name, link.up, owner=link.owner))
        elif link.kind in LOWER_KINDS:
            _add(objects, _lower_link(None, link, _name(host, link.peer_index) or "?"))
        elif link.kind == "veth":
            # Its peer is filled in when we meet it inside its namespace; unpaired, it shows as orphaned.
            _add(objects, Veth(
                name=link.name, ns="", peer="", mac="", mtu=link.mtu, host_mac=link.mac, master=_name(host, link.master),
                isolated=link.isolated, up=link.up, ipv6=link.ipv6, owner=link.owner, hairpin=link.hairpin,
            ))


LOWER_KINDS = ("macvlan", "ipvlan")
MACVLAN_MODE_NAMES = {v: k for k, v in MACVLAN_MODES.items()}
IPVLAN_MODE_NAMES = {v: k for k, v in IPVLAN_MODES.items()}
IPVLAN_FLAG_NAMES = {v: k for k, v in IPVLAN_FLAGS.items()}


def _lower_link(ns: str | None, link: Link, parent: str) -> LowerLink:
    common = dict(ns=ns, name=link.name, parent=parent, mtu=link.mtu, ipv6=link.ipv6, up=link.up, owner=link.owner)
    if link.kind == "macvlan":
        return Macvlan(**common, mode=MACVLAN_MODE_NAMES.get(link.mode, str(link.mode)), mac=link.mac)
    return Ipvlan(**common, mode=IPVLAN_MODE_NAMES.get(link.mode, str(link.mode)),
                  flag=IPVLAN_FLAG_NAMES.get(link.flag, str(link.flag)))


def _collect_peers(ns: Namespace, host: Namespace, objects: dict, foreign: set) -> None:
    for link in ns.links.values():
        if link.name == "lo":
            continue
        if link.owned and link.kind in LOWER_KINDS:
            # Its parent's index is in the host namespace: the only one we make them from.
            parent = _name(host, link.peer_index) if link.link_netnsid >= 0 else None
            _add(objects, _lower_link(ns.name, link, parent or "?"))
            continue
        end = host.links.get(link.peer_index)
        if not link.owned or link.kind != "veth" or end is None or not end.owned or end.peer_index != link.index:
            foreign.add(link_key(ns.name, link.name))
            continue
        _add(objects, Veth(
            name=end.name, ns=ns.name, peer=link.name, mac=link.mac, mtu=min(end.mtu, link.mtu), host_mac=end.mac,
            master=_name(host, end.master), isolated=end.isolated, up=end.up and link.up,
            ipv6=end.ipv6 or link.ipv6, owner=end.owner, hairpin=end.hairpin,
        ))


def _name(ns: Namespace, index: int) -> str | None:
    """The name of another link an object refers to (its master, parent, lower), as shown: compared with
    names in manifests, which are text, and printed."""
    link = ns.links.get(index)
    return shown(link.name) if link else None


def _collect_addresses(ns: Namespace, objects: dict) -> dict[int, list[str]]:
    """Addresses of our links; returns every address of the namespace by link index (parent checks)."""
    held: dict[int, list[str]] = {}
    ns_owner = None if ns.name is None else _netns_owner(objects, ns.name)
    for msg in ns.dumper.addresses():
        if msg.address is None:
            continue
        text = f"{msg.address}/{msg.prefixlen}"
        held.setdefault(msg.index, []).append(text)
        link = ns.links.get(msg.index)
        if link is None or not link.owned or link.name == "lo":
            continue
        if msg.family == socket.AF_INET6 and ip_address(msg.address) in LINK_LOCAL_V6:
            continue
        _add(objects, Address(ns.name, link.name, text, owner=link.owner if ns_owner is None else ns_owner))
    return held


def _host_links(ns: Namespace, held: dict[int, list[str]]) -> dict[str, HostLink]:
    """Every link of the namespace with its addresses."""
    return {
        l.name: HostLink(l.name, l.kind, l.up, _name(ns, l.master), tuple(held.get(l.index, ())), l.mtu, l.owned)
        for l in ns.links.values()
    }


def _netns_owner(objects: dict, name: str) -> str:
    return objects[("netns", name)].owner


def _collect_routes(ns: Namespace, objects: dict, routes: list[RouteMsg] | None = None) -> None:
    """Our routes among `routes` (default: a dump of our routes in the main table, both families)."""
    for msg in ns.dumper.routes(MAIN_TABLE, ROUTE_PROTO) if routes is None else routes:
        if msg.protocol != ROUTE_PROTO or msg.table != MAIN_TABLE:
            continue
        dst = _dst(msg)
        link = ns.links.get(msg.oif)
        if link is not None and not is_text(link.name):
            continue  # by a link none of ours (see Link.of): never adopted, whatever its mark
        ifname = link.name if link else "?"
        # On the host, a route belongs with the link it leaves by (a hostAccess shim's routes, its network).
        owner = (link.owner if link else "") if ns.name is None else _netns_owner(objects, ns.name)
        _add(objects, Route(ns.name, dst, msg.gateway, ifname, owner=owner))


def _dst(msg: RouteMsg) -> str:
    return f"{msg.dst}/{msg.dst_len}" if msg.dst else ("0.0.0.0/0" if msg.family == socket.AF_INET else "::/0")


def _host_routes(ns: Namespace, routes: list[RouteMsg]) -> tuple[HostRoute, ...]:
    """The unicast routes of every table but local (whose entries mirror addresses, checked as such)."""
    return tuple(HostRoute(_dst(m), m.table, m.protocol, _name(ns, m.oif))
                 for m in routes if m.type == RTN_UNICAST and m.table != LOCAL_TABLE)


def _collect_vxlan_entries(host: Namespace, objects: dict) -> None:
    """Permanent FDB and neighbour entries of our VXLAN links (the overlay's remote endpoints), and
    the static entries their bridges hold for those links' port."""
    vxlans = {l.index: l for l in host.links.values() if l.owned and l.kind == "vxlan"}
    if not vxlans:
        return
    for msg in host.dumper.neighbours(AF_BRIDGE) + host.dumper.neighbours(socket.AF_UNSPEC):
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
    try:
        return Path(f"/proc/sys/net/ipv4/conf/{bridge}/route_localnet").read_text().strip() == "1"
    except OSError:
        return False


def _collect_hosts_file(ns: str, content: str | InTheWay | None, objects: dict, foreign: dict[Key, str]) -> None:
    """The endpoint's managed hosts file, or why what is there is in the way."""
    if isinstance(content, InTheWay):
        foreign[("hosts", ns)] = content.reason
    elif content is not None:
        _add(objects, HostsFile(ns, content, owner=_netns_owner(objects, ns)))
