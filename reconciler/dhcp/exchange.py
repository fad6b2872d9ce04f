"""The messages one client sends (RFC 2131 section 4.4), built from what it knows, and the replies it
takes: those to its transaction and hardware address."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from ipaddress import IPv4Address

from reconciler.dhcp import codec
from reconciler.dhcp.codec import Message
from reconciler.dhcp.lease import Lease

MAX_MESSAGE = 1500
DEFAULT_LEASE = 3600


@dataclass(frozen=True)
class Identity:
    """Who the client is to the server: its MAC (chaddr) and client identifier (option 61); whether
    it asks for replies to be broadcast."""

    mac: bytes
    client_id: bytes
    broadcast: bool = False

    def request(self, kind: int, xid: int, *, ciaddr: IPv4Address = codec.ZERO, requested: str | None = None,
                server: str | None = None) -> Message:
        options = {codec.MESSAGE_TYPE: bytes([kind]), codec.CLIENT_ID: self.client_id}
        if requested is not None:
            options[codec.REQUESTED_ADDRESS] = IPv4Address(requested).packed
        if server is not None:
            options[codec.SERVER_ID] = IPv4Address(server).packed
        if kind != codec.RELEASE:
            options[codec.PARAMETERS] = codec.ASKED
            options[codec.MAX_SIZE] = MAX_MESSAGE.to_bytes(2, "big")
        # ipvlans share the parent's MAC: a reply unicast to chaddr could reach any of them
        flags = codec.BROADCAST_FLAG if self.broadcast and ciaddr == codec.ZERO else 0
        return Message(codec.BOOTREQUEST, xid, self.mac, options, flags=flags, ciaddr=ciaddr)

    def discover(self, xid: int) -> Message:
        return self.request(codec.DISCOVER, xid)

    def select(self, xid: int, offer: Message) -> Message:
        """REQUEST in SELECTING: the offered address from the server that offered it."""
        server = offer.address(codec.SERVER_ID)
        return self.request(codec.REQUEST, xid, requested=str(offer.yiaddr), server=str(server) if server else None)

    def init_reboot(self, xid: int, lease: Lease) -> Message:
        return self.request(codec.REQUEST, xid, requested=lease.address)

    def renew(self, xid: int, lease: Lease) -> Message:
        """REQUEST in RENEWING and REBINDING: ciaddr the address held, no server id, no requested address."""
        return self.request(codec.REQUEST, xid, ciaddr=IPv4Address(lease.address))

    def release(self, xid: int, lease: Lease) -> Message:
        return self.request(codec.RELEASE, xid, ciaddr=IPv4Address(lease.address), server=lease.server)

    def answers(self, reply: Message, xid: int) -> bool:
        return reply.op == codec.BOOTREPLY and reply.xid == xid and reply.chaddr[:len(self.mac)] == self.mac


def new_xid() -> int:
    return random.getrandbits(32)


def lease_of(ack: Message, client_id: str, fallback_server: str | None = None) -> Lease | None:
    """The lease an ACK gives; None when it gives no usable address."""
    if ack.yiaddr == codec.ZERO:
        return None
    time_ = ack.seconds(codec.LEASE_TIME) or DEFAULT_LEASE
    t1 = ack.seconds(codec.RENEWAL_T1) or time_ // 2
    t2 = ack.seconds(codec.REBINDING_T2) or time_ * 7 // 8
    t1, t2 = min(t1, time_), min(max(t2, t1), time_)
    prefix = codec.prefix_length(ack.address(codec.SUBNET_MASK)) or _classful(ack.yiaddr)
    server = ack.address(codec.SERVER_ID)
    routers = ack.addresses(codec.ROUTER)
    return Lease(address=str(ack.yiaddr), prefix=prefix, server=str(server) if server else (fallback_server or ""),
                 acquired=time.time(), time=time_, t1=t1, t2=t2, router=str(routers[0]) if routers else None,
                 dns=tuple(str(a) for a in ack.addresses(codec.DNS_SERVERS)), client_id=client_id)


def _classful(address: IPv4Address) -> int:
    """No subnet mask option: the class of the address (RFC 2131 leaves it to the client)."""
    first = address.packed[0]
    return 8 if first < 128 else 16 if first < 192 else 24
