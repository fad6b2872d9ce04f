"""Kernel events for the watch: rtnetlink multicast, from the host and from every namespace that has
an nsid here (endpoint namespaces do: their veth peers live in the host), filtered to our objects."""

from __future__ import annotations

import errno
import select
import threading
from collections.abc import Callable, Iterable
from dataclasses import replace
from ipaddress import ip_address

from reconciler.kernel.names import shown
from reconciler.kernel.observe_objects import LINK_LOCAL_V6
from reconciler.kernel.rtnl import (
    ADDRESS_EVENTS,
    AF_BRIDGE,
    IFF_UP,
    IFINFOMSG,
    LINK_EVENTS,
    ROUTE_EVENTS,
    RTM_DELADDR,
    RTM_DELLINK,
    RTM_DELROUTE,
    RTM_GETLINK,
    bridge_port,
    link_index,
    parse_address,
    parse_link,
    parse_route,
    route_protocol,
)
from reconciler.kernel.rtnl_client import RtnlClient, RtnlListener
from reconciler.model import OWNER_GROUP, ROUTE_PROTO

Heard = Callable[[int | None, int, memoryview], None]


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
                 heard: Heard = lambda nsid, kind, body: None) -> None:
        self.event, self.lost, self.heard = event, lost, heard
        self.lock = threading.Lock()
        self.owned: set[tuple[int | None, int]] = set()  # (nsid or None for the host, ifindex)
        self.seen: dict[tuple[object, ...], object] = {}
        self.listener = RtnlListener()

    def start(self) -> None:
        self._learn()
        threading.Thread(target=self._run, name="rtnetlink", daemon=True).start()

    def _learn(self) -> None:
        """Our links in the host, and the peers of our veths as (nsid, ifindex); what our bridge ports
        show now, so that a port's first news telling nothing new is no event (a bridge tells of every
        port as ports come and go: hundreds of messages at 1000 endpoints)."""
        client = RtnlClient()
        try:
            for msg in client.links():
                if msg.group == OWNER_GROUP:
                    self.owned.add((None, msg.index))
                    if msg.link_netnsid != -1:
                        self.owned.add((msg.link_netnsid, msg.link))
            for body in client.dump(RTM_GETLINK, IFINFOMSG.pack(AF_BRIDGE, 0, 0, 0, 0)):
                if (None, index := link_index(body)) in self.owned:
                    self.seen[("port", None, index)] = bridge_port(body)
        finally:
            client.close()

    def _run(self) -> None:
        while True:
            select.select([self.listener], [], [])
            self.drain()

    def drain(self) -> None:
        """Handle every message queued so far (from the listener's thread, or from the watch's before it
        trusts its cache)."""
        with self.lock:
            while True:
                try:
                    nsid, messages = self.listener.receive()
                except BlockingIOError:
                    return
                except OSError as err:
                    if err.errno != errno.ENOBUFS:
                        raise
                    self.lost("kernel events were lost (ENOBUFS)")
                    self._learn()
                    continue
                self._handle(nsid, messages)

    def _handle(self, nsid: int | None, messages: Iterable[tuple[int, memoryview]]) -> None:
        for kind, body in messages:
            self.heard(nsid, kind, body)
            what = self.concerns(nsid, kind, body)
            if what:
                self.event(what + (f" in nsid {nsid}" if nsid is not None else ""))

    def concerns(self, nsid: int | None, kind: int, body: memoryview) -> str | None:
        """What changed, when the message changes something we manage on one of our objects."""
        if kind in LINK_EVENTS:
            return self._link(nsid, kind == RTM_DELLINK, body)
        if kind in ADDRESS_EVENTS:
            return self._address(nsid, kind == RTM_DELADDR, body)
        if kind in ROUTE_EVENTS:
            return self._route(kind == RTM_DELROUTE, body)
        return None

    def _link(self, nsid: int | None, deleted: bool, body: memoryview) -> str | None:
        msg = parse_link(body)
        key, name = (nsid, msg.index), shown(msg.name)
        if msg.family == AF_BRIDGE:  # bridge port news: only port isolation and learning are ours to watch
            what = f"bridge port {name} {'removed' if deleted else 'changed'}"
            return self._news(("port", *key), deleted, bridge_port(body), what) if key in self.owned else None
        if msg.group != OWNER_GROUP and key not in self.owned:
            return None
        if deleted or msg.group != OWNER_GROUP:
            self.owned.discard(key)
            self.seen = {k: v for k, v in self.seen.items() if k[1:3] != key}
            return f"link {name} deleted" if deleted else f"link {name} lost its mark"
        self.owned.add(key)
        return self._news(("link", *key), False, replace(msg, flags=msg.flags & IFF_UP), f"link {name} changed")

    def _address(self, nsid: int | None, deleted: bool, body: memoryview) -> str | None:
        msg = parse_address(body)
        address, prefixlen = msg.address, msg.prefixlen
        if (nsid, msg.index) not in self.owned or address is None or ip_address(address) in LINK_LOCAL_V6:
            return None
        return self._news(("address", nsid, msg.index, address, prefixlen), deleted, True,
                          f"address {address}/{prefixlen} {'deleted' if deleted else 'added'}")

    def _route(self, deleted: bool, body: memoryview) -> str | None:
        if route_protocol(body) != ROUTE_PROTO:
            return None
        msg = parse_route(body)
        return f"route {f'{msg.dst}/{msg.dst_len}' if msg.dst else 'default'} {'deleted' if deleted else 'added'}"

    def _news(self, key: tuple[object, ...], deleted: bool, state: object, what: str) -> str | None:
        """`what` when the object is gone or differs from what was last seen of it; else None."""
        if deleted:
            self.seen.pop(key, None)
            return what
        if self.seen.get(key, ...) == state:
            return None
        self.seen[key] = state
        return what

