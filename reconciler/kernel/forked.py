"""Work done by a forked child while this process goes on: the child maps a function over items, in
order, and streams each result (bytes) back through a pipe; the parent takes them in the same order.

Used where the work is mostly the kernel's (entering namespaces, dumping them, reading files) and the
parent has its own to do meanwhile (parsing what came before): the two cores then overlap. The child
never writes anything but the pipe, and leaves by os._exit (no atexit, no stdio flushed twice). What
the child could not give (it failed on an item, or died) is None: the parent does that item itself.
"""

from __future__ import annotations

import fcntl
import os
import signal
import struct
from collections.abc import Callable, Sequence
from typing import BinaryIO

FRAME = struct.Struct("=i")  # the result's length; -1: the child failed on this item
PIPE_SIZE = 1 << 20  # fewer switches between the two (F_SETPIPE_SZ; the default is 64 KiB)
_F_SETPIPE_SZ = 1031
STOPPING = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Forked:
    """A child computing `work(item)` for each of `items`, in order; `close` when done."""

    def __init__(self, items: Sequence[str], work: Callable[[str], bytes]) -> None:
        self.items = list(items)
        self.index = {item: i for i, item in enumerate(self.items)}
        self.next = 0  # the index of the next result to read
        self.done = False
        read, write = os.pipe2(os.O_CLOEXEC)
        try:
            fcntl.fcntl(write, _F_SETPIPE_SZ, PIPE_SIZE)
        except OSError:
            pass  # a smaller pipe only costs switches
        # Signals wait until the child has its own handlers: the parent's are not for it to run.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, STOPPING)
        try:
            self.pid = os.fork()
            if self.pid == 0:
                os.close(read)
                _child(write, self.items, work, mask)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            os.close(write)
        self.pipe: BinaryIO = os.fdopen(read, "rb")

    def get(self, item: str) -> bytes | None:
        """The child's result for `item` (None: it has none; those it gave before `item` are dropped)."""
        position = self.index.get(item, -1)
        while not self.done and self.next <= position:
            self.next += 1
            result = self._read()
            if self.next > position:
                return result
        return None

    def _read(self) -> bytes | None:
        head = self.pipe.read(FRAME.size)
        if len(head) < FRAME.size:
            self.done = True  # the child died: the rest is the parent's to do
            return None
        (length,) = FRAME.unpack(head)
        if length < 0:
            return None
        data = self.pipe.read(length)
        if len(data) < length:
            self.done = True
            return None
        return data

    def close(self) -> None:
        """Stop reading: a child still writing meets a closed pipe and leaves; it is reaped here."""
        if self.pid:
            self.pipe.close()
            os.waitpid(self.pid, 0)
            self.pid = 0


def _child(fd: int, items: list[str], work: Callable[[str], bytes], mask: set[int | signal.Signals]) -> None:
    code = 0
    try:
        for signum in STOPPING:  # the parent's handlers (the watch's) are not ours to run: stop at once
            signal.signal(signum, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        for item in items:
            try:
                result = work(item)
            except Exception:  # noqa: BLE001 - any failure: the parent does this item itself
                _write(fd, FRAME.pack(-1))
                continue
            _write(fd, FRAME.pack(len(result)) + result)  # each at once: the parent parses while we read on
    except BaseException:  # noqa: BLE001 - the parent stopped reading, or we were interrupted
        code = 1
    finally:
        os._exit(code)


def _write(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
