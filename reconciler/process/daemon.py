"""--daemon: detach from the terminal and the caller (fork, setsid, fork), every descriptor closed but
a pipe back to the caller, who waits on it and exits 0 once the process says it is ready, or prints
why it is not and exits 1."""

from __future__ import annotations

import os
import select
import sys

READY = b"ready\n"
WAIT = 60.0  # seconds the caller waits for readiness: far above a load of thousands of namespaces


class Report:
    """Tells the caller of --daemon how the start went (without --daemon: failures go to stderr)."""

    def __init__(self, fd: int | None) -> None:
        self.fd = fd

    def ready(self) -> None:
        self._send(READY)

    def failed(self, message: str) -> None:
        if self.fd is None:
            print(message, file=sys.stderr)
        self._send(message.encode() + b"\n")

    def _send(self, data: bytes) -> None:
        if self.fd is not None:
            try:
                os.write(self.fd, data)
                os.close(self.fd)
            except OSError:
                pass  # the caller gave up waiting
            self.fd = None


def detach(name: str) -> Report:
    """In the daemon (the caller's process never returns from here); `name` says who in messages."""
    read_end, write_end = os.pipe()
    if os.fork() > 0:
        os.close(write_end)
        _caller(read_end, name)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    os.close(read_end)
    os.chdir("/")
    _quiet()
    os.closerange(3, write_end)
    os.closerange(write_end + 1, os.sysconf("SC_OPEN_MAX"))
    return Report(write_end)


def _quiet() -> None:
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def _caller(read_end: int, name: str) -> None:
    ready, _, _ = select.select([read_end], [], [], WAIT)
    said = os.read(read_end, 4096) if ready else b""
    if said == READY:
        os._exit(0)
    sys.stderr.write(said.decode(errors="replace") if said else f"{name}: did not report readiness\n")
    sys.stderr.flush()
    os._exit(1)
