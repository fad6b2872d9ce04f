"""The resolver: one asyncio loop serving every asker's sockets.

asyncio rather than a hand-written selectors loop: a forwarded query is a few awaits (server after
server, each under a timeout) that must not hold up the others, and a TCP connection is a loop with an
idle timeout; both are a coroutine here, where selectors would need a state machine of callbacks. A
query answered from our names is answered in the datagram callback itself, without a task.
"""

from __future__ import annotations

import asyncio
import logging
import random
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

import dns.exception
import dns.flags
import dns.message
import dns.rcode

from reconciler.kernel import dhcpstate
from reconciler.kernel.listing import Listing, MountChanges
from reconciler.model.dns import DnsState
from reconciler.resolver import forward, listen, upstream
from reconciler.resolver.answer import Forward, Names, decide, refusal, render

log = logging.getLogger("netreconcile.resolver")
MAX_IN_FLIGHT = 1024  # forwarded queries at once (Docker's maxConcurrent); more are REFUSED at once
UPSTREAM_REFRESH = 5.0  # seconds the host's resolv.conf is trusted before it is read again


@dataclass
class Options:
    """How the resolver runs: where it listens inside each namespace, how long an upstream server and an
    idle TCP client are waited for (seconds)."""

    address: str = listen.ADDRESS
    port: int = listen.PORT
    upstream_timeout: float = 1.5
    tcp_idle: float = 10.0


@dataclass
class Pending:
    """A query to forward: its wire form (the client's id), parsed, and the servers to try."""

    wire: bytes
    query: dns.message.Message
    servers: tuple[str, ...]


@dataclass
class Serving:
    """One asker's sockets as the loop holds them, and its open TCP connections."""

    sockets: listen.Sockets
    udp: asyncio.DatagramTransport
    tcp: asyncio.Server
    clients: set[asyncio.StreamWriter] = field(default_factory=set)

    def close(self) -> None:
        self.udp.close()
        self.tcp.close()
        for writer in self.clients:
            writer.close()


class Resolver:
    """Every asker's sockets and the names they see; `load` moves both to a new state. The named
    namespaces are listed as kernel.listing.Listing keeps them: looked at again only where a mount
    was made or removed since the last load (a namespace replaced under a name is a mount changed
    there); without `mounts`, the whole folder at every load."""

    def __init__(self, options: Options, mounts: MountChanges | None = None) -> None:
        self.options = options
        self.named_inodes = Listing(mounts).inodes
        self.names = Names(DnsState())
        self.serving: dict[str, Serving] = {}
        self.inodes: dict[str, int] = {}  # served(), kept with `serving`: no pass over every asker per load
        self.closed = 0  # askers' sockets let go of so far (what a full collection may find garbage)
        self.rng = random.Random()
        self.tasks: set[asyncio.Task[None]] = set()
        self.in_flight = 0
        self._upstream: tuple[float, tuple[str, ...]] | None = None
        self._leased: dict[tuple[str, ...], tuple[float, tuple[str, ...]]] = {}

    async def load(self, state: DnsState) -> dict[str, int]:
        """Serve `state`: sockets for new askers (or for one whose namespace was replaced), closed for
        askers gone, the others kept as they are. Returns the namespaces served and their inodes."""
        self.names = Names(state, self.names)
        self._upstream = None
        self._leased.clear()
        for name in [n for n in self.serving if n not in state.askers]:
            self._let_go(name)
        inodes = self.named_inodes()  # one pass (or none) for every asker, not a path walked per asker
        for name in state.askers:
            now = inodes.get(name) if _plain_name(name) else None
            held = self.serving.get(name)
            if held is None or held.sockets.inode != now:  # the others kept as they are, without a coroutine's round
                await self._reopen(name, held, now)
        return self.served()

    def served(self) -> dict[str, int]:
        """The namespaces served and the inodes of those their sockets are in."""
        return dict(self.inodes)

    def _let_go(self, name: str) -> None:
        self.serving.pop(name).close()
        self.inodes.pop(name, None)
        self.closed += 1

    async def _reopen(self, name: str, held: Serving | None, now: int | None) -> None:
        """Sockets in the namespace of that name, whose inode is `now` (None: there is none), in place
        of `held` (those of a namespace removed, or made again)."""
        if held is not None:
            log.info("netns %s was replaced: its sockets are opened again", name)
            self._let_go(name)
        if now is None:
            log.warning("netns %s: not there, not served", name)
            return
        try:
            sockets = listen.open_in(name, self.options.address, self.options.port)
        except OSError as err:
            log.warning("netns %s: not served: %s", name, err)
            return
        self.serving[name] = await self._serve(name, sockets)
        self.inodes[name] = sockets.inode

    async def _serve(self, name: str, sockets: listen.Sockets) -> Serving:
        loop = asyncio.get_running_loop()
        udp, _ = await loop.create_datagram_endpoint(lambda: _UdpServer(self, name), sock=sockets.udp)
        clients: set[asyncio.StreamWriter] = set()
        tcp = await asyncio.start_server(lambda r, w: self._tcp_client(name, r, w, clients), sock=sockets.tcp)
        return Serving(sockets=sockets, udp=udp, tcp=tcp, clients=clients)

    def forget(self, name: str) -> bool:
        """Let go of `name` if its namespace is no longer the one served (removed, or made again);
        whether anything changed."""
        held = self.serving.get(name)
        if held is None or listen.current_inode(name) == held.sockets.inode:
            return False
        log.info("netns %s was removed: its sockets are closed", name)
        self._let_go(name)
        return True

    def close(self) -> None:
        for serving in self.serving.values():
            serving.close()
        self.closed += len(self.serving)
        self.serving.clear()
        self.inodes.clear()
        for task in self.tasks:
            task.cancel()

    def first(self, asker: str, wire: bytes, tcp: bool) -> bytes | Pending | None:
        """The reply to `wire` when we have it at once; the query to forward otherwise; None: no reply
        (what came is no query)."""
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return _format_error(wire)
        if query.flags & dns.flags.QR:
            return None  # never answer an answer
        try:
            outcome = decide(self.names, asker, query, self.rng)
            if not isinstance(outcome, Forward):
                return render(outcome.message, query, tcp)
        except (dns.exception.DNSException, ValueError) as err:  # what the state says, dnspython cannot write
            log.error("netns %s: %s: %s", asker, query.question[0].name if query.question else "?", err)
            return render(refusal(query), query, tcp)
        servers = outcome.servers if outcome.servers is not None else self.default_servers(asker)
        if self.in_flight >= MAX_IN_FLIGHT:
            return render(refusal(query, dns.rcode.REFUSED), query, tcp)
        return Pending(wire=wire, query=query, servers=servers)

    async def forwarded(self, pending: Pending, tcp: bool) -> bytes:
        """The upstream reply, or SERVFAIL when every server failed."""
        self.in_flight += 1
        try:
            reply = await forward.forward(pending.wire, pending.query, pending.servers, tcp,
                                          self.options.upstream_timeout)
        finally:
            self.in_flight -= 1
        return reply if reply is not None else render(refusal(pending.query), pending.query, tcp)

    def spawn(self, pending: Pending, send: Callable[[bytes], None]) -> None:
        """Forward in a task of its own, so that other queries are answered meanwhile."""
        task = asyncio.get_running_loop().create_task(self._forward_and_send(pending, send))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _forward_and_send(self, pending: Pending, send: Callable[[bytes], None]) -> None:
        send(await self.forwarded(pending, tcp=False))

    def default_servers(self, asker: str) -> tuple[str, ...]:
        """An asker's servers when the manifests name none: its DHCP leases', else the host's."""
        found = self.names.state.askers.get(asker)
        leased = self._lease_servers(found.dhcp) if found is not None and found.dhcp else ()
        return leased or self.host_servers()

    def _lease_servers(self, keys: tuple[str, ...]) -> tuple[str, ...]:
        now = time.monotonic()
        cached = self._leased.get(keys)
        if cached is None or now - cached[0] > UPSTREAM_REFRESH:
            cached = self._leased[keys] = (now, dhcpstate.lease_servers(keys))
        return cached[1]

    def host_servers(self) -> tuple[str, ...]:
        now = time.monotonic()
        if self._upstream is None or now - self._upstream[0] > UPSTREAM_REFRESH:
            self._upstream = (now, upstream.host_servers())
        return self._upstream[1]

    async def _tcp_client(self, asker: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                          clients: set[asyncio.StreamWriter]) -> None:
        clients.add(writer)
        try:
            while (wire := await self._read_query(reader)) is not None:
                reply = self.first(asker, wire, tcp=True)
                if isinstance(reply, Pending):
                    reply = await self.forwarded(reply, tcp=True)
                if reply is None:
                    break
                writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError, TimeoutError):
            pass  # the client went, or stayed idle too long: its connection is closed
        finally:
            clients.discard(writer)
            writer.close()

    async def _read_query(self, reader: asyncio.StreamReader) -> bytes | None:
        try:
            head = await asyncio.wait_for(reader.readexactly(2), self.options.tcp_idle)
        except asyncio.IncompleteReadError:
            return None  # closed between two queries: the normal end
        size = struct.unpack("!H", head)[0]
        return await asyncio.wait_for(reader.readexactly(size), self.options.tcp_idle)


class _UdpServer(asyncio.DatagramProtocol):
    """An asker's UDP socket: replies from our names at once, forwarded ones when they come."""

    def __init__(self, resolver: Resolver, asker: str) -> None:
        self.resolver = resolver
        self.asker = asker
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)  # 3.11's is no subclass of it

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        reply = self.resolver.first(self.asker, data, tcp=False)
        if isinstance(reply, Pending):
            self.resolver.spawn(reply, lambda wire: self._send(wire, addr))
        elif reply is not None:
            self._send(reply, addr)

    def error_received(self, exc: Exception) -> None:
        pass  # an ICMP error about an earlier reply: nothing to do

    def _send(self, wire: bytes, addr: tuple[str | int, ...]) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(wire, addr)


def _format_error(wire: bytes) -> bytes | None:
    """FORMERR with the query's id and opcode for what cannot be parsed; nothing for what is too short
    to have a header, or is itself a response (never answer an answer)."""
    if len(wire) < 12 or wire[2] & 0x80:
        return None
    return wire[:2] + bytes([0x80 | (wire[2] & 0x78), dns.rcode.FORMERR]) + bytes(8)


def _plain_name(name: str) -> bool:
    """A name that can only be a file right under /run/netns (the state could say anything)."""
    return name not in ("", ".", "..") and "/" not in name and "\0" not in name
