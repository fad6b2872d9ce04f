"""Forwarding a query to upstream servers from the process's own (host) namespace, without blocking the
loop: each server in turn with a timeout, the next one on timeout, SERVFAIL or REFUSED (Docker's rule);
NXDOMAIN and every other answer passed through as the server sent it. Each attempt carries a fresh
random id (a reply must match it, the question and come from the server's address) and the client's id
is put back on the reply."""

from __future__ import annotations

import asyncio
import secrets
import socket
import struct
from collections.abc import Callable

import dns.exception
import dns.flags
import dns.message
import dns.rcode

PORT = 53
_Accept = Callable[[bytes], bool]
MAX_SERVERS = 3
RETRY_ON = frozenset({dns.rcode.SERVFAIL, dns.rcode.REFUSED})


async def forward(wire: bytes, query: dns.message.Message, servers: tuple[str, ...], tcp: bool,
                  timeout: float) -> bytes | None:
    """The first usable reply of up to three servers (None: every one failed), within 3 x `timeout`."""
    for server in servers[:MAX_SERVERS]:
        reply = await _attempt(server, wire, query, tcp, timeout)
        if reply is not None and _rcode(reply) not in RETRY_ON:
            return reply
    return None


async def _attempt(server: str, wire: bytes, query: dns.message.Message, tcp: bool, timeout: float) -> bytes | None:
    ident = secrets.randbelow(1 << 16)
    sent = struct.pack("!H", ident) + wire[2:]
    try:
        exchange = _tcp(server, sent) if tcp else _udp(server, sent, lambda r: _matches(r, ident, query))
        reply = await asyncio.wait_for(exchange, timeout)
    except (OSError, TimeoutError, asyncio.IncompleteReadError):
        return None
    if not _matches(reply, ident, query):
        return None
    return wire[:2] + reply[2:]


def _matches(reply: bytes, ident: int, query: dns.message.Message) -> bool:
    try:
        parsed = dns.message.from_wire(reply, question_only=True)
    except dns.exception.DNSException:
        return False
    return parsed.id == ident and bool(parsed.flags & dns.flags.QR) and parsed.question == query.question


def _rcode(reply: bytes) -> int:
    return reply[3] & 0x0F


def _family(server: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in server else socket.AF_INET


async def _udp(server: str, sent: bytes, accept: _Accept) -> bytes:
    loop = asyncio.get_running_loop()
    sock = socket.socket(_family(server), socket.SOCK_DGRAM | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC)
    try:
        sock.connect((server, PORT))  # connected: only the server's own replies reach it
    except OSError:
        sock.close()
        raise
    transport, protocol = await loop.create_datagram_endpoint(lambda: _Exchange(loop, accept), sock=sock)
    try:
        transport.sendto(sent)
        return await protocol.reply
    finally:
        transport.close()


async def _tcp(server: str, sent: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(server, PORT)
    try:
        writer.write(struct.pack("!H", len(sent)) + sent)
        await writer.drain()
        size = struct.unpack("!H", await reader.readexactly(2))[0]
        return await reader.readexactly(size)
    finally:
        writer.close()


class _Exchange(asyncio.DatagramProtocol):
    """One UDP exchange: the first acceptable datagram, or the error the kernel reports (an ICMP port
    unreachable: the next server is tried at once rather than after the timeout)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, accept: _Accept) -> None:
        self.reply: asyncio.Future[bytes] = loop.create_future()
        self.accept = accept

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if not self.reply.done() and self.accept(data):
            self.reply.set_result(data)

    def error_received(self, exc: Exception) -> None:
        if not self.reply.done():
            self.reply.set_exception(exc)
