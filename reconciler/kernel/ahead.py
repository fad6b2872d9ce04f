"""A one-shot `plan`'s kernel, read ahead: a child forked as the command starts, before its modules load,
reads the host's links and every named namespace (kernel/forked.py, kernel/nsread.py) while this process
loads its modules and its manifests (a core would idle otherwise: 150 ms at 1000 endpoints). The plan's
observe takes what it gave (kernel/observe.py's Reader): the kernel is still read afresh by each command;
a namespace listed at the observe and not when the child started, the observe reads itself.
"""

from __future__ import annotations

from collections.abc import Callable

from reconciler.kernel import netns
from reconciler.kernel.forked import Forked
from reconciler.kernel.names import is_text

HOST = ""  # the host among the child's items (no namespace is named so): its links, read first
FEWEST = 64  # namespaces: with fewer, starting the child costs more than it saves (as observe's FORK_FROM)
_started: Forked | None = None


def start(work: Callable[[str], bytes]) -> None:
    """Fork the child computing `work(item)` for the host, then each named namespace."""
    global _started  # one command, one child read ahead, taken once
    try:
        names = [n for n in netns.list_names() if is_text(n)]
        if len(names) >= FEWEST:
            _started = Forked([HOST, *names], work)
    except OSError:
        _started = None  # no process or pipe to be had (or no /run/netns to list): the observe reads alone


def take() -> Forked | None:
    """The child started ahead, now the caller's to close (None: there is none)."""
    global _started
    started, _started = _started, None
    return started


def stop() -> None:
    """Close the child if nobody took it (the command ended before its observe)."""
    started = take()
    if started is not None:
        started.close()
