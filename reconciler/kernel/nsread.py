"""A named namespace read whole as bytes, to be parsed elsewhere (reconciler/kernel/forked.py's child
reads, observe parses): its address and route dumps as the kernel gave them, its link dump cut down to
what parse_link reads, and its files in /etc/netns; or why it could not be read. Nothing of it is kept:
each observe reads the kernel again.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from reconciler.errors import KernelError, PathConflictError
from reconciler.kernel import ahead, netns, rtnl
from reconciler.kernel.hostsfile import ETC_NETNS, EtcNetns, read_file
from reconciler.kernel.observe_objects import Link
from reconciler.kernel.rtnl import AddrMsg, NeighMsg, RouteMsg
from reconciler.kernel.rtnl_client import EVERY_ADDRESS, EVERY_LINK, RtnlClient
from reconciler.model import NETNS_FILES, ROUTE_PROTO, NetnsFile

Told = tuple[int, str] | None  # an OSError that was met, as (errno, strerror)
FileRead = str | tuple[str] | None  # a file's content, (why it is in the way,), or None: there is none
T = TypeVar("T")
OURS = rtnl.RTMSG.pack(rtnl.AF_UNSPEC, 0, 0, 0, rtnl.RT_TABLE_MAIN, ROUTE_PROTO, 0, 0, 0)


def read(name: str, files: Callable[[str, type[NetnsFile]], FileRead], stay: bool = False) -> bytes:
    """The namespace's dumps and files (of `files`), as bytes for `Raw.of`. `stay`: this thread is left
    in the namespace (a process of its own reading one namespace after another need not go back)."""
    failed: Told = None
    dump_failed: list[Told] = [None, None]
    dumps = [b"", b"", b""]
    told: list[FileRead] = []
    try:
        client = _client(name, stay)
        try:
            dumps[0] = trimmed_links(client.dump_bytes(rtnl.RTM_GETLINK, EVERY_LINK))
            for i, (kind, body) in enumerate(((rtnl.RTM_GETADDR, EVERY_ADDRESS), (rtnl.RTM_GETROUTE, OURS))):
                try:
                    dumps[i + 1] = client.dump_bytes(kind, body)
                except OSError as err:
                    dump_failed[i] = _told(err)
        finally:
            client.close()
    except OSError as err:
        failed = _told(err)
    else:
        told = [files(name, kind) for kind in NETNS_FILES]
    return pickle.dumps((failed, *dumps, dump_failed, told), pickle.HIGHEST_PROTOCOL)


def trimmed_links(dump: bytes) -> bytes:
    """A link dump with each message cut down to the attributes rtnl.parse_link reads, each as it came (it
    parses the same): the reading child has time to spare, its parent, which walks each message's
    attributes, none; of a link's forty it reads ten."""
    out: list[bytes | memoryview] = []
    unpack, wanted, mask = rtnl.NLA.unpack_from, rtnl.LINK_ATTRS, rtnl.NLA_TYPE_MASK  # local names: once per attribute
    for kind, body in rtnl.messages(dump):
        kept: list[bytes | memoryview] = [body[:rtnl.IFINFOMSG.size]]
        offset, end = rtnl.IFINFOMSG.size, len(body) - 4
        while offset <= end:
            length, attr = unpack(body, offset)
            if length < 4:
                break
            step = (length + 3) & ~3
            if attr & mask in wanted:
                kept.append(body[offset: offset + step])
            offset += step
        trimmed = b"".join(kept)
        trimmed += bytes(-len(trimmed) % 4)  # the next message starts aligned (the kernel's last attribute may not be)
        out += (rtnl.header(len(trimmed), kind, 0, 0), trimmed)
    return b"".join(out)


def read_ahead(item: str) -> bytes:
    """The work of a child started ahead (kernel/ahead.py): the host's links, parsed (it has time to spare,
    its parent none), or a namespace as bytes, its files read through /etc/netns held open. Here, not in
    kernel/observe.py, so that the child loads only what reading needs (20 ms less before it reads)."""
    global _AHEAD  # the child's own /etc/netns, for the rest of its life
    if item == ahead.HOST:
        return host_links()
    if _AHEAD is None:
        _AHEAD = EtcNetns()
    etc = _AHEAD
    return read(item, lambda ns, kind: file_read(etc, ns, kind), stay=True)


_AHEAD: EtcNetns | None = None


def file_read(etc: EtcNetns | None, ns: str, kind: type[NetnsFile]) -> FileRead:
    """The content of the endpoint's file of this kind if we wrote it (None: there is none), or (why what
    is in the way of it is,): read through `etc` held open, if given."""
    try:
        return read_file(ns, kind) if etc is None else etc.read(ns, kind)
    except PathConflictError as err:
        return (str(err),)
    except OSError as err:
        return (f"{ETC_NETNS}/{ns}/{kind.filename} cannot be read ({err.strerror}); fix it and run again",)


def host_links() -> bytes:
    """The links of this thread's namespace, parsed, as bytes for `links_of`: for a child started ahead
    of an observe, which has time to spare while its parent has none."""
    client = RtnlClient()
    try:
        links = [Link.of(rtnl.parse_link(m)) for _, m in rtnl.messages(client.dump_bytes(rtnl.RTM_GETLINK, EVERY_LINK))]
    finally:
        client.close()
    return pickle.dumps(links, pickle.HIGHEST_PROTOCOL)


def links_of(data: bytes) -> list[Link]:
    links: list[Link] = pickle.loads(data)
    return links


def _client(name: str, stay: bool) -> RtnlClient:
    if stay:
        netns.move(name)
        return RtnlClient()
    with netns.entered(name):
        return RtnlClient()


@dataclass
class Raw:
    """A namespace as `read` gave it: the OSError it could not be entered with, or its dumps and files."""

    failed: OSError | None
    links: list[memoryview]
    addresses: list[memoryview]
    routes: list[memoryview]
    dump_failed: list[OSError | None]
    files: list[FileRead]

    @classmethod
    def of(cls, data: bytes) -> Raw:
        failed, links, addresses, routes, dump_failed, files = pickle.loads(data)
        return cls(_error(failed), _bodies(links), _bodies(addresses), _bodies(routes), list(map(_error, dump_failed)), files)

    def parsed_links(self) -> list[Link]:
        if self.failed is not None:
            raise self.failed
        return [Link.read(m) for m in self.links]


def _told(err: OSError) -> Told:
    return err.errno or 0, err.strerror or str(err)


def _bodies(dump: bytes) -> list[memoryview]:
    return [body for _, body in rtnl.messages(dump)]


def _error(told: Told) -> OSError | None:
    return None if told is None else KernelError(*told)


class RawDumps:
    """The Dumps (observe_objects.py) of a namespace as `Raw` holds them, parsed when asked; neighbours, which
    observe reads of the host only, are dumped from the kernel."""

    def __init__(self, name: str, raw: Raw) -> None:
        self.name, self.raw = name, raw

    def addresses(self) -> list[AddrMsg]:
        if self.raw.dump_failed[0] is not None:
            raise self.raw.dump_failed[0]
        return [rtnl.parse_address(m) for m in self.raw.addresses]

    def routes(self, table: int = 0, protocol: int = 0) -> list[RouteMsg]:
        """Our routes of the main table as read; others (observe asks for none of a namespace) dumped now."""
        if (table, protocol) != (rtnl.RT_TABLE_MAIN, ROUTE_PROTO):
            return self._live(lambda client: client.routes(table, protocol))
        if self.raw.dump_failed[1] is not None:
            raise self.raw.dump_failed[1]
        return [rtnl.parse_route(m) for m in self.raw.routes]

    def neighbours(self, family: int) -> list[NeighMsg]:
        return self._live(lambda client: client.neighbours(family))

    def _live(self, dump: Callable[[RtnlClient], list[T]]) -> list[T]:
        with netns.entered(self.name):
            client = RtnlClient()
        try:
            return dump(client)
        finally:
            client.close()

    def close(self) -> None:
        pass
