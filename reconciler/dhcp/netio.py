"""The lease keeper's hands in an endpoint's namespace: a UDP socket on port 68 bound to the interface
to send (SO_BINDTODEVICE: out of that interface; SO_BROADCAST: to 255.255.255.255, from 0.0.0.0 before
it holds an address); a packet socket on the interface to hear the replies (a server unicasts an offer
to an address the interface does not hold yet, which the IP stack would drop), a filter letting in
only replies to the current transaction; and the address and default route a lease gives, over rtnetlink."""

from __future__ import annotations

import ctypes
import os
import socket
import struct
from dataclasses import dataclass

from reconciler.kernel import netns, rtnl
from reconciler.kernel.rtnl_client import RtnlClient

CLIENT_PORT, SERVER_PORT = 68, 67
RTPROT_DHCP = 16  # rtm_protocol "dhcp": observe adopts only ours (113), so the route is the keeper's alone
DEFAULT = "0.0.0.0/0"
SO_ATTACH_FILTER = 26
ETH_P_IP = 0x0800
XID = -1  # in FILTER: the transaction id
# cBPF over the IPv4 packet: UDP, not a fragment, to port 68, its xid (after the UDP header, op, htype,
# hlen, hops) the one awaited: kept; anything else: dropped in the kernel.
FILTER = (
    (0x30, 0, 0, 9), (0x15, 0, 8, socket.IPPROTO_UDP),   # ldb [9]; jeq #17 else drop
    (0x28, 0, 0, 6), (0x45, 6, 0, 0x1FFF),              # ldh [6]; jset #0x1fff (a fragment): drop
    (0xB1, 0, 0, 0), (0x48, 0, 0, 2),                   # ldxb 4*([0]&0xf); ldh [x+2]
    (0x15, 0, 3, CLIENT_PORT),                          # jeq #68 else drop
    (0x40, 0, 0, 8 + 4), (0x15, 0, 1, XID),             # ld [x+12]; jeq #xid else drop
    (0x06, 0, 0, 0x40000), (0x06, 0, 0, 0),             # keep; drop
)
NOTHING = ((0x06, 0, 0, 0),)  # the UDP socket only sends: nothing is queued on it


def attach(sock: socket.socket, program: tuple[tuple[int, int, int, int], ...], xid: int = 0) -> None:
    code = b"".join(struct.pack("HBBI", op, jt, jf, xid if k == XID else k) for op, jt, jf, k in program)
    buffer = ctypes.create_string_buffer(code)
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, struct.pack("HL", len(program), ctypes.addressof(buffer)))


def payload(packet: bytes) -> bytes | None:
    """The UDP payload of an IPv4 packet (what the filter let in); None when it is cut short."""
    if len(packet) < 20:
        return None
    start = (packet[0] & 0x0F) * 4 + 8
    return packet[start:] if len(packet) > start else None


@dataclass
class Interface:
    """One endpoint interface as the keeper holds it: its socket, its rtnetlink client, its MAC, and
    the inode of the namespace it was opened in."""

    ns: str
    ifname: str
    sock: socket.socket
    listener: socket.socket
    rtnl: RtnlClient
    index: int
    mac: bytes
    inode: int

    def close(self) -> None:
        self.sock.close()
        self.listener.close()
        self.rtnl.close()

    def expect(self, xid: int) -> None:
        """Only replies to transaction `xid` reach the listener (an interface on a LAN hears every
        broadcast reply, to every client: 200 interfaces would each wake for 200 replies)."""
        attach(self.listener, FILTER, xid)

    def hold(self, address: str, prefix: int, lifetime: int) -> None:
        """The address, added or its lifetime renewed; the kernel drops it if the keeper never renews."""
        self.rtnl.address(self.index, address, prefix, lifetime=(lifetime, lifetime))

    def drop(self, address: str, prefix: int) -> None:
        try:
            self.rtnl.address(self.index, address, prefix, delete=True)
        except OSError:
            pass  # gone already: the lifetime ran out, or the interface went

    def route(self, router: str | None, delete: bool = False) -> None:
        """The default route via the lease's router (replaced in place when the router changes)."""
        try:
            self.rtnl.route(DEFAULT, router, table=rtnl.RT_TABLE_MAIN, protocol=RTPROT_DHCP,
                            scope=rtnl.RT_SCOPE_UNIVERSE, oif=self.index, delete=delete)
        except OSError:
            if not delete:
                raise


def open_interface(ns: str, ifname: str) -> Interface:
    """The interface's socket and netlink client, made inside its namespace; OSError when it is not there."""
    with netns.entered(ns):
        inode = os.stat("/proc/thread-self/ns/net").st_ino
        client = RtnlClient()
        try:
            index = client.link_index(ifname)
            mac = bytes.fromhex(client.get_link(index).mac.replace(":", ""))
            sock = _socket(ifname)
            listener = _listener(ifname)
        except BaseException:
            client.close()
            raise
    return Interface(ns, ifname, sock, listener, client, index, mac, inode)


def _socket(ifname: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # two interfaces of one namespace: two sockets on :68
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
        sock.bind(("0.0.0.0", CLIENT_PORT))
        attach(sock, NOTHING)
    except BaseException:
        sock.close()
        raise
    return sock


def _listener(ifname: str) -> socket.socket:
    """A packet socket (IPv4, without the link header) on the interface, hearing nothing until `expect`."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC,
                         socket.htons(ETH_P_IP))
    try:
        attach(sock, NOTHING)
        sock.bind((ifname, ETH_P_IP))  # the filter first: nothing of other interfaces is queued before the bind
    except BaseException:
        sock.close()
        raise
    return sock
