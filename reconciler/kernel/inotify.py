"""What tells the kernel cache that a file or a mount changed, without asking each file: an inotify
instance read without blocking, and the mount table's change counter (a poll of /proc/self/mountinfo;
what changed told by the mounts' ids where the kernel has listmount, else by reading the table)."""

from __future__ import annotations

import ctypes
import os
import select
import struct
from collections.abc import Iterable

from reconciler.kernel.mountids import MountIds

IN_MODIFY, IN_ATTRIB, IN_CLOSE_WRITE = 0x2, 0x4, 0x8
IN_MOVED_FROM, IN_MOVED_TO, IN_CREATE, IN_DELETE = 0x40, 0x80, 0x100, 0x200
IN_DELETE_SELF, IN_MOVE_SELF, IN_UNMOUNT, IN_Q_OVERFLOW, IN_IGNORED = 0x400, 0x800, 0x2000, 0x4000, 0x8000
IN_ONLYDIR, IN_DONT_FOLLOW = 0x1000000, 0x2000000
IN_NONBLOCK, IN_CLOEXEC = os.O_NONBLOCK, os.O_CLOEXEC
EVENT = struct.Struct("iIII")  # struct inotify_event: wd, mask, cookie, len; then the name, NUL-padded
MOUNTINFO = "/proc/self/mountinfo"
HISTORY = 8  # generations whose changed mount points `since` tells
_libc = ctypes.CDLL(None, use_errno=True)

Event = tuple[int, int, str]  # watch descriptor (-1: the queue overflowed), mask, name ("" : the watched object itself)


class Inotify:
    """One inotify instance: `add` a watch, take the `events` that came since (never blocks)."""

    def __init__(self) -> None:
        self.fd = _libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")

    def add(self, path: str, mask: int) -> int:
        """The watch descriptor of `path` (the same for the same inode); OSError: none (ENOENT, ENOTDIR,
        ENOSPC when the user's watches ran out)."""
        wd = _libc.inotify_add_watch(self.fd, os.fsencode(path), mask)
        if wd < 0:
            code = ctypes.get_errno()
            raise OSError(code, f"inotify_add_watch {path}: {os.strerror(code)}")
        return int(wd)

    def events(self) -> list[Event]:
        """Every event queued since the last call."""
        out: list[Event] = []
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return out
            out += parse(data)

    def close(self) -> None:
        os.close(self.fd)


def parse(data: bytes) -> list[Event]:
    """The events of a buffer read from an inotify instance."""
    out, offset = [], 0
    while offset + EVENT.size <= len(data):
        wd, mask, _, length = EVENT.unpack_from(data, offset)
        name = data[offset + EVENT.size: offset + EVENT.size + length].rstrip(b"\0")
        out.append((wd, mask, os.fsdecode(name)))
        offset += EVENT.size + length
    return out


class MountTable:
    """This mount namespace's mount table (the lines of /proc/self/mountinfo), read again only when the
    kernel flagged a change (a mount or an unmount here, or one propagated from a peer) to poll(). With
    `ids` (listmount), the table is never read: what each change made or removed is told by the mounts'
    ids instead (`since`), a tenth of the cost at a thousand mounts (the table is a line per mount)."""

    def __init__(self, ids: MountIds | None = None) -> None:
        self.file = open(MOUNTINFO, "rb")  # noqa: SIM115 (kept open: the kernel's flag is per open file)
        self.poll = select.poll()
        self.poll.register(self.file, select.POLLPRI | select.POLLERR)
        self.generation = 0
        self.ids = ids
        self.changes: dict[int, set[bytes] | None] = {}  # by generation, with ids: the points changed
        self.lines: list[bytes] = []
        self.points: list[bytes] = []  # each line's mount point
        if ids is None:
            self._read()

    @classmethod
    def opened(cls) -> MountTable | None:
        """One, or None where /proc cannot tell (then the callers read what they need every time)."""
        try:
            return cls(MountIds.opened())
        except OSError:
            return None

    def refresh(self) -> int:
        """The table's generation: one more after each change flagged, the table read again (or, with
        ids, what changed asked of them)."""
        if self.poll.poll(0):  # before reading: a change made meanwhile is flagged for the next call
            self.generation += 1
            if self.ids is None:
                self._read()
            else:
                self.changes[self.generation] = self.ids.changed()
                self.changes.pop(self.generation - HISTORY, None)
        return self.generation

    def since(self, generation: int) -> set[bytes] | None:
        """With ids: the mount points of the mounts made or removed after `generation` up to now (as
        `refresh` last saw); None when that cannot be told (no ids, too long ago, a mount unknown)."""
        out: set[bytes] = set()
        for step in range(generation + 1, self.generation + 1):
            points = self.changes.get(step)
            if points is None:
                return None
            out |= points
        return out

    def on(self, path: str) -> frozenset[bytes]:
        """The mounts whose mount point is `path` or a folder above it: those that decide what it is."""
        target = os.fsencode(path)
        above = {b"/"} | {target[:i] for i in range(1, len(target)) if target[i:i + 1] == b"/"} | {target}
        return frozenset(line for where, line in zip(self.points, self.lines) if where in above)

    def below(self, path: str) -> frozenset[bytes]:
        """The mounts below `path`."""
        prefix = os.fsencode(path) + b"/"
        return frozenset(line for where, line in zip(self.points, self.lines) if where.startswith(prefix))

    def _read(self) -> None:
        self.file.seek(0)
        self.lines = self.file.read().splitlines()
        self.points = [point(line) for line in self.lines]

    def close(self) -> None:
        self.file.close()


def entries(lines: Iterable[bytes], path: str) -> set[bytes]:
    """The names of the entries of `path` these mounts (below it) are on, escaped as the kernel shows them."""
    prefix = os.fsencode(path) + b"/"
    return {point(line)[len(prefix):].split(b"/", 1)[0] for line in lines}


def point(line: bytes) -> bytes:
    """The mount point of a line of the mount table (octal escapes kept: \\040 for a space)."""
    return line.split(b" ", 5)[4]
