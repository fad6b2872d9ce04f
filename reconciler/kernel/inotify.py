"""Entries of a folder created, renamed or removed, as inotify reports them: what wakes a wait on a file
written by another process (at once, where a poll wakes up to its period late), and what tells the
resolver that a namespace was removed."""

from __future__ import annotations

import ctypes
import os
import select
import struct
import time
from typing import Self

IN_MOVED_FROM, IN_MOVED_TO, IN_DELETE = 0x40, 0x80, 0x200
IN_ONLYDIR = 0x01000000
EVENT = struct.Struct("iIII")  # struct inotify_event: wd, mask, cookie, len; then the name, NUL-padded
_libc = ctypes.CDLL(None, use_errno=True)


class Watch:
    """An inotify descriptor (non-blocking) watching one folder for the events of `mask`."""

    def __init__(self, directory: str, mask: int) -> None:
        self.fd = _libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        if _libc.inotify_add_watch(self.fd, os.fsencode(directory), mask | IN_ONLYDIR) < 0:
            err = ctypes.get_errno()
            os.close(self.fd)
            raise OSError(err, f"inotify_add_watch {directory}")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read(self) -> list[str]:
        """The names of the entries of the events that came since the last read ([]: none)."""
        try:
            return names(os.read(self.fd, 65536))
        except BlockingIOError:
            return []

    def wait_for(self, name: str, timeout: float) -> bool:
        """Whether an event about entry `name` comes within `timeout` seconds (those about others are
        read and passed over)."""
        deadline = time.monotonic() + timeout
        poller = select.poll()
        poller.register(self.fd, select.POLLIN)
        while (left := deadline - time.monotonic()) > 0:
            if poller.poll(left * 1000) and name in self.read():
                return True
        return False

    def close(self) -> None:
        os.close(self.fd)


def names(data: bytes) -> list[str]:
    """The names in a buffer of inotify events (decoded as the kernel's names are: bytes kept)."""
    out, offset = [], 0
    while offset + EVENT.size <= len(data):
        _, _, _, length = EVENT.unpack_from(data, offset)
        raw = data[offset + EVENT.size: offset + EVENT.size + length].rstrip(b"\0")
        out.append(os.fsdecode(raw))
        offset += EVENT.size + length
    return out
