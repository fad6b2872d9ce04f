"""The embedded resolver's files under /run/netreconcile/resolver (kernel.processstate): state.json, the
names it serves (written by apply), and status.json, what the running process loaded (written by it);
and the process observed from them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.kernel import netns
from reconciler.kernel.processstate import FILE_MODE, STATE, STATUS, ProcessState
from reconciler.model.dns import FORMAT_VERSION, Resolver

__all__ = ["FILE_MODE", "PROCESS", "STATE", "STATUS", "observe"]
PROCESS = ProcessState("resolver", "reconciler.resolver", FORMAT_VERSION)
_LAST: list[tuple[dict[str, Any], Mapping[str, int], tuple[str, ...]]] = []  # serving, inodes, those valid


def observe(inodes: Mapping[str, int] | None = None) -> Resolver | None:
    """The running resolver, serving only the namespaces whose sockets are still in the namespace of
    that name (one removed and made again is not served); None when none runs. `inodes`: the named
    namespaces' as just read (observe's own pass over the netns folder); else they are read here."""
    body = PROCESS.live_status()
    if body is None:
        return None
    serving = body.get("serving")
    serving = serving if isinstance(serving, dict) else {}
    now = (netns.named_inodes() if inodes is None else inodes) if serving else {}
    valid = _valid(serving, now)
    state = PROCESS.read(STATE)
    return Resolver(str(body.get("digest", "")), valid, state=state.decode(errors="replace") if state else "")


def _valid(serving: dict[str, Any], now: Mapping[str, int]) -> tuple[str, ...]:
    """The namespaces served whose inode is still the one served; the same while both are the very
    objects of the last call (the status kept while its file is the same, the watch's listing kept
    while no namespace came or went: a pass over them costs 0.3 ms at 1000 namespaces). Both are
    read-only: new ones are made, never changed in place."""
    if _LAST and _LAST[0][0] is serving and _LAST[0][1] is now:
        return _LAST[0][2]
    valid = tuple(sorted(ns for ns, number in serving.items() if now.get(ns) == number))
    _LAST[:] = [(serving, now, valid)]
    return valid
