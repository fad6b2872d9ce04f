"""The open files limit (RLIMIT_NOFILE) of our long-running processes, which hold sockets in every
namespace they serve: raised as far as the kernel lets us at their start, and what that limit will
be (or is, for one already running) for the check made before an apply."""

from __future__ import annotations

import resource
from dataclasses import dataclass

from reconciler.kernel.processstate import ProcessState

NR_OPEN = "/proc/sys/fs/nr_open"
HARD, CEILING, RUNNING = "RLIMIT_NOFILE hard limit", "fs.nr_open", "running"


@dataclass(frozen=True)
class FileLimit:
    """How many descriptors a process of ours may hold, and what sets that: the hard limit it inherits
    (HARD), the kernel's ceiling it raised its hard limit to (CEILING), or, for a process already
    running (RUNNING, with its pid), the limit it started with."""

    value: int
    source: str
    pid: int | None = None


def raise_limit() -> FileLimit:
    """The soft limit (1024 under systemd) raised to the hard one, and the hard one, where
    CAP_SYS_RESOURCE allows it, to the kernel's ceiling (fs.nr_open): a hard limit of 20,000 stopped
    the resolver at 9,994 of 10,000 namespaces. The limit this process has now."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    ceiling = _nr_open(hard)
    for limit in dict.fromkeys((max(hard, ceiling), hard)):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
        except (ValueError, OSError):  # not root (no CAP_SYS_RESOURCE): the hard limit stays
            continue
        return FileLimit(limit, CEILING if limit >= ceiling else HARD)
    return FileLimit(resource.getrlimit(resource.RLIMIT_NOFILE)[0], HARD)


def for_new_process() -> FileLimit:
    """The limit a process of ours started from this one will have (it inherits our limits, then calls
    raise_limit): raise_limit tried here, then undone (lowering a limit is always allowed)."""
    before = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        return raise_limit()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, before)


def of_process(process: ProcessState) -> FileLimit:
    """The limit of `process`: that of the one running (a reload keeps it), else for_new_process()."""
    pid = process.pid_of_status()
    running = running_limit(pid) if pid is not None else None
    return FileLimit(running, RUNNING, pid) if running is not None else for_new_process()


def running_limit(pid: int) -> int | None:
    """The soft open files limit of process `pid` (/proc/PID/limits); None when it cannot be read."""
    try:
        with open(f"/proc/{pid}/limits") as f:
            rows = [line for line in f if line.startswith("Max open files")]
    except OSError:
        return None
    soft = rows[0].split()[3] if rows else ""
    return int(soft) if soft.isdigit() else None


def _nr_open(hard: int) -> int:
    try:
        with open(NR_OPEN) as f:
            return int(f.read())
    except (OSError, ValueError):
        return hard
