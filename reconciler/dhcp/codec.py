"""DHCPv4 messages (RFC 2131) and the options we use (RFC 2132): the fixed fields, then options as
type-length-value after the magic cookie. Pure: bytes in, bytes out."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from ipaddress import IPv4Address

BOOTREQUEST, BOOTREPLY = 1, 2
HTYPE_ETHER = 1
BROADCAST_FLAG = 0x8000
COOKIE = b"\x63\x82\x53\x63"
FIXED = struct.Struct("!BBBBIHH4s4s4s4s16s64s128s")  # op htype hlen hops xid secs flags ciaddr yiaddr siaddr giaddr chaddr sname file
ZERO = IPv4Address(0)

DISCOVER, OFFER, REQUEST, DECLINE, ACK, NAK, RELEASE, INFORM = range(1, 9)
TYPE_NAMES = {DISCOVER: "DISCOVER", OFFER: "OFFER", REQUEST: "REQUEST", DECLINE: "DECLINE", ACK: "ACK",
              NAK: "NAK", RELEASE: "RELEASE", INFORM: "INFORM"}

PAD, END = 0, 255
SUBNET_MASK, ROUTER, DNS_SERVERS, HOST_NAME, DOMAIN_NAME = 1, 3, 6, 12, 15
REQUESTED_ADDRESS, LEASE_TIME, MESSAGE_TYPE, SERVER_ID, PARAMETERS = 50, 51, 53, 54, 55
MESSAGE, MAX_SIZE, RENEWAL_T1, REBINDING_T2, CLIENT_ID = 56, 57, 58, 59, 61
ASKED = bytes([SUBNET_MASK, ROUTER, DNS_SERVERS, DOMAIN_NAME, LEASE_TIME, RENEWAL_T1, REBINDING_T2])


class CodecError(ValueError):
    """Bytes that are not a DHCP message we can read (ignored by the client, as RFC 2131 says)."""


@dataclass(frozen=True)
class Message:
    """One DHCP message: the fixed fields we use and the options, by code (raw values)."""

    op: int
    xid: int
    chaddr: bytes  # the client's hardware address (6 bytes for Ethernet)
    options: dict[int, bytes] = field(default_factory=dict)
    flags: int = 0
    secs: int = 0
    ciaddr: IPv4Address = ZERO
    yiaddr: IPv4Address = ZERO
    siaddr: IPv4Address = ZERO
    giaddr: IPv4Address = ZERO

    @property
    def type(self) -> int:
        value = self.options.get(MESSAGE_TYPE, b"")
        return value[0] if len(value) == 1 else 0

    def address(self, code: int) -> IPv4Address | None:
        value = self.options.get(code, b"")
        return IPv4Address(value[:4]) if len(value) >= 4 else None

    def addresses(self, code: int) -> tuple[IPv4Address, ...]:
        value = self.options.get(code, b"")
        return tuple(IPv4Address(value[i:i + 4]) for i in range(0, len(value) - len(value) % 4, 4))

    def seconds(self, code: int) -> int | None:
        value = self.options.get(code, b"")
        return int.from_bytes(value[:4], "big") if len(value) >= 4 else None

    def text(self, code: int) -> str:
        return self.options.get(code, b"").rstrip(b"\0").decode(errors="replace")


def encode(msg: Message) -> bytes:
    fixed = FIXED.pack(msg.op, HTYPE_ETHER, len(msg.chaddr), 0, msg.xid, msg.secs, msg.flags, msg.ciaddr.packed,
                       msg.yiaddr.packed, msg.siaddr.packed, msg.giaddr.packed, msg.chaddr.ljust(16, b"\0"),
                       b"", b"")
    options = b"".join(_option(code, value) for code, value in msg.options.items())
    body = fixed + COOKIE + options + bytes([END])
    return body.ljust(300, b"\0")  # BOOTP's minimum: some relays and servers drop shorter messages


def _option(code: int, value: bytes) -> bytes:
    chunks = [value[i:i + 255] for i in range(0, len(value), 255)] or [b""]  # RFC 3396: long values split
    return b"".join(bytes([code, len(c)]) + c for c in chunks)


def decode(data: bytes) -> Message:
    """The message in `data`; CodecError when it is not a DHCP message."""
    if len(data) < FIXED.size + len(COOKIE) or data[FIXED.size:FIXED.size + 4] != COOKIE:
        raise CodecError("not a DHCP message (too short, or no magic cookie)")
    op, _, hlen, _, xid, secs, flags, ciaddr, yiaddr, siaddr, giaddr, chaddr, _, _ = FIXED.unpack_from(data)
    return Message(op=op, xid=xid, chaddr=chaddr[:min(hlen, 16)], options=_options(data[FIXED.size + 4:]),
                   flags=flags, secs=secs, ciaddr=IPv4Address(ciaddr), yiaddr=IPv4Address(yiaddr),
                   siaddr=IPv4Address(siaddr), giaddr=IPv4Address(giaddr))


def _options(data: bytes) -> dict[int, bytes]:
    options: dict[int, bytes] = {}
    i = 0
    while i < len(data):
        code = data[i]
        if code == END:
            break
        if code == PAD:
            i += 1
            continue
        if i + 1 >= len(data) or i + 2 + data[i + 1] > len(data):
            raise CodecError(f"option {code} runs past the end of the message")
        length = data[i + 1]
        options[code] = options.get(code, b"") + data[i + 2:i + 2 + length]
        i += 2 + length
    return options


def prefix_length(mask: IPv4Address | None) -> int | None:
    """The prefix length of a subnet mask; None when the mask is missing or not contiguous."""
    if mask is None:
        return None
    bits = f"{int(mask):032b}"
    return None if "01" in bits else bits.count("1")
