"""Our rtnetlink client: link, address, route and neighbour dumps and requests, encoded and parsed
with struct; every kernel request netreconcile makes, except namespaces, sysctls and nftables.
It is on every hot path (each plan observes every namespace; each new endpoint's links are created,
looked up, addressed, routed and brought up through it): README's "Dependencies" says why it is ours."""

from __future__ import annotations

import os
import socket
import struct
from dataclasses import dataclass
from ipaddress import ip_address, ip_network
from typing import Iterator

from reconciler import names

NETLINK_ROUTE = 0
SOL_NETLINK, NETLINK_GET_STRICT_CHK = 270, 12
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 0x1, 0x4, 0x300
NLM_F_REPLACE, NLM_F_EXCL, NLM_F_CREATE, NLM_F_APPEND = 0x100, 0x200, 0x400, 0x800
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK, RTM_SETLINK, RTM_GETADDR, RTM_GETROUTE = 16, 17, 18, 19, 22, 26
RTM_NEWADDR, RTM_DELADDR, RTM_NEWROUTE, RTM_DELROUTE = 20, 21, 24, 25
RTN_UNICAST = 1
VETH_INFO_PEER = 1
RTM_NEWNEIGH, RTM_DELNEIGH, RTM_GETNEIGH = 28, 29, 30
IFF_UP = 0x1
NLA_TYPE_MASK = 0x3FFF
NLA_F_NESTED = 0x8000

# attribute numbers from linux/if_link.h, if_addr.h, rtnetlink.h
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
AF_BRIDGE = 7
IFLA_BRPORT_MODE, IFLA_BRPORT_LEARNING, IFLA_BRPORT_FLUSH, IFLA_BRPORT_ISOLATED = 4, 8, 24, 33
IFLA_INET6_CONF = 2
DEVCONF_DISABLE_IPV6 = 26
IFA_ADDRESS, IFA_LOCAL = 1, 2
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_MULTIPATH, RTA_TABLE = 1, 4, 5, 9, 15

NLMSGHDR = struct.Struct("=IHHII")
IFINFOMSG = struct.Struct("=BxHiII")
IFADDRMSG = struct.Struct("=BBBBI")
RTMSG = struct.Struct("=BBBBBBBBI")
NLA = struct.Struct("=HH")
NDMSG = struct.Struct("=BxxxiHBB")  # family, ifindex, state, flags, type
RTNEXTHOP = struct.Struct("=HBBi")  # length, flags, hops, ifindex


class KernelError(OSError):
    """The kernel refused a request (errno, its text)."""


def align(n: int) -> int:
    return (n + 3) & ~3


def _nla(kind: int, payload: bytes) -> bytes:
    return NLA.pack(NLA.size + len(payload), kind) + payload + b"\0" * (align(len(payload)) - len(payload))


def _nla_str(kind: int, text: str) -> bytes:
    return _nla(kind, names.encode(text) + b"\0")


def _nla_u32(kind: int, value: int) -> bytes:
    return _nla(kind, struct.pack("=I", value))


def _nla_mac(mac: str) -> bytes:
    return _nla(IFLA_ADDRESS, bytes.fromhex(mac.replace(":", "")))


def attrs(data: bytes | memoryview, offset: int = 0) -> dict[int, memoryview]:
    """Netlink attributes from `offset` on, by type (nested flag dropped)."""
    view = memoryview(data)
    out: dict[int, memoryview] = {}
    while offset + 4 <= len(view):
        length, kind = NLA.unpack_from(view, offset)
        if length < 4:
            break
        out[kind & NLA_TYPE_MASK] = view[offset + 4: offset + length]
        offset += align(length)
    return out


def _text(value: memoryview | None) -> str:
    return names.decode(bytes(value).split(b"\0", 1)[0]) if value is not None else ""


def _u32(value: memoryview | None, default: int = 0) -> int:
    return struct.unpack_from("=I", value)[0] if value is not None else default


def _mac(value: memoryview | None) -> str:
    return ":".join(f"{b:02x}" for b in bytes(value)) if value is not None else ""


def ip_text(family: int, value: memoryview | None) -> str | None:
    return str(ip_address(bytes(value))) if value is not None else None


@dataclass(frozen=True)
class LinkMsg:
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
    mode: int = 0           # macvlan/ipvlan mode, vlan id, vxlan VNI
    flag: int = 0           # ipvlan flags, vxlan UDP port
    local: str | None = None  # vxlan: the local VTEP address
    lower: int = 0          # vxlan: the underlay link's index


@dataclass(frozen=True)
class NeighMsg:
    family: int
    index: int
    state: int
    flags: int
    dst: str | None
    mac: str


@dataclass(frozen=True)
class AddrMsg:
    family: int
    prefixlen: int
    index: int
    address: str


@dataclass(frozen=True)
class RouteMsg:
    family: int
    dst: str | None
    dst_len: int
    table: int
    protocol: int
    oif: int  # a multipath route's: its first hop's
    gateway: str | None
    type: int = RTN_UNICAST  # RTN_LOCAL, RTN_BROADCAST, ...


class Dumper:
    """One NETLINK_ROUTE socket, opened in the namespace current at creation."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        try:  # dump requests are checked strictly, and may filter (routes by table and protocol)
            self.sock.setsockopt(SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1)
        except OSError:
            pass
        self.sock.bind((0, 0))
        self.seq = 0

    def close(self) -> None:
        self.sock.close()

    def dump(self, msg_type: int, body: bytes) -> Iterator[memoryview]:
        self.seq += 1
        header = NLMSGHDR.pack(NLMSGHDR.size + len(body), msg_type, NLM_F_REQUEST | NLM_F_DUMP, self.seq, 0)
        self.sock.send(header + body)
        while True:
            data = memoryview(self.sock.recv(1 << 20))
            offset = 0
            while offset + NLMSGHDR.size <= len(data):
                length, kind, _, seq, _ = NLMSGHDR.unpack_from(data, offset)
                if kind == NLMSG_DONE:
                    return
                if kind == NLMSG_ERROR:
                    code = -struct.unpack_from("=i", data, offset + NLMSGHDR.size)[0]
                    if code:
                        raise KernelError(code, f"netlink dump failed (type {msg_type}): {os.strerror(code)}")
                    return
                yield data[offset + NLMSGHDR.size: offset + length]
                offset += align(length)

    def _request(self, msg_type: int, body: bytes, flags: int = NLM_F_ACK) -> memoryview | None:
        """Send one request; return the reply message (a GET) or None (an ACK); raise OSError on error."""
        self.seq += 1
        self.sock.send(NLMSGHDR.pack(NLMSGHDR.size + len(body), msg_type, NLM_F_REQUEST | flags, self.seq, 0) + body)
        data = memoryview(self.sock.recv(1 << 16))
        length, kind, _, _, _ = NLMSGHDR.unpack_from(data, 0)
        if kind == NLMSG_ERROR:
            code = -struct.unpack_from("=i", data, NLMSGHDR.size)[0]
            if code:
                raise KernelError(code, os.strerror(code))
            return None
        return data[NLMSGHDR.size:length]

    def link_index(self, name: str) -> int:
        """The ifindex of the link named `name` (ENODEV as OSError when there is none)."""
        reply = self._request(RTM_GETLINK, IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0) + _nla_str(IFLA_IFNAME, name), 0)
        return IFINFOMSG.unpack_from(reply)[2]

    def set_link(self, index: int, *, up: bool | None = None, group: int | None = None, alias: str | None = None,
                 mtu: int | None = None, mac: str | None = None, master: int | None = None,
                 name: str | None = None) -> None:
        """Change some attributes of a link in one request (RTM_NEWLINK on an existing index)."""
        flags, change = (IFF_UP if up else 0, IFF_UP) if up is not None else (0, 0)
        body = IFINFOMSG.pack(socket.AF_UNSPEC, 0, index, flags, change)
        if name is not None:
            body += _nla_str(IFLA_IFNAME, name)
        if group is not None:
            body += _nla_u32(IFLA_GROUP, group)
        if alias is not None:
            body += _nla(IFLA_IFALIAS, names.encode(alias))
        body += _optional_link_attrs(mtu, mac, master=master)
        self._request(RTM_NEWLINK, body)

    def new_link(self, name: str, kind: str, *, group: int, link: int | None = None, mtu: int | None = None,
                 mac: str | None = None, netns_fd: int | None = None, master: int | None = None,
                 data: bytes = b"") -> None:
        """Create a link in one request (EEXIST as OSError when the name is taken). `link` is the parent's
        index here; with `netns_fd` the link is born in that namespace. `data`: its IFLA_INFO_DATA."""
        body = IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0) + link_attrs(name, group, mtu, mac, netns_fd)
        if link is not None:
            body += _nla_u32(IFLA_LINK, link)
        body += _optional_link_attrs(master=master)
        info = _nla_str(IFLA_INFO_KIND, kind) + (_nla(IFLA_INFO_DATA, data) if data else b"")
        self._request(RTM_NEWLINK, body + _nla(IFLA_LINKINFO, info), NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL)

    def address(self, index: int, address: str, prefixlen: int, *, flags: int = 0, delete: bool = False) -> None:
        """Add (EEXIST when present) or delete an address; IPv4 ones as `ip address add` makes them
        (IFA_LOCAL and IFA_ADDRESS, no broadcast)."""
        ip = ip_address(address)
        family = socket.AF_INET if ip.version == 4 else socket.AF_INET6
        body = IFADDRMSG.pack(family, prefixlen, flags, 0, index) + _nla(IFA_ADDRESS, ip.packed)
        if ip.version == 4:
            body += _nla(IFA_LOCAL, ip.packed)
        if delete:
            self._request(RTM_DELADDR, body)
        else:
            self._request(RTM_NEWADDR, body, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL)

    def route(self, dst: str, gateway: str | None, *, table: int, protocol: int, scope: int, oif: int | None = None,
              delete: bool = False) -> None:
        """Replace (create or update) or delete a unicast route to `dst` (a CIDR) in `table`."""
        network = ip_network(dst)
        family = socket.AF_INET if network.version == 4 else socket.AF_INET6
        body = RTMSG.pack(family, network.prefixlen, 0, 0, table, protocol, scope, RTN_UNICAST, 0)
        if network.prefixlen:
            body += _nla(RTA_DST, network.network_address.packed)
        if gateway:
            body += _nla(RTA_GATEWAY, ip_address(gateway).packed)
        if oif is not None:
            body += _nla_u32(RTA_OIF, oif)
        if delete:
            self._request(RTM_DELROUTE, body)
        else:
            self._request(RTM_NEWROUTE, body, NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE)

    def neighbours(self, family: int) -> list[NeighMsg]:
        """Neighbour entries (AF_INET, AF_INET6), or forwarding entries of bridges and VXLANs (AF_BRIDGE)."""
        out = []
        for m in self.dump(RTM_GETNEIGH, NDMSG.pack(family, 0, 0, 0, 0)):
            fam, index, state, flags, _ = NDMSG.unpack_from(m)
            a = attrs(m, NDMSG.size)
            out.append(NeighMsg(fam, index, state, flags, ip_text(fam, a.get(NDA_DST)), _mac(a.get(NDA_LLADDR))))
        return out

    def set_neigh(self, family: int, index: int, mac: str, dst: str, *, delete: bool = False) -> None:
        """Add (or delete) a permanent entry: an ARP/NDP entry, or with AF_BRIDGE a VXLAN forwarding entry
        (appended: the all-zero MAC has one per remote VTEP)."""
        flags = NTF_SELF if family == AF_BRIDGE else 0
        body = NDMSG.pack(family, index, NUD_PERMANENT, flags, 0)
        body += _nla(NDA_DST, ip_address(dst).packed) + _nla(NDA_LLADDR, bytes.fromhex(mac.replace(":", "")))
        if delete:
            self._request(RTM_DELNEIGH, body)
        else:
            extra = NLM_F_APPEND if family == AF_BRIDGE else NLM_F_REPLACE
            self._request(RTM_NEWNEIGH, body, NLM_F_ACK | NLM_F_CREATE | extra)

    def del_link(self, index: int) -> None:
        self._request(RTM_DELLINK, IFINFOMSG.pack(socket.AF_UNSPEC, 0, index, 0, 0))

    def set_bridge_port(self, index: int, *, isolated: bool | None = None, hairpin: bool | None = None,
                        learning: bool | None = None, flush: bool = False) -> None:
        """Set flags of a bridge port (as `bridge link set dev X isolated on hairpin on learning off`),
        and with `flush` forget what it learned (its static entries stay): a nested IFLA_PROTINFO,
        which the bridge takes as a port state when the nested flag is missing."""
        port = b""
        if isolated is not None:
            port += _nla(IFLA_BRPORT_ISOLATED, bytes([isolated]))
        if hairpin is not None:
            port += _nla(IFLA_BRPORT_MODE, bytes([hairpin]))
        if learning is not None:
            port += _nla(IFLA_BRPORT_LEARNING, bytes([learning]))
        if flush:
            port += _nla(IFLA_BRPORT_FLUSH, b"")
        body = IFINFOMSG.pack(AF_BRIDGE, 0, index, 0, 0) + _nla(IFLA_PROTINFO | NLA_F_NESTED, port)
        self._request(RTM_SETLINK, body)

    def set_bridge_fdb(self, index: int, mac: str, *, delete: bool = False) -> None:
        """Add (or delete) a static entry of the bridge that the port `index` belongs to: frames for
        `mac` leave by that port (as `bridge fdb add MAC dev PORT master static`)."""
        body = NDMSG.pack(AF_BRIDGE, index, NUD_NOARP, NTF_MASTER, 0) + _nla(NDA_LLADDR, bytes.fromhex(mac.replace(":", "")))
        if delete:
            self._request(RTM_DELNEIGH, body)
        else:
            self._request(RTM_NEWNEIGH, body, NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE)

    def links(self) -> list[LinkMsg]:
        return [parse_link(m) for m in self.dump(RTM_GETLINK, IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0))]

    def addresses(self) -> list[AddrMsg]:
        out = []
        for m in self.dump(RTM_GETADDR, IFADDRMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0)):
            family, prefixlen, _, _, index = IFADDRMSG.unpack_from(m)
            a = attrs(m, IFADDRMSG.size)
            out.append(AddrMsg(family, prefixlen, index, ip_text(family, a.get(IFA_LOCAL, a.get(IFA_ADDRESS)))))
        return out

    def routes(self, table: int = 0, protocol: int = 0) -> list[RouteMsg]:
        """Routes of both families; with `table` and `protocol` the kernel (4.20 and later, strict
        checking) returns only those: callers filter again, older kernels return every route."""
        out = []
        for m in self.dump(RTM_GETROUTE, RTMSG.pack(socket.AF_UNSPEC, 0, 0, 0, table, protocol, 0, 0, 0)):
            family, dst_len, _, _, table, protocol, _, kind, _ = RTMSG.unpack_from(m)
            a = attrs(m, RTMSG.size)
            out.append(RouteMsg(family, ip_text(family, a.get(RTA_DST)), dst_len, _u32(a.get(RTA_TABLE), table),
                                protocol, _oif(a), ip_text(family, a.get(RTA_GATEWAY)), kind))
        return out


def _oif(a: dict[int, memoryview]) -> int:
    """A route's output link; for a multipath route (no RTA_OIF), its first hop's."""
    hops = a.get(RTA_MULTIPATH)
    if RTA_OIF not in a and hops is not None and len(hops) >= RTNEXTHOP.size:
        return RTNEXTHOP.unpack_from(hops)[3]
    return _u32(a.get(RTA_OIF))


def parse_link(m: memoryview) -> LinkMsg:
    _, _, index, flags, _ = IFINFOMSG.unpack_from(m)
    a = attrs(m, IFINFOMSG.size)
    info = attrs(a[IFLA_LINKINFO]) if IFLA_LINKINFO in a else {}
    slave = attrs(info[IFLA_INFO_SLAVE_DATA]) if IFLA_INFO_SLAVE_DATA in info else {}
    isolated = IFLA_BRPORT_ISOLATED in slave and bytes(slave[IFLA_BRPORT_ISOLATED])[:1] == b"\1"
    kind = _text(info.get(IFLA_INFO_KIND))
    data = attrs(info[IFLA_INFO_DATA]) if IFLA_INFO_DATA in info else {}
    mode, flag = _mode(kind, data)
    local = data.get(IFLA_VXLAN_LOCAL, data.get(IFLA_VXLAN_LOCAL6)) if kind == "vxlan" else None
    return LinkMsg(
        index=index, flags=flags, name=_text(a.get(IFLA_IFNAME)), kind=kind,
        group=_u32(a.get(IFLA_GROUP)), alias=_text(a.get(IFLA_IFALIAS)), mtu=_u32(a.get(IFLA_MTU)),
        mac=_mac(a.get(IFLA_ADDRESS)), master=_u32(a.get(IFLA_MASTER)), link=_u32(a.get(IFLA_LINK)),
        isolated=isolated, ipv6=_ipv6_enabled(a.get(IFLA_AF_SPEC)),
        hairpin=IFLA_BRPORT_MODE in slave and bytes(slave[IFLA_BRPORT_MODE])[:1] == b"\1",
        learning=IFLA_BRPORT_LEARNING in slave and bytes(slave[IFLA_BRPORT_LEARNING])[:1] == b"\1",
        link_netnsid=struct.unpack_from("=i", a[IFLA_LINK_NETNSID])[0] if IFLA_LINK_NETNSID in a else -1,
        mode=mode, flag=flag, local=ip_text(0, local), lower=_u32(data.get(IFLA_VXLAN_LINK)) if kind == "vxlan" else 0,
    )


def _mode(kind: str, data: dict[int, memoryview]) -> tuple[int, int]:
    """(mode, flags) of a macvlan or ipvlan, (id, 0) of a vlan, else (0, 0)."""
    if kind == "macvlan":
        return _u32(data.get(IFLA_MACVLAN_MODE)), 0
    if kind == "ipvlan":
        return _u16(data.get(IFLA_IPVLAN_MODE)), _u16(data.get(IFLA_IPVLAN_FLAGS))
    if kind == "vlan":
        return _u16(data.get(IFLA_VLAN_ID)), 0
    if kind == "vxlan":
        port = data.get(IFLA_VXLAN_PORT)
        return _u32(data.get(IFLA_VXLAN_ID)), struct.unpack_from("!H", port)[0] if port is not None else 0
    return 0, 0


def _u16(value: memoryview | None) -> int:
    return struct.unpack_from("=H", value)[0] if value is not None else 0


def link_attrs(name: str, group: int, mtu: int | None = None, mac: str | None = None, netns_fd: int | None = None) -> bytes:
    """A new link's name, group (our mark), MTU, MAC and namespace, as attributes."""
    return _nla_str(IFLA_IFNAME, name) + _nla_u32(IFLA_GROUP, group) + _optional_link_attrs(mtu, mac, netns_fd)


def _optional_link_attrs(mtu: int | None = None, mac: str | None = None, netns_fd: int | None = None,
                         master: int | None = None) -> bytes:
    """The attributes of those given (not None)."""
    body = b""
    for kind, value in ((IFLA_MTU, mtu), (IFLA_NET_NS_FD, netns_fd), (IFLA_MASTER, master)):
        if value is not None:
            body += _nla_u32(kind, value)
    return body + (_nla_mac(mac) if mac is not None else b"")


def veth_data(peer: str, group: int, mtu: int | None = None, mac: str | None = None, netns_fd: int | None = None) -> bytes:
    """A veth's IFLA_INFO_DATA: its peer, born with these attributes (in the namespace of `netns_fd`)."""
    return _nla(VETH_INFO_PEER, IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0) + link_attrs(peer, group, mtu, mac, netns_fd))


def macvlan_data(mode: int) -> bytes:
    return _nla_u32(IFLA_MACVLAN_MODE, mode)


def ipvlan_data(mode: int, flag: int) -> bytes:
    return _nla(IFLA_IPVLAN_MODE, struct.pack("=H", mode)) + _nla(IFLA_IPVLAN_FLAGS, struct.pack("=H", flag))


def vxlan_data(vni: int, port: int, local: str | None, link: int | None) -> bytes:
    """No learning, ARP/NDP answered from the neighbour table (proxy), the given VNI, port and VTEP."""
    data = _nla_u32(IFLA_VXLAN_ID, vni) + _nla(IFLA_VXLAN_PORT, struct.pack("!H", port))
    if local is not None:
        address = ip_address(local)
        data += _nla(IFLA_VXLAN_LOCAL if address.version == 4 else IFLA_VXLAN_LOCAL6, address.packed)
    data += _nla(IFLA_VXLAN_LEARNING, b"\0") + _nla(IFLA_VXLAN_PROXY, b"\1")
    if link is not None:
        data += _nla_u32(IFLA_VXLAN_LINK, link)
    return data


def vlan_data(vlan_id: int) -> bytes:
    return _nla(IFLA_VLAN_ID, struct.pack("=H", vlan_id))


def _ipv6_enabled(af_spec: memoryview | None) -> bool:
    inet6 = attrs(af_spec).get(socket.AF_INET6) if af_spec is not None else None
    conf = attrs(inet6).get(IFLA_INET6_CONF) if inet6 is not None else None
    if conf is None or len(conf) < 4 * (DEVCONF_DISABLE_IPV6 + 1):
        return False
    return struct.unpack_from("=i", conf, 4 * DEVCONF_DISABLE_IPV6)[0] == 0
