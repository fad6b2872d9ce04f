"""A named namespace read whole as bytes, to be parsed elsewhere (reconciler/kernel/forked.py's child
reads, observe parses): its link, address and route dumps as the kernel gave them, and its files in
/etc/netns; or why it could not be read. Nothing of it is kept: each observe reads the kernel again.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from reconciler.errors import KernelError
from reconciler.kernel import netns, rtnl
from reconciler.kernel.rtnl import AddrMsg, LinkMsg, NeighMsg, RouteMsg
from reconciler.kernel.rtnl_client import EVERY_ADDRESS, EVERY_LINK, RtnlClient
from reconciler.model import NETNS_FILES, ROUTE_PROTO, NetnsFile

COUNTS = struct.Struct("=III")  # links, addresses, routes
FileRead = str | tuple[str] | None  # a file's content, (why it is in the way,), or None: there is none
T = TypeVar("T")
OURS = rtnl.RTMSG.pack(rtnl.AF_UNSPEC, 0, 0, 0, rtnl.RT_TABLE_MAIN, ROUTE_PROTO, 0, 0, 0)


def read(name: str, files: Callable[[str, type[NetnsFile]], FileRead], stay: bool = False) -> bytes:
    """The namespace's dumps and files (of `files`), as bytes for `Raw.of`. `stay`: this thread is left
    in the namespace (a process of its own reading one namespace after another need not go back)."""
    head: dict[str, object] = {}
    links: list[bytes] = []
    dumps: list[list[bytes]] = [[], []]
    try:
        client = _client(name, stay)
        try:
            links = _dump(client, rtnl.RTM_GETLINK, EVERY_LINK)
            for i, (kind, body) in enumerate(((rtnl.RTM_GETADDR, EVERY_ADDRESS), (rtnl.RTM_GETROUTE, OURS))):
                try:
                    dumps[i] = _dump(client, kind, body)
                except OSError as err:
                    head[f"failed{i}"] = [err.errno, err.strerror]
        finally:
            client.close()
    except OSError as err:
        head["failed"] = [err.errno, err.strerror]
    else:
        head["files"] = [files(name, kind) for kind in NETNS_FILES]
    parts = [json.dumps(head).encode(), *links, *dumps[0], *dumps[1]]
    return COUNTS.pack(len(links), len(dumps[0]), len(dumps[1])) + struct.pack(f"={len(parts)}I", *map(len, parts)) \
        + b"".join(parts)


def _client(name: str, stay: bool) -> RtnlClient:
    if stay:
        netns.move(name)
        return RtnlClient()
    with netns.entered(name):
        return RtnlClient()


def _dump(client: RtnlClient, kind: int, body: bytes) -> list[bytes]:
    return [m.tobytes() for m in client.dump(kind, body)]


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
        view = memoryview(data)
        counts = COUNTS.unpack_from(view)
        total = 1 + sum(counts)
        lengths = struct.unpack_from(f"={total}I", view, COUNTS.size)
        offset, parts = COUNTS.size + 4 * total, []
        for length in lengths:
            parts.append(view[offset:offset + length])
            offset += length
        head = json.loads(bytes(parts[0]))
        links, addresses = parts[1:1 + counts[0]], parts[1 + counts[0]:1 + counts[0] + counts[1]]
        files = [content if not isinstance(content, list) else (content[0],) for content in head.get("files", [])]
        return cls(_error(head.get("failed")), links, addresses, parts[1 + counts[0] + counts[1]:],
                   [_error(head.get("failed0")), _error(head.get("failed1"))], files)

    def parsed_links(self) -> list[LinkMsg]:
        if self.failed is not None:
            raise self.failed
        return [rtnl.parse_link(m) for m in self.links]


def _error(told: list[object] | None) -> OSError | None:
    return None if told is None else KernelError(int(str(told[0])), str(told[1]))


class Replay:
    """A namespace's dumps as `Raw` holds them, parsed when asked (observe's Dumps); neighbours, which
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
