"""`apply --confirm-timeout N`, like `netplan try`: a detached child reverts the apply unless
`netreconcile confirm` arrives within N seconds. It holds the lock until then, so nothing else
changes the kernel meanwhile, and it survives the operator's session being cut."""

from __future__ import annotations

import os
import signal
import time

from reconciler.engine import ApplyResult, revert
from reconciler.errors import NetreconcileError, UsageError
from reconciler.kernel import runstate
from reconciler.kernel.session import Kernel

POLL = 0.1


def start(result: ApplyResult, timeout: float, paths: list[str]) -> int:
    """Fork the watcher; returns its pid to the caller (the child never returns)."""
    deadline = time.time() + timeout
    runstate.remove(runstate.CONFIRM)
    pid = os.fork()
    if pid:
        return pid
    try:
        os.setsid()
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        _detach_stdio()
        runstate.write_json(runstate.PENDING, {"pid": os.getpid(), "deadline": deadline, "steps": len(result.done)})
        _wait_or_revert(result, deadline, paths)
    finally:
        os._exit(0)


def _detach_stdio() -> None:
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)


def _wait_or_revert(result: ApplyResult, deadline: float, paths: list[str]) -> None:
    while time.time() < deadline:
        if runstate.exists(runstate.CONFIRM):
            runstate.remove(runstate.CONFIRM)
            runstate.record("confirmed", paths, steps=len(result.done))
            runstate.remove(runstate.PENDING)
            return
        time.sleep(POLL)
    try:
        with Kernel() as kernel:
            lost = revert(result, kernel)
        runstate.record("reverted", paths, steps=len(result.done), error="\n".join(["not confirmed in time", *lost]))
    except NetreconcileError as err:
        runstate.record("revert failed", paths, steps=len(result.done), error=str(err))
    runstate.remove(runstate.PENDING)


def confirm(wait: float = 5.0) -> None:
    """Keep the pending change: tell the watcher, and wait until it has taken note."""
    if not runstate.exists(runstate.PENDING):
        raise UsageError("nothing to confirm: no apply --confirm-timeout is waiting (it may have reverted already)")
    runstate.read_json(runstate.PENDING)  # one of another formatVersion is refused: its watcher may not read ours
    runstate.touch(runstate.CONFIRM)
    end = time.time() + wait
    while runstate.exists(runstate.PENDING) and time.time() < end:
        time.sleep(POLL / 2)
    if runstate.exists(runstate.PENDING):
        raise NetreconcileError("the pending apply did not answer the confirmation")
    last = runstate.last() or {}
    if last.get("result") != "confirmed":
        raise NetreconcileError(f"too late: the change was {last.get('result', 'reverted')}")
