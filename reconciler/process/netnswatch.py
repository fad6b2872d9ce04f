"""Namespaces removed from /run/netns, as inotify reports them: the resolver lets go of one at once, so
that its sockets never keep a removed namespace alive (a namespace lives while a socket of it is open,
and with it the links inside: a veth's host end would stay, and no event would say it went)."""

from __future__ import annotations

import asyncio
import ctypes
import os
import struct
from collections.abc import Callable

IN_MOVED_FROM, IN_DELETE = 0x40, 0x200
IN_NONBLOCK, IN_CLOEXEC = os.O_NONBLOCK, os.O_CLOEXEC
EVENT = struct.Struct("iIII")  # struct inotify_event: wd, mask, cookie, len; then the name, NUL-padded
_libc = ctypes.CDLL(None, use_errno=True)


class NetnsWatch:
    """Calls `gone(name)` for each entry removed from `directory`, from the running loop."""

    def __init__(self, directory: str, gone: Callable[[str], None]) -> None:
        self.gone = gone
        self.fd = _libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        if _libc.inotify_add_watch(self.fd, directory.encode(), IN_DELETE | IN_MOVED_FROM) < 0:
            err = ctypes.get_errno()
            os.close(self.fd)
            raise OSError(err, f"inotify_add_watch {directory}")
        asyncio.get_running_loop().add_reader(self.fd, self._read)

    def _read(self) -> None:
        try:
            data = os.read(self.fd, 65536)
        except BlockingIOError:
            return
        for name in names(data):
            self.gone(name)

    def close(self) -> None:
        asyncio.get_running_loop().remove_reader(self.fd)
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
