"""The DHCP lease keeper's files under /run/netreconcile/dhcp (kernel.processstate), and the keeper
observed from them: the interfaces it keeps leases on, each with its lease."""

from __future__ import annotations

from typing import Any

from reconciler.kernel.processstate import STATE, ProcessState, inode
from reconciler.model.dhcp import FORMAT_VERSION, HeldLease, LeaseKeeper

PROCESS = ProcessState("dhcp", "reconciler.dhcp", FORMAT_VERSION)


def observe() -> LeaseKeeper | None:
    """The running keeper, keeping only the interfaces whose namespace is still the one it opened
    their socket in; None when none runs."""
    body = PROCESS.live_status()
    if body is None:
        return None
    clients = body.get("clients")
    clients = clients if isinstance(clients, dict) else {}
    valid = {k: c for k, c in clients.items() if isinstance(c, dict) and inode(k.split("/")[0]) == c.get("inode")}
    state = PROCESS.read(STATE)
    conflicts = body.get("conflicts")
    return LeaseKeeper(str(body.get("digest", "")), tuple(sorted(valid)),
                       state=state.decode(errors="replace") if state else "",
                       leases=tuple(_held(k, c) for k, c in sorted(valid.items())),
                       conflicts=tuple(tuple(str(x) for x in c) for c in conflicts) if isinstance(conflicts, list) else ())


def _held(key: str, raw: dict[str, Any]) -> HeldLease:
    return HeldLease(key, str(raw.get("phase", "")), raw.get("address"), raw.get("router"), tuple(raw.get("dns") or ()),
                     float(raw.get("expires", 0.0)), float(raw.get("renews", 0.0)))


def lease_servers(keys: tuple[str, ...]) -> tuple[str, ...]:
    """The name servers the leases of these interfaces (ns/ifname) give, in their order, at most three."""
    body = PROCESS.status()
    clients = body.get("clients") if body else None
    if not isinstance(clients, dict):
        return ()
    found = [str(s) for k in keys if isinstance(clients.get(k), dict) for s in clients[k].get("dns") or ()]
    return tuple(dict.fromkeys(found))[:3]
