"""A kernel for unit tests of appliers and the executor, without root: it records the requests it is
sent instead of sending them (and can refuse one link's creation, as a kernel would)."""

from __future__ import annotations

import errno
import os
from typing import Any

Call = tuple[str | None, str, dict[str, Any]]


class Socket:
    """One namespace's rtnetlink socket: records every request made on it."""

    def __init__(self, ns: str | None, calls: list[Call], refused: str | None) -> None:
        self.ns, self.calls, self.refused = ns, calls, refused

    def __getattr__(self, request: str) -> Any:
        def record(*args: Any, **attrs: Any) -> None:
            self.calls.append((self.ns, request, {"args": args, **attrs}))
            if request == "new_link" and args[0] == self.refused:
                raise OSError(errno.EPERM, os.strerror(errno.EPERM))
        return record


class Recorder:
    """A kernel that records requests: links have indexes 1, 2, ... in the order first asked for; the
    creation of a link named `refused` fails (EPERM)."""

    def __init__(self, refused: str | None = None) -> None:
        self.refused = refused
        self.calls: list[Call] = []
        self.indexes: dict[tuple[str | None, str], int] = {}

    def raw(self, ns: str | None = None) -> Socket:
        return Socket(ns, self.calls, self.refused)

    def index(self, ns: str | None, ifname: str) -> int:
        return self.indexes.setdefault((ns, ifname), len(self.indexes) + 1)

    def write_sysctl(self, ns: str | None, key: str, value: str) -> None:
        self.calls.append((ns, "sysctl", {key: value}))
