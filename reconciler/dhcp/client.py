"""One interface's DHCP client (RFC 2131 section 4.4): INIT (DISCOVER, OFFER, REQUEST, ACK), or
INIT-REBOOT from the lease on disk; BOUND until T1; RENEWING (unicast to the server) until T2;
REBINDING (broadcast) until the lease expires, when the address goes and the client starts over."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable

from reconciler.dhcp import codec
from reconciler.dhcp.codec import Message
from reconciler.dhcp.exchange import Identity, lease_of, new_xid
from reconciler.dhcp.lease import Lease, LeaseFiles
from reconciler.dhcp.netio import SERVER_PORT, Interface, payload
from reconciler.model.dhcp import DhcpClient

log = logging.getLogger("netreconcile.dhcp")
BROADCAST = "255.255.255.255"
FIRST_WAIT, LONGEST_WAIT = 4.0, 32.0  # seconds between retransmissions, doubling (RFC 2131: 4 to 64)
SHORTEST_WAIT = 1.0
# RFC 2131 4.4.1: a random wait before the first DISCOVER, so that interfaces made at once (200 endpoints
# of one apply) do not overflow the server's socket together (it drops what it cannot queue)
FIRST_SPREAD = 1.0


class Client:
    """Keeps a lease on one interface; `changed` is called whenever its phase or lease changes."""

    def __init__(self, spec: DhcpClient, iface: Interface, leases: LeaseFiles, changed: Callable[[], None]) -> None:
        self.spec, self.iface, self.leases, self.changed = spec, iface, leases, changed
        self.identity = Identity(iface.mac, bytes.fromhex(spec.client_id), spec.broadcast)
        self.phase = "init"
        self.lease: Lease | None = None

    async def run(self) -> None:
        lease = self.leases.load(self.spec.key, self.spec.client_id)
        if lease is not None and lease.expires > time.time():
            lease = await self._reboot(lease)
        else:
            lease = None
        while True:
            if lease is None:
                lease = await self._acquire()
            self._bind(lease)
            lease = await self._keep(lease)

    def _set(self, phase: str) -> None:
        if phase != self.phase:
            self.phase = phase
            self.changed()

    async def _acquire(self) -> Lease:
        wait, xid = FIRST_WAIT, new_xid()  # one xid for the retransmissions: a late OFFER still counts
        await asyncio.sleep(random.uniform(0, FIRST_SPREAD))
        while True:
            self._set("selecting")
            offer = await self._exchange(self.identity.discover(xid), BROADCAST, {codec.OFFER}, xid, wait)
            if offer is not None:
                self._set("requesting")
                ack = await self._exchange(self.identity.select(xid, offer), BROADCAST, {codec.ACK, codec.NAK}, xid, wait)
                lease = lease_of(ack, self.spec.client_id) if ack is not None and ack.type == codec.ACK else None
                if lease is not None:
                    return lease
            wait = min(wait * 2, LONGEST_WAIT)

    async def _reboot(self, lease: Lease) -> Lease | None:
        """INIT-REBOOT: the address held before, asked for again; no answer: kept until it expires."""
        self._set("rebooting")
        for _ in range(2):
            xid = new_xid()
            reply = await self._exchange(self.identity.init_reboot(xid, lease), BROADCAST, {codec.ACK, codec.NAK}, xid, FIRST_WAIT)
            if reply is not None and reply.type == codec.ACK:
                return lease_of(reply, self.spec.client_id, lease.server)
            if reply is not None:
                log.info("%s: %s refused, starting over", self.spec.key, lease.address)
                self.leases.forget(self.spec.key)
                return None
        return lease if lease.expires > time.time() else None

    def _bind(self, lease: Lease) -> None:
        old = self.lease
        if old is not None and old.cidr != lease.cidr:
            self.iface.drop(old.address, old.prefix)
        self.lease, self.phase = lease, "bound"
        try:
            self.iface.hold(lease.address, lease.prefix, max(1, int(lease.expires - time.time())))
        except OSError as err:  # ipvlan: EADDRINUSE when another ipvlan of the parent holds it
            log.warning("%s: %s given but not held: %s (given twice? the keeper's status says so)",
                        self.spec.key, lease.cidr, err.strerror or err)
            self.phase = "conflict"
        if not self.spec.internal and lease.router and self.phase == "bound":
            self.iface.route(lease.router)
        elif old is not None and old.router:
            self.iface.route(old.router, delete=True)
        self.leases.save(self.spec.key, lease)
        if old is None or old.cidr != lease.cidr or old.router != lease.router:
            log.info("%s: %s %s, router %s, until %s", self.spec.key, lease.cidr, self.phase, lease.router or "none",
                     time.strftime("%H:%M:%S", time.localtime(lease.expires)))
        self.changed()

    async def _keep(self, lease: Lease) -> Lease | None:
        """Renew at T1, rebind at T2; the new lease, or None once the address is lost (NAK, expiry)."""
        await _sleep_until(lease.renews)
        self._set("renewing")
        reply = await self._ask(lease, lease.server, lease.rebinds)
        if reply is None:
            self._set("rebinding")
            reply = await self._ask(lease, BROADCAST, lease.expires)
        fresh = lease_of(reply, self.spec.client_id, lease.server) if reply is not None and reply.type == codec.ACK else None
        if fresh is None:
            self._lose("the server refused the renewal" if reply is not None else "the lease expired")
        return fresh

    async def _ask(self, lease: Lease, to: str, until: float) -> Message | None:
        """REQUEST with ciaddr, sent again at half the time left, until `until`; the ACK or NAK."""
        while (left := until - time.time()) > 0:
            xid = new_xid()
            reply = await self._exchange(self.identity.renew(xid, lease), to, {codec.ACK, codec.NAK}, xid,
                                         min(left, max(SHORTEST_WAIT, left / 2)))
            if reply is not None:
                return reply
        return None

    def _lose(self, why: str) -> None:
        lease = self.lease
        if lease is not None:
            log.warning("%s: %s dropped: %s; asking again", self.spec.key, lease.cidr, why)
            self.iface.drop(lease.address, lease.prefix)
            if lease.router and not self.spec.internal:
                self.iface.route(lease.router, delete=True)
        self.leases.forget(self.spec.key)
        self.lease = None
        self._set("expired")

    def release(self) -> None:
        """DHCPRELEASE (from the address, before it goes), the address and route removed, the lease forgotten."""
        lease = self.lease
        if lease is not None and lease.server:
            try:
                self.iface.sock.sendto(codec.encode(self.identity.release(new_xid(), lease)), (lease.server, SERVER_PORT))
            except OSError as err:
                log.warning("%s: DHCPRELEASE not sent: %s", self.spec.key, err)
            log.info("%s: %s released", self.spec.key, lease.cidr)
        if lease is not None:
            self._lose("released")
        self.leases.forget(self.spec.key)

    async def _exchange(self, msg: Message, to: str, wanted: set[int], xid: int, wait: float) -> Message | None:
        """Send `msg` and wait up to `wait` seconds for a reply of a `wanted` type to it."""
        loop = asyncio.get_running_loop()
        self.iface.expect(xid)
        try:
            await loop.sock_sendto(self.iface.sock, codec.encode(msg), (to, SERVER_PORT))
        except OSError as err:
            log.warning("%s: %s not sent to %s: %s", self.spec.key, codec.TYPE_NAMES[msg.type], to, err)
            await asyncio.sleep(wait)
            return None
        deadline = time.monotonic() + wait
        while (left := deadline - time.monotonic()) > 0:
            try:
                packet = await asyncio.wait_for(loop.sock_recv(self.iface.listener, 4096), left)
            except TimeoutError:
                return None
            try:
                reply = codec.decode(payload(packet) or b"")
            except codec.CodecError:
                continue
            if self.identity.answers(reply, xid) and reply.type in wanted:
                return reply
        return None


async def _sleep_until(when: float) -> None:
    await asyncio.sleep(max(0.0, when - time.time()))
