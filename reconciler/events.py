"""Kernel events for the watch: rtnetlink multicast, from the host and from every namespace that has
an nsid here (endpoint namespaces do: their veth peers live in the host), filtered to our objects."""

from __future__ import annotations

import errno
import select
import socket
import sys
import threading
from dataclasses import replace
from ipaddress import ip_address
from typing import Callable

from reconciler.model import OWNER_GROUP, ROUTE_PROTO
from reconciler.names import shown
from reconciler.observe import IFF_UP, LINK_LOCAL_V6
from reconciler.rtnl import (
    IFA_ADDRESS, IFA_LOCAL, IFADDRMSG, IFINFOMSG, IFLA_BRPORT_ISOLATED, IFLA_BRPORT_LEARNING, NLMSGHDR, RTA_DST, RTM_GETLINK,
    RTMSG, Dumper, align, attrs, ip_text, parse_link,
)

RTMGRP_LINK, RTMGRP_IPV4_IFADDR, RTMGRP_IPV4_ROUTE, RTMGRP_IPV6_IFADDR, RTMGRP_IPV6_ROUTE = 0x1, 0x10, 0x40, 0x100, 0x400
SOL_NETLINK, NETLINK_LISTEN_ALL_NSID = 270, 8
SO_RCVBUFFORCE = 33
RTM_NEWLINK, RTM_DELLINK, RTM_NEWADDR, RTM_DELADDR, RTM_NEWROUTE, RTM_DELROUTE = 16, 17, 20, 21, 24, 25
IFLA_PROTINFO, IFLA_LINK_NETNSID = 12, 37
AF_BRIDGE = 7


class KernelEvents:
    """rtnetlink multicast from the host and every namespace with an nsid here, filtered to our objects.

    A link is ours by its mark; an address by the link it is on (links learnt from a dump of the host,
    whose veths name their peers by nsid and ifindex, then from events); a route by its protocol.
    What we last saw of each is kept, so that news which changes nothing we manage (carrier, duplicate
    address detection, bridge port states) is dropped. `heard` gets every message, ours or not, and
    `lost` is called when some were lost (the watch's kernel cache listens to both). `drain` handles
    what is already queued: the kernel queues rtnetlink news before it answers the request that made
    it, so after drain() every change made so far has been heard.
    """

    def __init__(self, event: Callable[[str], None], lost: Callable[[str], None],
                 heard: Callable[[int | None, int, memoryview], None] = lambda nsid, kind, body: None) -> None:
        self.event, self.lost, self.heard = event, lost, heard
        self.lock = threading.Lock()
        self.owned: set[tuple[int | None, int]] = set()  # (nsid or None for the host, ifindex)
        self.seen: dict[tuple, object] = {}
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20)
        except PermissionError:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.sock.setsockopt(SOL_NETLINK, NETLINK_LISTEN_ALL_NSID, 1)
        self.sock.bind((0, RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE))

    def start(self) -> None:
        self._learn()
        threading.Thread(target=self._run, name="rtnetlink", daemon=True).start()

    def _learn(self) -> None:
        """Our links in the host, and the peers of our veths as (nsid, ifindex)."""
        dumper = Dumper()
        try:
            for body in dumper.dump(RTM_GETLINK, IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0)):
                msg, a = parse_link(body), attrs(body, IFINFOMSG.size)
                if msg.group == OWNER_GROUP:
                    self.owned.add((None, msg.index))
                    if IFLA_LINK_NETNSID in a:
                        self.owned.add((_s32(a[IFLA_LINK_NETNSID]), msg.link))
        finally:
            dumper.close()

    def _run(self) -> None:
        while True:
            select.select([self.sock], [], [])
            self.drain()

    def drain(self) -> None:
        """Handle every message queued so far (from the listener's thread, or from the watch's before it
        trusts its cache)."""
        with self.lock:
            while True:
                try:
                    data, ancillary, _, _ = self.sock.recvmsg(1 << 17, socket.CMSG_SPACE(4), socket.MSG_DONTWAIT)
                except BlockingIOError:
                    return
                except OSError as err:
                    if err.errno != errno.ENOBUFS:
                        raise
                    self.lost("kernel events were lost (ENOBUFS)")
                    self._learn()
                    continue
                self._handle(data, ancillary)

    def _handle(self, data: bytes, ancillary: list) -> None:
        nsid = next((_s32(d) for level, kind, d in ancillary if (level, kind) == (SOL_NETLINK, NETLINK_LISTEN_ALL_NSID)), None)
        for kind, body in _messages(data):
            self.heard(nsid, kind, body)
            what = self.concerns(nsid, kind, body)
            if what:
                self.event(what + (f" in nsid {nsid}" if nsid is not None else ""))

    def concerns(self, nsid: int | None, kind: int, body: memoryview) -> str | None:
        """What changed, when the message changes something we manage on one of our objects."""
        if kind in (RTM_NEWLINK, RTM_DELLINK):
            return self._link(nsid, kind == RTM_DELLINK, body)
        if kind in (RTM_NEWADDR, RTM_DELADDR):
            return self._address(nsid, kind == RTM_DELADDR, body)
        if kind in (RTM_NEWROUTE, RTM_DELROUTE):
            return self._route(kind == RTM_DELROUTE, body)
        return None

    def _link(self, nsid: int | None, deleted: bool, body: memoryview) -> str | None:
        msg = parse_link(body)
        key, name = (nsid, msg.index), shown(msg.name)
        if body[0] == AF_BRIDGE:  # bridge port news: only port isolation and learning are ours to watch
            port = attrs(attrs(body, IFINFOMSG.size).get(IFLA_PROTINFO, b""))
            state = tuple(bytes(port[flag]) if flag in port else None for flag in (IFLA_BRPORT_ISOLATED, IFLA_BRPORT_LEARNING))
            what = f"bridge port {name} {'removed' if deleted else 'changed'}"
            return self._news(("port", *key), deleted, state, what) if key in self.owned else None
        if msg.group != OWNER_GROUP and key not in self.owned:
            return None
        if deleted or msg.group != OWNER_GROUP:
            self.owned.discard(key)
            self.seen = {k: v for k, v in self.seen.items() if k[1:3] != key}
            return f"link {name} deleted" if deleted else f"link {name} lost its mark"
        self.owned.add(key)
        return self._news(("link", *key), False, replace(msg, flags=msg.flags & IFF_UP), f"link {name} changed")

    def _address(self, nsid: int | None, deleted: bool, body: memoryview) -> str | None:
        family, prefixlen, _, _, index = IFADDRMSG.unpack_from(body)
        a = attrs(body, IFADDRMSG.size)
        address = ip_text(family, a.get(IFA_LOCAL, a.get(IFA_ADDRESS)))
        if (nsid, index) not in self.owned or address is None or ip_address(address) in LINK_LOCAL_V6:
            return None
        return self._news(("address", nsid, index, address, prefixlen), deleted, True,
                          f"address {address}/{prefixlen} {'deleted' if deleted else 'added'}")

    def _route(self, deleted: bool, body: memoryview) -> str | None:
        family, dst_len, _, _, _, protocol, _, _, _ = RTMSG.unpack_from(body)
        if protocol != ROUTE_PROTO:
            return None
        dst = ip_text(family, attrs(body, RTMSG.size).get(RTA_DST))
        return f"route {f'{dst}/{dst_len}' if dst else 'default'} {'deleted' if deleted else 'added'}"

    def _news(self, key: tuple, deleted: bool, state: object, what: str) -> str | None:
        """`what` when the object is gone or differs from what was last seen of it; else None."""
        if deleted:
            self.seen.pop(key, None)
            return what
        if self.seen.get(key, ...) == state:
            return None
        self.seen[key] = state
        return what


def _s32(value) -> int:
    return int.from_bytes(bytes(value)[:4], sys.byteorder, signed=True)


def _messages(data: bytes):
    view, offset = memoryview(data), 0
    while offset + NLMSGHDR.size <= len(view):
        length, kind, _, _, _ = NLMSGHDR.unpack_from(view, offset)
        if length < NLMSGHDR.size:
            return
        yield kind, view[offset + NLMSGHDR.size: offset + length]
        offset += align(length)
