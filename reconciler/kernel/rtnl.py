"""rtnetlink's wire format: every constant, message layout and attribute netreconcile uses, the
messages it reads (links, addresses, routes, neighbours) parsed into small records. The attributes
of the link requests it makes: reconciler/kernel/linkreq.py. No socket here: rtnl_client.py sends and receives."""

from __future__ import annotations

import socket
import struct
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from ipaddress import ip_address

from reconciler.kernel import names

NETLINK_ROUTE = 0
SOL_NETLINK, NETLINK_LISTEN_ALL_NSID, NETLINK_GET_STRICT_CHK = 270, 8, 12
SO_RCVBUFFORCE = 33
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_ACK, NLM_F_ECHO, NLM_F_DUMP = 0x1, 0x4, 0x8, 0x300
NLM_F_REPLACE, NLM_F_EXCL, NLM_F_CREATE, NLM_F_APPEND = 0x100, 0x200, 0x400, 0x800
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK, RTM_SETLINK, RTM_GETADDR, RTM_GETROUTE = 16, 17, 18, 19, 22, 26
RTM_NEWADDR, RTM_DELADDR, RTM_NEWROUTE, RTM_DELROUTE = 20, 21, 24, 25
RTM_NEWNEIGH, RTM_DELNEIGH, RTM_GETNEIGH = 28, 29, 30
RTM_GETNSID = 90
LINK_EVENTS, ADDRESS_EVENTS, ROUTE_EVENTS = (RTM_NEWLINK, RTM_DELLINK), (RTM_NEWADDR, RTM_DELADDR), (RTM_NEWROUTE, RTM_DELROUTE)
# the multicast groups the watch listens to: links, and addresses and routes of both families
RTMGRP_LINK, RTMGRP_IPV4_IFADDR, RTMGRP_IPV4_ROUTE, RTMGRP_IPV6_IFADDR, RTMGRP_IPV6_ROUTE = 0x1, 0x10, 0x40, 0x100, 0x400
RTN_UNICAST = 1
RT_TABLE_MAIN, RT_TABLE_LOCAL = 254, 255  # local: the kernel's mirror of every address (local and broadcast routes)
RT_SCOPE_UNIVERSE, RT_SCOPE_LINK = 0, 253
VETH_INFO_PEER = 1
IFF_UP = 0x1
NLA_TYPE_MASK = 0x3FFF
NLA_F_NESTED = 0x8000
AF_UNSPEC, AF_BRIDGE = socket.AF_UNSPEC, 7

# attribute numbers from linux/if_link.h, if_addr.h, rtnetlink.h, net_namespace.h
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_LINK, IFLA_MASTER, IFLA_PROTINFO = 1, 3, 4, 5, 10, 12
IFLA_LINKINFO, IFLA_IFALIAS, IFLA_AF_SPEC, IFLA_GROUP, IFLA_NET_NS_FD, IFLA_LINK_NETNSID = 18, 20, 26, 27, 28, 37
IFLA_INFO_KIND, IFLA_INFO_DATA, IFLA_INFO_SLAVE_KIND, IFLA_INFO_SLAVE_DATA = 1, 2, 4, 5
IFLA_MACVLAN_MODE = 1          # u32, in IFLA_INFO_DATA of a macvlan
IFLA_IPVLAN_MODE, IFLA_IPVLAN_FLAGS = 1, 2   # u16 each
IFLA_VLAN_ID = 1               # u16
IFLA_VXLAN_ID, IFLA_VXLAN_LINK, IFLA_VXLAN_LOCAL, IFLA_VXLAN_LEARNING = 1, 3, 4, 7
IFLA_VXLAN_PROXY, IFLA_VXLAN_PORT, IFLA_VXLAN_LOCAL6 = 11, 15, 17
NDA_DST, NDA_LLADDR = 1, 2
NUD_NOARP, NUD_PERMANENT, NTF_SELF, NTF_MASTER = 0x40, 0x80, 0x02, 0x04
IFLA_BRPORT_MODE, IFLA_BRPORT_LEARNING, IFLA_BRPORT_FLUSH, IFLA_BRPORT_ISOLATED = 4, 8, 24, 33
IFLA_INET6_CONF = 2
DEVCONF_DISABLE_IPV6 = 26
IFA_ADDRESS, IFA_LOCAL, IFA_CACHEINFO, IFA_FLAGS = 1, 2, 6, 8
IFA_F_PERMANENT = 0x80
IFA_CACHEINFO_STRUCT = struct.Struct("=IIII")  # preferred, valid lifetimes (s); created, updated stamps
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_MULTIPATH, RTA_TABLE = 1, 4, 5, 9, 15
NETNSA_NSID, NETNSA_FD = 1, 3

RTGENMSG = struct.Struct("=B3x")
NLMSGHDR = struct.Struct("=IHHII")
IFINFOMSG = struct.Struct("=BxHiII")
IFADDRMSG = struct.Struct("=BBBBI")
RTMSG = struct.Struct("=BBBBBBBBI")
NLA = struct.Struct("=HH")
NDMSG = struct.Struct("=BxxxiHBB")  # family, ifindex, state, flags, type
RTNEXTHOP = struct.Struct("=HBBi")  # length, flags, hops, ifindex


def align(n: int) -> int:
    return (n + 3) & ~3


def nla(kind: int, payload: bytes) -> bytes:
    """One attribute, padded."""
    return NLA.pack(NLA.size + len(payload), kind) + payload + b"\0" * (align(len(payload)) - len(payload))


def nla_str(kind: int, text: str) -> bytes:
    return nla(kind, names.encode(text) + b"\0")


def nla_u32(kind: int, value: int) -> bytes:
    return nla(kind, struct.pack("=I", value))


def mac_bytes(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", ""))


def header(length: int, msg_type: int, flags: int, seq: int) -> bytes:
    """The nlmsghdr of a request whose body is `length` bytes long."""
    return NLMSGHDR.pack(NLMSGHDR.size + length, msg_type, flags, seq, 0)


def messages(data: bytes | memoryview) -> Iterator[tuple[int, memoryview]]:
    """The (type, body) of each message in what one recv() returned."""
    view, offset = memoryview(data), 0
    while offset + NLMSGHDR.size <= len(view):
        length, kind, _, _, _ = NLMSGHDR.unpack_from(view, offset)
        if length < NLMSGHDR.size:
            return
        yield kind, view[offset + NLMSGHDR.size: offset + length]
        offset += align(length)


def error_code(body: memoryview) -> int:
    """The errno an NLMSG_ERROR message carries (0: an acknowledgement)."""
    return -int(struct.unpack_from("=i", body)[0])


def attrs(data: bytes | memoryview, offset: int = 0) -> dict[int, memoryview]:
    """Netlink attributes from `offset` on, by type (nested flag dropped)."""
    view, out, unpack = memoryview(data), {}, NLA.unpack_from  # local names: the hottest loop of observe
    end = len(view) - 4
    while offset <= end:
        length, kind = unpack(view, offset)
        if length < 4:
            break
        out[kind & NLA_TYPE_MASK] = view[offset + 4: offset + length]
        offset += (length + 3) & ~3
    return out


def some_attrs(data: bytes | memoryview, wanted: frozenset[int], offset: int = 0) -> dict[int, memoryview]:
    """The attributes of the types in `wanted` only (nested flag dropped): a link message carries some
    forty, of which parse_link reads ten; not slicing out the others is a third of its time. The walk
    stops once each is found (the kernel gives an attribute once): a bridge port's three flags come
    among the first twenty of its forty."""
    view, out, unpack, count = memoryview(data), {}, NLA.unpack_from, len(wanted)
    end = len(view) - 4
    while offset <= end:
        length, kind = unpack(view, offset)
        if length < 4:
            break
        kind &= NLA_TYPE_MASK
        if kind in wanted:
            out[kind] = view[offset + 4: offset + length]
            if len(out) == count:
                break
        offset += (length + 3) & ~3
    return out


def _text(value: memoryview | None) -> str:
    return names.decode(bytes(value).split(b"\0", 1)[0]) if value is not None else ""


_U32, _S32 = struct.Struct("=I").unpack_from, struct.Struct("=i").unpack_from


def _u32(value: memoryview | None, default: int = 0) -> int:
    if value is None:
        return default
    number: int = _U32(value)[0]
    return number


def _u16(value: memoryview | None) -> int:
    if value is None:
        return 0
    number: int = struct.unpack_from("=H", value)[0]
    return number


def s32(value: bytes | memoryview) -> int:
    return int.from_bytes(bytes(value)[:4], sys.byteorder, signed=True)


def _flag(value: memoryview | None) -> bool:
    return value is not None and bytes(value)[:1] == b"\1"


def _mac(value: memoryview | None) -> str:
    return bytes(value).hex(":") if value is not None else ""


def ip_text(value: memoryview | None) -> str | None:
    """An address as ipaddress writes it. IPv4: the same dotted quad, 4x faster; IPv6: the same text, 25x
    faster, except where libc's is dotted (IPv4-mapped or -compatible), which ipaddress writes in hex."""
    if value is None:
        return None
    if len(value) == 4:
        return socket.inet_ntop(socket.AF_INET, value)
    if len(value) == 16:
        text = socket.inet_ntop(socket.AF_INET6, value)
        if "." not in text:
            return text
    return str(ip_address(bytes(value)))


@dataclass(frozen=True)
class LinkMsg:
    """A link as RTM_NEWLINK tells of it; the fields of a kind it is not of are left at their defaults."""

    index: int
    flags: int
    name: str
    kind: str
    group: int
    alias: str
    mtu: int
    mac: str
    master: int
    link: int
    isolated: bool
    ipv6: bool
    hairpin: bool = False
    learning: bool = False  # as a bridge port: whether the bridge learns source MACs on it
    link_netnsid: int = -1  # set when `link` (the parent's index) lives in another namespace
    mode: int = 0           # macvlan/ipvlan mode
    flag: int = 0           # ipvlan flags
    vlan_id: int = 0        # vlan: its 802.1q id
    vni: int = 0            # vxlan: its VNI
    port: int = 0           # vxlan: its UDP port
    local: str | None = None  # vxlan: the local VTEP address
    lower: int = 0          # vxlan: the underlay link's index
    family: int = AF_UNSPEC   # AF_BRIDGE: news of a bridge port (see `bridge_port`)


@dataclass(frozen=True)
class NeighMsg:
    """A neighbour entry, or a forwarding entry of a bridge or VXLAN (family AF_BRIDGE)."""

    family: int
    index: int
    state: int
    flags: int
    dst: str | None
    mac: str


@dataclass(frozen=True)
class AddrMsg:
    """An address of a link."""

    family: int
    prefixlen: int
    index: int
    address: str | None
    permanent: bool = field(default=True, compare=False)  # False: a lifetime runs out (a DHCP lease's, SLAAC's)


@dataclass(frozen=True)
class RouteMsg:
    """A route, of any table."""

    family: int
    dst: str | None
    dst_len: int
    table: int
    protocol: int
    oif: int  # a multipath route's: its first hop's
    gateway: str | None
    type: int = RTN_UNICAST  # RTN_LOCAL, RTN_BROADCAST, ...


def link_index(body: memoryview) -> int:
    """The index of the link a link message tells of, without parsing the rest."""
    index: int = IFINFOMSG.unpack_from(body)[2]
    return index


LINK_ATTRS = frozenset({IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_LINK, IFLA_MASTER, IFLA_LINKINFO, IFLA_IFALIAS,
                        IFLA_AF_SPEC, IFLA_GROUP, IFLA_LINK_NETNSID})  # what parse_link reads
PORT_ATTRS = frozenset({IFLA_BRPORT_ISOLATED, IFLA_BRPORT_MODE, IFLA_BRPORT_LEARNING})  # of a bridge port's forty


def parse_link(m: memoryview) -> LinkMsg:
    return LinkMsg(*link_fields(m))


LinkFields = tuple[int, int, str, str, int, str, int, str, int, int, bool, bool, bool, bool, int, int, int, int, int,
                   int, str | None, int, int]  # a LinkMsg's fields, in order


def link_fields(m: memoryview) -> LinkFields:
    """A link message's LinkMsg fields in their order: for a reader that makes something else of them
    (observe's Link) without a LinkMsg between."""
    family, _, index, flags, _ = IFINFOMSG.unpack_from(m)
    a = some_attrs(m, LINK_ATTRS, IFINFOMSG.size)
    info = attrs(a[IFLA_LINKINFO]) if IFLA_LINKINFO in a else {}
    slave = some_attrs(info[IFLA_INFO_SLAVE_DATA], PORT_ATTRS) if IFLA_INFO_SLAVE_DATA in info else {}
    kind = _text(info.get(IFLA_INFO_KIND))
    # The data of the kinds whose fields are read only (a bridge's forty attributes are not).
    data = attrs(info[IFLA_INFO_DATA]) if kind in _DATA_KINDS and IFLA_INFO_DATA in info else {}
    vni, port, local, lower = _vxlan(data) if kind == "vxlan" else _NOT_VXLAN
    get = a.get
    return (  # LinkMsg's fields' order
        index, flags, _text(get(IFLA_IFNAME)), kind, _u32(get(IFLA_GROUP)), _text(get(IFLA_IFALIAS)),
        _u32(get(IFLA_MTU)), _mac(get(IFLA_ADDRESS)), _u32(get(IFLA_MASTER)), _u32(get(IFLA_LINK)),
        _flag(slave.get(IFLA_BRPORT_ISOLATED)), _ipv6_enabled(get(IFLA_AF_SPEC)),
        _flag(slave.get(IFLA_BRPORT_MODE)), _flag(slave.get(IFLA_BRPORT_LEARNING)),
        s32(a[IFLA_LINK_NETNSID]) if IFLA_LINK_NETNSID in a else -1,
        _mode(kind, data), _u16(data.get(IFLA_IPVLAN_FLAGS)) if kind == "ipvlan" else 0,
        _u16(data.get(IFLA_VLAN_ID)) if kind == "vlan" else 0, vni, port, local, lower, family,
    )


_DATA_KINDS = frozenset({"vxlan", "macvlan", "ipvlan", "vlan"})


def _mode(kind: str, data: dict[int, memoryview]) -> int:
    """The mode of a macvlan or ipvlan, else 0."""
    if kind == "macvlan":
        return _u32(data.get(IFLA_MACVLAN_MODE))
    if kind == "ipvlan":
        return _u16(data.get(IFLA_IPVLAN_MODE))
    return 0


_NOT_VXLAN: tuple[int, int, str | None, int] = (0, 0, None, 0)


def _vxlan(data: dict[int, memoryview]) -> tuple[int, int, str | None, int]:
    """A vxlan's VNI, UDP port, local VTEP address and underlay link's index."""
    port = data.get(IFLA_VXLAN_PORT)
    local = data.get(IFLA_VXLAN_LOCAL, data.get(IFLA_VXLAN_LOCAL6))
    return (_u32(data.get(IFLA_VXLAN_ID)), int(struct.unpack_from("!H", port)[0]) if port is not None else 0,
            ip_text(local), _u32(data.get(IFLA_VXLAN_LINK)))


def bridge_port(m: memoryview) -> tuple[bool | None, bool | None]:
    """Whether a bridge port is isolated, and whether its bridge learns on it, as an AF_BRIDGE link
    message tells (None: it does not say)."""
    port = attrs(attrs(m, IFINFOMSG.size).get(IFLA_PROTINFO, b""))
    return _told(port.get(IFLA_BRPORT_ISOLATED)), _told(port.get(IFLA_BRPORT_LEARNING))


def _told(value: memoryview | None) -> bool | None:
    return None if value is None else _flag(value)


ADDRESS_ATTRS = frozenset({IFA_ADDRESS, IFA_LOCAL, IFA_FLAGS})  # what parse_address reads


def parse_address(m: memoryview) -> AddrMsg:
    family, prefixlen, flags, _, index = IFADDRMSG.unpack_from(m)
    a = some_attrs(m, ADDRESS_ATTRS, IFADDRMSG.size)
    flags = _u32(a.get(IFA_FLAGS), flags)
    return AddrMsg(family, prefixlen, index, ip_text(a.get(IFA_LOCAL, a.get(IFA_ADDRESS))), bool(flags & IFA_F_PERMANENT))


def route_protocol(m: memoryview) -> int:
    """The protocol (who made it) of the route a route message tells of, without parsing the rest."""
    protocol: int = RTMSG.unpack_from(m)[5]
    return protocol


def parse_route(m: memoryview) -> RouteMsg:
    family, dst_len, _, _, table, protocol, _, kind, _ = RTMSG.unpack_from(m)
    a = attrs(m, RTMSG.size)
    return RouteMsg(family, ip_text(a.get(RTA_DST)), dst_len, _u32(a.get(RTA_TABLE), table), protocol, _oif(a),
                    ip_text(a.get(RTA_GATEWAY)), kind)


def _oif(a: dict[int, memoryview]) -> int:
    """A route's output link; for a multipath route (no RTA_OIF), its first hop's."""
    hops = a.get(RTA_MULTIPATH)
    if RTA_OIF not in a and hops is not None and len(hops) >= RTNEXTHOP.size:
        return int(RTNEXTHOP.unpack_from(hops)[3])
    return _u32(a.get(RTA_OIF))


def parse_neighbour(m: memoryview) -> NeighMsg:
    family, index, state, flags, _ = NDMSG.unpack_from(m)
    a = attrs(m, NDMSG.size)
    return NeighMsg(family, index, state, flags, ip_text(a.get(NDA_DST)), _mac(a.get(NDA_LLADDR)))


def parse_nsid(m: memoryview) -> int:
    """The nsid an RTM_NEWNSID reply gives (-1: none)."""
    value = attrs(m, RTGENMSG.size).get(NETNSA_NSID)
    return s32(value) if value is not None else -1


def _ipv6_enabled(af_spec: memoryview | None) -> bool:
    inet6 = _first(af_spec, socket.AF_INET6) if af_spec is not None else None
    conf = _first(inet6, IFLA_INET6_CONF) if inet6 is not None else None
    if conf is None or len(conf) < 4 * (DEVCONF_DISABLE_IPV6 + 1):
        return False
    return int(_S32(conf, 4 * DEVCONF_DISABLE_IPV6)[0]) == 0


def _first(view: memoryview, wanted: int) -> memoryview | None:
    """The first attribute of type `wanted` (nested flag dropped), or None."""
    unpack, offset, end = NLA.unpack_from, 0, len(view) - 4
    while offset <= end:
        length, kind = unpack(view, offset)
        if length < 4:
            return None
        if kind & NLA_TYPE_MASK == wanted:
            return view[offset + 4: offset + length]
        offset += (length + 3) & ~3
    return None
