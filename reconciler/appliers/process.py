"""What the appliers of our long-running processes (the resolver, the DHCP lease keeper) share: a new
state written then the process started (detached: it outlives this command) or told by SIGHUP, a wait
until its status says it took the state, and SIGTERM to stop it.

A run that will start one may start its Python early (`early`): it loads its modules while the steps
before run on the other core, then waits, doing nothing else, until `start` tells it to go on; one
never told (the run ended first, or failed, or was killed) reads the end of its input and exits."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from reconciler.errors import ApplyError
from reconciler.kernel.inotify import (
    IN_CLOSE_WRITE,
    IN_DONT_FOLLOW,
    IN_MOVED_TO,
    IN_ONLYDIR,
    Inotify,
)
from reconciler.kernel.processstate import ProcessState

READY_WITHIN = 60.0  # seconds for the process to start and load a state (an emulated VM is slow)
STOP_WITHIN = 3.0
POLL = 0.005
FINE_POLL, FINE_FOR = 0.001, 1.0
WHEN_TOLD = "--when-told"  # the option that makes a process wait for GO on its stdin before it starts
GO = "go\n"
WRITTEN = IN_CLOSE_WRITE | IN_MOVED_TO | IN_ONLYDIR | IN_DONT_FOLLOW

_early: dict[str, subprocess.Popen[str]] = {}  # by module: the processes started early, not told yet


def load(process: ProcessState, state: str, what: str) -> None:
    """`state` written; the process started if none runs, else told to load it again."""
    process.write_state(state)
    pid = process.pid_of_status()
    if pid is None:
        start(process, what)
    else:
        os.kill(pid, signal.SIGHUP)


def start(process: ProcessState, what: str) -> None:
    """The process, detached (its own session, no terminal). It returns once ready, or says why not."""
    name = process.dir_name
    told = _early.pop(process.module, None)
    child = told or _spawn(process, early=False)
    try:
        _, err = child.communicate(GO if told else None, timeout=READY_WITHIN)
    except subprocess.TimeoutExpired:
        _end(child)
        raise ApplyError(f"{what} did not start within {READY_WITHIN:.0f} s (see {process.state_dir()}/{name}.log)") from None
    if child.returncode != 0:
        why = err.strip().splitlines()[-1] if err.strip() else f"exit status {child.returncode}"
        raise ApplyError(f"{what} did not start: {why}")


@contextmanager
def early(process: ProcessState) -> Iterator[None]:
    """The process's Python started now, for a `start` within the body; at the end, one not told to
    go on yet is ended (it has done nothing but load its modules). One that cannot be started now is
    started by `start`, which says why if it cannot either."""
    try:
        child = _spawn(process, early=True)
    except OSError:
        yield
        return
    _early[process.module] = child
    try:
        yield
    finally:
        if _early.get(process.module) is child:
            del _early[process.module]
            _end(child)


def _spawn(process: ProcessState, early: bool) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", process.module, "--daemon", "--state-dir", process.state_dir()]
    return subprocess.Popen([*argv, WHEN_TOLD] if early else argv, stdin=subprocess.PIPE if early else subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _end(child: subprocess.Popen[str]) -> None:
    child.kill()
    child.communicate()


def wait_until(done: Callable[[], bool], within: float = READY_WITHIN, folder: str | None = None) -> bool:
    """Checks `done` until it holds (True) or `within` seconds pass (False): every millisecond for the
    first second (a reload at 1000 askers takes about 10 ms: a 5 ms poll made it wait 2.5 ms more on
    average, a tenth of it), then every POLL seconds (a slow start: a stat or so each time). With
    `folder`, also at once whenever a file there is written or renamed into it (inotify: the process
    writes its status so), not up to a poll later."""
    start = time.monotonic()
    deadline = start + within
    notify = _watching(folder)
    while (now := time.monotonic()) < deadline:
        if done():
            return True
        pause = min(FINE_POLL if now - start < FINE_FOR else POLL, deadline - now)
        if notify is None:
            time.sleep(pause)
        elif select.select([notify.fd], [], [], pause)[0]:
            notify.events()
    return done()


_notify: list[Inotify] = []  # one for the life of the process: closing one waits out an RCU grace period (10-25 ms)


def _watching(folder: str | None) -> Inotify | None:
    """This process's inotify instance, told of files written or renamed into `folder` (None: none
    can be). The watch is set again at each call: the same while the folder stays, one anew on the
    folder made again."""
    if folder is None:
        return None
    try:
        if not _notify:
            _notify.append(Inotify())
        _notify[0].add(folder, WRITTEN)
    except OSError:
        return None
    return _notify[0]


def stop(process: ProcessState) -> None:
    """SIGTERM (SIGKILL if it does not stop in time), and its files removed."""
    pid = process.pid_of_status()
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        if not wait_until(lambda: not process.running(pid), STOP_WITHIN):
            os.kill(pid, signal.SIGKILL)
    process.remove_files()
