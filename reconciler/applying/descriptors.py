"""Descriptors our long-running processes will need for the planned state, against the open files
limit each will have: refused before any step when the resolver or the lease keeper would run out
(one that runs out serves some namespaces only, and the apply fails late, rolled back)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import cast

from reconciler.errors import PreflightError
from reconciler.kernel import dhcpstate, openfiles, resolverstate
from reconciler.kernel.openfiles import FileLimit
from reconciler.kernel.processstate import ProcessState
from reconciler.model import KernelObject
from reconciler.model.dhcp import LeaseKeeper
from reconciler.model.dns import Resolver

# Held while a load opens sockets, measured with the limit lowered: stdin, stdout, stderr, the log, the
# lock, the readiness pipe, epoll, asyncio's self-pipe (2), and netns.entered's two namespace handles;
# one more for a query forwarded, a TCP client or a status file written meanwhile.
BASE = 12


@dataclass(frozen=True)
class Daemon:
    """One of our processes: what it is called, its descriptors per item served, and what those are."""

    what: str
    per_item: int
    verb: str
    items: str
    process: ProcessState


RESOLVER = Daemon("the DNS resolver", 2, "serve", "namespaces", resolverstate.PROCESS)  # UDP + TCP on 127.0.0.11:53
LEASE_KEEPER = Daemon("the DHCP lease keeper", 3, "keep leases on", "interfaces",  # UDP, packet and rtnetlink sockets
                      dhcpstate.PROCESS)


def demands(desired: Sequence[KernelObject]) -> list[tuple[Daemon, int]]:
    """Each of our processes the desired state runs, with how many items it serves (in desired order)."""
    types = list(map(type, desired))  # found by list.index (their exact types), not a test per object: thousands
    found: list[tuple[int, Daemon, int]] = []
    for index in _indexes(types, Resolver):
        found.append((index, RESOLVER, len(cast(Resolver, desired[index]).serving)))
    for index in _indexes(types, LeaseKeeper):
        found.append((index, LEASE_KEEPER, len(cast(LeaseKeeper, desired[index]).clients)))
    return [(daemon, items) for _, daemon, items in sorted(found, key=itemgetter(0))]


def _indexes(types: list[type], wanted: type) -> list[int]:
    """Where `wanted` is in `types`."""
    found, index = [], -1
    for _ in range(types.count(wanted)):
        index = types.index(wanted, index + 1)
        found.append(index)
    return found


def needed(daemon: Daemon, items: int) -> int:
    """The descriptors `daemon` holds at most while it loads a state of `items` items."""
    return daemon.per_item * items + BASE


def problem(daemon: Daemon, items: int, limit: FileLimit) -> str:
    """Why `daemon` cannot serve `items` under `limit`; "" when it can."""
    need = needed(daemon, items)
    if need <= limit.value:
        return ""
    return (f"{daemon.what} would {daemon.verb} {items} {daemon.items} and needs {need} file descriptors; "
            f"{_allows(need, limit)}")


def _allows(need: int, limit: FileLimit) -> str:
    if limit.source == openfiles.RUNNING:
        return (f"the running one (pid {limit.pid}) allows {limit.value}, the open files limit it started with "
                f"(stop it, raise the limit, and apply again)")
    if limit.source == openfiles.CEILING:
        return (f"this host allows {limit.value} (fs.nr_open, the kernel's ceiling; raise it, e.g. "
                f"sysctl -w fs.nr_open={need})")
    return (f"this host allows {limit.value} (RLIMIT_NOFILE hard limit; raise it, e.g. LimitNOFILE= in the "
            f"systemd unit, or run with CAP_SYS_RESOURCE)")


LimitOf = Callable[[ProcessState], FileLimit]


def problems(desired: Sequence[KernelObject], limit_of: LimitOf = openfiles.of_process) -> list[str]:
    """One line per process of ours that would run out of descriptors."""
    return [p for p in (problem(d, n, limit_of(d.process)) for d, n in demands(desired)) if p]


def require(desired: Sequence[KernelObject], limit_of: LimitOf = openfiles.of_process) -> None:
    """PreflightError with problems(), if any."""
    found = problems(desired, limit_of)
    if found:
        raise PreflightError(found)
