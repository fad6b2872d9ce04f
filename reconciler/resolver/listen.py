"""The resolver's sockets on 127.0.0.11:53 inside an asker's namespace: the thread enters the namespace,
opens them, and comes back (a socket stays in the namespace it was made in)."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

from reconciler.kernel import netns

ADDRESS = "127.0.0.11"
PORT = 53
BACKLOG = 128
IP_FREEBIND = 15  # linux/in.h; the socket module has no name for it


@dataclass(frozen=True)
class Sockets:
    """A UDP and a listening TCP socket of one namespace, both non-blocking, and the inode of that
    namespace (what /run/netns/<name> showed when they were opened)."""

    udp: socket.socket
    tcp: socket.socket
    inode: int

    def close(self) -> None:
        self.udp.close()
        self.tcp.close()


def current_inode(name: str) -> int | None:
    """The inode of the namespace /run/netns/NAME names now; None when there is none."""
    found = netns.identity(name)
    return None if found is None else found[1]


def open_in(name: str, address: str = ADDRESS, port: int = PORT) -> Sockets:
    """Sockets bound to address:port in namespace NAME; OSError when it cannot be entered or bound."""
    with netns.entered(name):
        inode = os.stat("/proc/thread-self/ns/net").st_ino  # the namespace entered, not one named since
        udp = _bound(socket.SOCK_DGRAM, address, port)
        try:
            tcp = _bound(socket.SOCK_STREAM, address, port)
            tcp.listen(BACKLOG)
        except BaseException:
            udp.close()
            raise
    return Sockets(udp=udp, tcp=tcp, inode=inode)


def _bound(kind: int, address: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, kind | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC)
    try:
        # FREEBIND: bound even while lo is still down; REUSEADDR: a reload reopens at once after TIME_WAIT
        sock.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
    except BaseException:
        sock.close()
        raise
    return sock
