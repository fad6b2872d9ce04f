"""Our rtnetlink client: one NETLINK_ROUTE socket, its dumps and requests (links, addresses, routes,
neighbours, bridge ports, namespace ids), and a listener for the kernel's multicast news: every
kernel request netreconcile makes, except namespaces, sysctls and nftables. The wire format, and
every constant, is reconciler/kernel/rtnl.py's."""

from __future__ import annotations

import errno
import os
import socket
import threading
from collections.abc import Iterator
from ipaddress import ip_address, ip_network
from typing import Protocol

from reconciler.errors import KernelError
from reconciler.kernel import linkreq, names, rtnl
from reconciler.kernel.rtnl import AddrMsg, LinkMsg, NeighMsg, RouteMsg

GROUPS = (rtnl.RTMGRP_LINK | rtnl.RTMGRP_IPV4_IFADDR | rtnl.RTMGRP_IPV6_IFADDR
          | rtnl.RTMGRP_IPV4_ROUTE | rtnl.RTMGRP_IPV6_ROUTE)
LISTEN_BUFFER = 8 << 20
IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS = 29, 1 << 3
# Without the links' IPv6 counters (parse_link reads none), which the kernel sums over every CPU for each
# link in each dump: a namespace's link dump then takes about half the time, and is a fifth shorter.
EVERY_LINK = rtnl.IFINFOMSG.pack(rtnl.AF_UNSPEC, 0, 0, 0, 0) + rtnl.nla_u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS)
EVERY_ADDRESS = rtnl.IFADDRMSG.pack(rtnl.AF_UNSPEC, 0, 0, 0, 0)


class NetlinkSocket(Protocol):
    """What the client needs of its socket (a test may give a fake one)."""

    def send(self, data: bytes, /) -> int: ...
    def recv_into(self, buffer: bytearray, /) -> int: ...
    def close(self) -> None: ...


def _route_socket() -> socket.socket:
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, rtnl.NETLINK_ROUTE)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    try:  # dump requests are checked strictly, and may filter (routes by table and protocol)
        sock.setsockopt(rtnl.SOL_NETLINK, rtnl.NETLINK_GET_STRICT_CHK, 1)
    except OSError:
        pass
    sock.bind((0, 0))
    return sock


RECEIVE_SIZE = 1 << 20  # a dump's part is at most 32 KiB, a single huge link (many VFs) may be larger
_receiving = threading.local()


def _raise_error(reply: memoryview) -> None:
    """An NLMSG_ERROR reply carrying an error, raised (an ACK, code 0, passes)."""
    code = rtnl.error_code(reply)
    if code:
        raise KernelError(code, os.strerror(code))


def _receive(sock: NetlinkSocket) -> bytes:
    """One datagram, read into this thread's buffer and copied out: recv() would allocate and shrink
    a 1 MiB buffer per call, 40 us of a dump of two links (a third of observing a namespace)."""
    buffer = getattr(_receiving, "buffer", None)
    if buffer is None:
        buffer = _receiving.buffer = bytearray(RECEIVE_SIZE)
    return memoryview(buffer)[:sock.recv_into(buffer)].tobytes()


def _dump_end(data: bytes, msg_type: int) -> tuple[int, bool]:
    """How much of `data` is the dump's messages, and whether its NLMSG_DONE came (what follows a
    broken header is dropped, as rtnl.messages does); KernelError for an error."""
    offset, unpack = 0, rtnl.NLMSGHDR.unpack_from
    while offset + rtnl.NLMSGHDR.size <= len(data):
        length, kind, _, _, _ = unpack(data, offset)
        if length < rtnl.NLMSGHDR.size:
            break
        if kind == rtnl.NLMSG_DONE:
            return offset, True
        if kind == rtnl.NLMSG_ERROR:
            code = rtnl.error_code(memoryview(data)[offset + rtnl.NLMSGHDR.size:offset + length])
            if code:
                raise KernelError(code, f"netlink dump failed (type {msg_type}): {os.strerror(code)}")
            return offset, True
        offset += rtnl.align(length)
    return offset, False


class RtnlClient:
    """One NETLINK_ROUTE socket, opened in the namespace current at creation (or the one given)."""

    def __init__(self, sock: NetlinkSocket | None = None) -> None:
        self.sock: NetlinkSocket = sock if sock is not None else _route_socket()
        self.seq = 0

    def close(self) -> None:
        self.sock.close()

    def dump(self, msg_type: int, body: bytes) -> Iterator[memoryview]:
        """The messages a dump request is answered with."""
        self._send(msg_type, body, rtnl.NLM_F_DUMP)
        while True:
            for kind, reply in rtnl.messages(_receive(self.sock)):
                if kind == rtnl.NLMSG_DONE:
                    return
                if kind == rtnl.NLMSG_ERROR:
                    code = rtnl.error_code(reply)
                    if code:
                        raise KernelError(code, f"netlink dump failed (type {msg_type}): {os.strerror(code)}")
                    return
                yield reply

    def dump_bytes(self, msg_type: int, body: bytes) -> bytes:
        """The messages a dump request is answered with, as the kernel sent them, in one piece (for
        rtnl.messages): for a process that only passes them on (kernel/nsread.py's child), which then
        spends nothing on splitting them (a third of its time per namespace)."""
        self._send(msg_type, body, rtnl.NLM_F_DUMP)
        parts: list[bytes] = []
        done = False
        while not done:
            data = _receive(self.sock)
            end, done = _dump_end(data, msg_type)
            parts.append(data if end == len(data) else data[:end])
        return b"".join(parts)

    def _request(self, msg_type: int, body: bytes, flags: int = rtnl.NLM_F_ACK) -> memoryview | None:
        """Send one request; return the reply message (a GET) or None (an ACK); raise OSError on error."""
        self._send(msg_type, body, flags)
        kind, reply = next(rtnl.messages(_receive(self.sock)))
        if kind == rtnl.NLMSG_ERROR:
            _raise_error(reply)
            return None
        return reply

    def _echoed(self, msg_type: int, body: bytes, flags: int) -> memoryview | None:
        """Send one request asking for its echo (NLM_F_ECHO); return the object as the kernel made it
        (None where the kernel sends no echo: before Linux 6.3 for links); raise OSError on error."""
        self._send(msg_type, body, rtnl.NLM_F_ECHO | flags)
        echo: memoryview | None = None
        while True:
            for kind, reply in rtnl.messages(_receive(self.sock)):
                if kind == rtnl.NLMSG_ERROR:
                    _raise_error(reply)
                    return echo
                if kind == msg_type and echo is None:
                    echo = reply

    def _send(self, msg_type: int, body: bytes, flags: int) -> None:
        self.seq += 1
        self.sock.send(rtnl.header(len(body), msg_type, rtnl.NLM_F_REQUEST | flags, self.seq) + body)

    def _get(self, msg_type: int, body: bytes) -> memoryview:
        """The reply to a GET request."""
        reply = self._request(msg_type, body, 0)
        if reply is None:
            raise KernelError(errno.EPROTO, f"no answer to request type {msg_type}")
        return reply

    def link_index(self, name: str) -> int:
        """The ifindex of the link named `name` (ENODEV as OSError when there is none)."""
        body = rtnl.IFINFOMSG.pack(rtnl.AF_UNSPEC, 0, 0, 0, 0) + rtnl.nla_str(rtnl.IFLA_IFNAME, name)
        index: int = rtnl.IFINFOMSG.unpack_from(self._get(rtnl.RTM_GETLINK, body))[2]
        return index

    def get_link(self, index: int) -> LinkMsg:
        """The link of that index (ENODEV as OSError when there is none)."""
        return rtnl.parse_link(self._get(rtnl.RTM_GETLINK, rtnl.IFINFOMSG.pack(rtnl.AF_UNSPEC, 0, index, 0, 0)))

    def nsid(self, fd: int) -> int:
        """The id this namespace gives the namespace `fd` refers to (-1: none yet)."""
        body = rtnl.RTGENMSG.pack(rtnl.AF_UNSPEC) + rtnl.nla_u32(rtnl.NETNSA_FD, fd)
        return rtnl.parse_nsid(self._get(rtnl.RTM_GETNSID, body))

    def set_link(self, index: int, *, up: bool | None = None, group: int | None = None, alias: str | None = None,
                 mtu: int | None = None, mac: str | None = None, master: int | None = None,
                 name: str | None = None) -> None:
        """Change some attributes of a link in one request (RTM_NEWLINK on an existing index)."""
        flags, change = (rtnl.IFF_UP if up else 0, rtnl.IFF_UP) if up is not None else (0, 0)
        body = rtnl.IFINFOMSG.pack(rtnl.AF_UNSPEC, 0, index, flags, change)
        if name is not None:
            body += rtnl.nla_str(rtnl.IFLA_IFNAME, name)
        if group is not None:
            body += rtnl.nla_u32(rtnl.IFLA_GROUP, group)
        if alias is not None:
            body += rtnl.nla(rtnl.IFLA_IFALIAS, names.encode(alias))
        body += linkreq.optional_link_attrs(mtu, mac, master=master)
        self._request(rtnl.RTM_NEWLINK, body)

    def new_link(self, name: str, kind: str, *, group: int, link: int | None = None, mtu: int | None = None,
                 mac: str | None = None, netns_fd: int | None = None, master: int | None = None,
                 data: bytes = b"") -> LinkMsg | None:
        """Create a link in one request (EEXIST as OSError when the name is taken). `link` is the parent's
        index here; with `netns_fd` the link is born in that namespace. `data`: its IFLA_INFO_DATA.
        Returns the link as made (its index: no request to ask for it), None where the kernel does not
        echo it (before Linux 6.3, or born in another namespace)."""
        body = rtnl.IFINFOMSG.pack(rtnl.AF_UNSPEC, 0, 0, 0, 0) + linkreq.link_attrs(name, group, mtu, mac, netns_fd)
        if link is not None:
            body += rtnl.nla_u32(rtnl.IFLA_LINK, link)
        body += linkreq.optional_link_attrs(master=master)
        info = rtnl.nla_str(rtnl.IFLA_INFO_KIND, kind) + (rtnl.nla(rtnl.IFLA_INFO_DATA, data) if data else b"")
        body += rtnl.nla(rtnl.IFLA_LINKINFO, info)
        flags = rtnl.NLM_F_ACK | rtnl.NLM_F_CREATE | rtnl.NLM_F_EXCL
        if netns_fd is not None:  # its echo is sent from that namespace to our port id there: another socket's
            self._request(rtnl.RTM_NEWLINK, body, flags)
            return None
        echo = self._echoed(rtnl.RTM_NEWLINK, body, flags)
        return rtnl.parse_link(echo) if echo is not None else None

    def del_link(self, index: int) -> None:
        self._request(rtnl.RTM_DELLINK, rtnl.IFINFOMSG.pack(rtnl.AF_UNSPEC, 0, index, 0, 0))

    def address(self, index: int, address: str, prefixlen: int, *, flags: int = 0, delete: bool = False,
                lifetime: tuple[int, int] | None = None) -> None:
        """Add (EEXIST when present) or delete an address; IPv4 ones as `ip address add` makes them
        (IFA_LOCAL and IFA_ADDRESS, no broadcast). `lifetime` (valid, preferred seconds): added or
        its lifetimes replaced, and the kernel removes it when the valid one runs out (a DHCP lease)."""
        ip = ip_address(address)
        family = socket.AF_INET if ip.version == 4 else socket.AF_INET6
        body = rtnl.IFADDRMSG.pack(family, prefixlen, flags, 0, index) + rtnl.nla(rtnl.IFA_ADDRESS, ip.packed)
        if ip.version == 4:
            body += rtnl.nla(rtnl.IFA_LOCAL, ip.packed)
        if delete:
            self._request(rtnl.RTM_DELADDR, body)
        elif lifetime is not None:
            valid, preferred = lifetime
            body += rtnl.nla(rtnl.IFA_CACHEINFO, rtnl.IFA_CACHEINFO_STRUCT.pack(preferred, valid, 0, 0))
            self._request(rtnl.RTM_NEWADDR, body, rtnl.NLM_F_ACK | rtnl.NLM_F_CREATE | rtnl.NLM_F_REPLACE)
        else:
            self._request(rtnl.RTM_NEWADDR, body, rtnl.NLM_F_ACK | rtnl.NLM_F_CREATE | rtnl.NLM_F_EXCL)

    def route(self, dst: str, gateway: str | None, *, table: int, protocol: int, scope: int, oif: int | None = None,
              delete: bool = False) -> None:
        """Replace (create or update) or delete a unicast route to `dst` (a CIDR) in `table`."""
        network = ip_network(dst)
        family = socket.AF_INET if network.version == 4 else socket.AF_INET6
        body = rtnl.RTMSG.pack(family, network.prefixlen, 0, 0, table, protocol, scope, rtnl.RTN_UNICAST, 0)
        if network.prefixlen:
            body += rtnl.nla(rtnl.RTA_DST, network.network_address.packed)
        if gateway:
            body += rtnl.nla(rtnl.RTA_GATEWAY, ip_address(gateway).packed)
        if oif is not None:
            body += rtnl.nla_u32(rtnl.RTA_OIF, oif)
        if delete:
            self._request(rtnl.RTM_DELROUTE, body)
        else:
            self._request(rtnl.RTM_NEWROUTE, body, rtnl.NLM_F_ACK | rtnl.NLM_F_CREATE | rtnl.NLM_F_REPLACE)

    def set_neigh(self, family: int, index: int, mac: str, dst: str, *, delete: bool = False) -> None:
        """Add (or delete) a permanent entry: an ARP/NDP entry, or with AF_BRIDGE a VXLAN forwarding entry
        (appended: the all-zero MAC has one per remote VTEP)."""
        flags = rtnl.NTF_SELF if family == rtnl.AF_BRIDGE else 0
        body = rtnl.NDMSG.pack(family, index, rtnl.NUD_PERMANENT, flags, 0)
        body += rtnl.nla(rtnl.NDA_DST, ip_address(dst).packed) + rtnl.nla(rtnl.NDA_LLADDR, rtnl.mac_bytes(mac))
        if delete:
            self._request(rtnl.RTM_DELNEIGH, body)
        else:
            extra = rtnl.NLM_F_APPEND if family == rtnl.AF_BRIDGE else rtnl.NLM_F_REPLACE
            self._request(rtnl.RTM_NEWNEIGH, body, rtnl.NLM_F_ACK | rtnl.NLM_F_CREATE | extra)

    def set_bridge_port(self, index: int, *, isolated: bool | None = None, hairpin: bool | None = None,
                        learning: bool | None = None, flush: bool = False) -> None:
        """Set flags of a bridge port (as `bridge link set dev X isolated on hairpin on learning off`),
        and with `flush` forget what it learned (its static entries stay): a nested rtnl.IFLA_PROTINFO,
        which the bridge takes as a port state when the nested flag is missing."""
        port = b""
        for kind, value in ((rtnl.IFLA_BRPORT_ISOLATED, isolated), (rtnl.IFLA_BRPORT_MODE, hairpin),
                            (rtnl.IFLA_BRPORT_LEARNING, learning)):
            if value is not None:
                port += rtnl.nla(kind, bytes([value]))
        if flush:
            port += rtnl.nla(rtnl.IFLA_BRPORT_FLUSH, b"")
        body = rtnl.IFINFOMSG.pack(rtnl.AF_BRIDGE, 0, index, 0, 0)
        body += rtnl.nla(rtnl.IFLA_PROTINFO | rtnl.NLA_F_NESTED, port)
        self._request(rtnl.RTM_SETLINK, body)

    def set_bridge_fdb(self, index: int, mac: str, *, delete: bool = False) -> None:
        """Add (or delete) a static entry of the bridge that the port `index` belongs to: frames for
        `mac` leave by that port (as `bridge fdb add MAC dev PORT master static`)."""
        body = rtnl.NDMSG.pack(rtnl.AF_BRIDGE, index, rtnl.NUD_NOARP, rtnl.NTF_MASTER, 0)
        body += rtnl.nla(rtnl.NDA_LLADDR, rtnl.mac_bytes(mac))
        if delete:
            self._request(rtnl.RTM_DELNEIGH, body)
        else:
            self._request(rtnl.RTM_NEWNEIGH, body, rtnl.NLM_F_ACK | rtnl.NLM_F_CREATE | rtnl.NLM_F_REPLACE)

    def links(self) -> list[LinkMsg]:
        return [rtnl.parse_link(m) for m in self.dump(rtnl.RTM_GETLINK, EVERY_LINK)]

    def addresses(self) -> list[AddrMsg]:
        return [rtnl.parse_address(m) for m in self.dump(rtnl.RTM_GETADDR, EVERY_ADDRESS)]

    def routes(self, table: int = 0, protocol: int = 0) -> list[RouteMsg]:
        """Routes of both families; with `table` and `protocol` the kernel (4.20 and later, strict
        checking) returns only those: callers filter again, older kernels return every route."""
        body = rtnl.RTMSG.pack(rtnl.AF_UNSPEC, 0, 0, 0, table, protocol, 0, 0, 0)
        return [rtnl.parse_route(m) for m in self.dump(rtnl.RTM_GETROUTE, body)]

    def neighbours(self, family: int) -> list[NeighMsg]:
        """Neighbour entries (AF_INET, AF_INET6), or forwarding entries of bridges and VXLANs (AF_BRIDGE)."""
        return [rtnl.parse_neighbour(m) for m in self.dump(rtnl.RTM_GETNEIGH, rtnl.NDMSG.pack(family, 0, 0, 0, 0))]


class RtnlListener:
    """A socket that hears rtnetlink multicast (links, and addresses and routes of both families) from
    this namespace and from every namespace that has an nsid here."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, rtnl.NETLINK_ROUTE)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, rtnl.SO_RCVBUFFORCE, LISTEN_BUFFER)
        except PermissionError:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, LISTEN_BUFFER)
        self.sock.setsockopt(rtnl.SOL_NETLINK, rtnl.NETLINK_LISTEN_ALL_NSID, 1)
        self.sock.bind((0, GROUPS))

    def fileno(self) -> int:
        return self.sock.fileno()

    def receive(self) -> tuple[int | None, Iterator[tuple[int, memoryview]]]:
        """The next queued batch: the nsid it comes from (None: this namespace) and its (type, body)
        messages. BlockingIOError when none is queued; OSError ENOBUFS when some were lost."""
        data, ancillary, _, _ = self.sock.recvmsg(1 << 17, socket.CMSG_SPACE(4), socket.MSG_DONTWAIT)
        told = (rtnl.s32(d) for level, kind, d in ancillary if (level, kind) == (rtnl.SOL_NETLINK, rtnl.NETLINK_LISTEN_ALL_NSID))
        return next(told, None), rtnl.messages(data)
