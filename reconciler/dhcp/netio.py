"""The lease keeper's hands in an endpoint's namespace: a UDP socket on port 68 bound to the interface
(SO_BINDTODEVICE: it hears only that interface; SO_BROADCAST: it may send to 255.255.255.255 from
0.0.0.0 before it holds an address), and the address and default route a lease gives, over rtnetlink."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

from reconciler.kernel import netns, rtnl
from reconciler.kernel.rtnl_client import RtnlClient

CLIENT_PORT, SERVER_PORT = 68, 67
RTPROT_DHCP = 16  # rtm_protocol "dhcp": observe adopts only ours (113), so the route is the keeper's alone
DEFAULT = "0.0.0.0/0"


@dataclass
class Interface:
    """One endpoint interface as the keeper holds it: its socket, its rtnetlink client, its MAC, and
    the inode of the namespace it was opened in."""

    ns: str
    ifname: str
    sock: socket.socket
    rtnl: RtnlClient
    index: int
    mac: bytes
    inode: int

    def close(self) -> None:
        self.sock.close()
        self.rtnl.close()

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
        except BaseException:
            client.close()
            raise
    return Interface(ns, ifname, sock, client, index, mac, inode)


def _socket(ifname: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # two interfaces of one namespace: two sockets on :68
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
        sock.bind(("0.0.0.0", CLIENT_PORT))
    except BaseException:
        sock.close()
        raise
    return sock
