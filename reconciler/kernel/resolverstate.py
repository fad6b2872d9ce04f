"""The embedded resolver's files under /run/netreconcile/resolver (kernel.processstate): state.json, the
names it serves (written by apply), and status.json, what the running process loaded (written by it);
and the process observed from them."""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.kernel import netns
from reconciler.kernel.processstate import FILE_MODE, STATE, STATUS, ProcessState
from reconciler.model.dns import FORMAT_VERSION, Resolver

__all__ = ["FILE_MODE", "PROCESS", "STATE", "STATUS", "observe"]
PROCESS = ProcessState("resolver", "reconciler.resolver", FORMAT_VERSION)


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
    valid = tuple(sorted(ns for ns, number in serving.items() if now.get(ns) == number))
    state = PROCESS.read(STATE)
    return Resolver(str(body.get("digest", "")), valid, state=state.decode(errors="replace") if state else "")
