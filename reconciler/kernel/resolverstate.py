"""The embedded resolver's files under /run/netreconcile/resolver (kernel.processstate): state.json, the
names it serves (written by apply), and status.json, what the running process loaded (written by it);
and the process observed from them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.kernel import netns
from reconciler.kernel.processstate import FILE_MODE, STATE, STATUS, ProcessState
from reconciler.model.dns import FORMAT_VERSION, Resolver

__all__ = ["FILE_MODE", "PROCESS", "STATE", "STATUS", "Served", "observe"]
PROCESS = ProcessState("resolver", "reconciler.resolver", FORMAT_VERSION)


class Served:
    """The namespaces served whose inode is still the one served, as last found, kept by a long-running
    reader (the watch's kernel cache) with what they were found from: the same while both are the very
    objects of the last call (the status kept while its file is the same, the watch's listing kept
    while no namespace came or went: a pass over them costs 0.3 ms at 1000 namespaces). Both are
    read-only: new ones are made, never changed in place."""

    def __init__(self) -> None:
        self.last: tuple[dict[str, Any], Mapping[str, int], tuple[str, ...]] | None = None  # serving, inodes, valid

    def valid(self, serving: dict[str, Any], now: Mapping[str, int]) -> tuple[str, ...]:
        last = self.last
        if last is not None and last[0] is serving and last[1] is now:
            return last[2]
        found = _valid(serving, now)
        self.last = (serving, now, found)
        return found


def observe(inodes: Mapping[str, int] | None = None, served: Served | None = None) -> Resolver | None:
    """The running resolver, serving only the namespaces whose sockets are still in the namespace of
    that name (one removed and made again is not served); None when none runs. `inodes`: the named
    namespaces' as just read (observe's own pass over the netns folder); else they are read here.
    `served`: what a long-running reader keeps of the last check (else it is made anew)."""
    body = PROCESS.live_status()
    if body is None:
        return None
    serving = body.get("serving")
    serving = serving if isinstance(serving, dict) else {}
    now = (netns.named_inodes() if inodes is None else inodes) if serving else {}
    valid = served.valid(serving, now) if served is not None else _valid(serving, now)
    state = PROCESS.read(STATE)
    return Resolver(str(body.get("digest", "")), valid, state=state.decode(errors="replace") if state else "")


def _valid(serving: dict[str, Any], now: Mapping[str, int]) -> tuple[str, ...]:
    """The namespaces served whose inode is still the one served."""
    return tuple(sorted(ns for ns, number in serving.items() if now.get(ns) == number))
