"""Whether nftables changed in this network namespace: every change nf_tables commits is announced to
the NFNLGRP_NFTABLES multicast group, and queued to each listener before the writer of the change hears
that it is done (so a change made before a read of the queue is in it)."""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable

from reconciler.errors import ForeignTable
from reconciler.model import NftTable

NETLINK_NETFILTER = 12
NFNLGRP_NFTABLES = 7
SOL_NETLINK, NETLINK_ADD_MEMBERSHIP = 270, 1


class NftEvents:
    """A listener to NFNLGRP_NFTABLES in this namespace (opening it needs CAP_NET_ADMIN): `changed`
    says whether anything was announced (or lost, the queue full) since it was last asked."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC,
                                  NETLINK_NETFILTER)
        try:
            self.sock.bind((0, 0))
            self.sock.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, NFNLGRP_NFTABLES)
        except OSError:
            self.sock.close()
            raise

    @classmethod
    def opened(cls) -> NftEvents | None:
        """One, or None where the kernel or our capabilities do not allow it."""
        try:
            return cls()
        except OSError:
            return None

    def changed(self) -> bool:
        changed = False
        while True:
            try:
                self.sock.recv(65536)
            except BlockingIOError:
                return changed
            except OSError as err:
                if err.errno != errno.ENOBUFS:  # ENOBUFS: some were lost, which is news too
                    raise
            changed = True

    def close(self) -> None:
        self.sock.close()


class KeptTable:
    """Our nftables table as last read (or the ForeignTable it raised), read again when `events` tell of
    any change to nftables here since, after `forget`, and every time without `events`."""

    def __init__(self, events: NftEvents | None) -> None:
        self.events = events
        self.kept: NftTable | ForeignTable | None = None
        self.valid = False

    def read(self, read: Callable[[], NftTable | None]) -> NftTable | None:
        if self.events is None or self.events.changed() or not self.valid:  # asked before reading: a change
            try:  # made meanwhile is told next time
                self.kept = read()
            except ForeignTable as err:
                self.kept = err
            self.valid = self.events is not None
        if isinstance(self.kept, ForeignTable):
            raise self.kept.with_traceback(None)
        return self.kept

    def forget(self) -> None:
        self.valid = False
