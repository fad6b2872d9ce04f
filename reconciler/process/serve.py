"""The life of a long-running process: its lock, its log, its signals (SIGHUP: load the state again,
signals during a load making one more load after it; SIGTERM, SIGINT: stop), readiness once the first
load is done, namespaces removed by hand let go of at once, and its status removed when it stops."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from reconciler.errors import NetreconcileError
from reconciler.kernel import openfiles
from reconciler.kernel.netns import NETNS_DIR
from reconciler.process import daemon
from reconciler.process.daemon import Report
from reconciler.process.files import ProcessFiles
from reconciler.process.netnswatch import NetnsWatch


def main(files: ProcessFiles, detach: bool, log: logging.Logger, run: Callable[[Report], Coroutine[Any, Any, None]]) -> int:
    """A process's life from its command line: detached (--daemon) or not, logging, `run` in an
    asyncio loop; 1 with the reason (to the caller waiting on --daemon, else stderr) when it fails."""
    openfiles.raise_limit()  # a socket or more in every namespace served
    report = daemon.detach(files.name) if detach else Report(None)
    try:
        log_to(log, files, detach)
        asyncio.run(run(report))
    except (NetreconcileError, OSError) as err:
        report.failed(f"{files.name}: {err}")
        return 1
    return 0


def log_to(log: logging.Logger, files: ProcessFiles, daemon: bool) -> None:
    """Log to <name>.log (--daemon), else to stderr."""
    stream = os.fdopen(files.open_log(), "a") if daemon else sys.stderr
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(f"%(asctime)s {files.name}[%(process)d] %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)


class Reloads:
    """SIGHUP: `load(False)` again; signals coming during a load make one more load after it."""

    def __init__(self, load: Callable[[bool], Awaitable[None]]) -> None:
        self.load = load
        self.wanted = False
        self.task: asyncio.Task[None] | None = None

    def request(self) -> None:
        self.wanted = True
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while self.wanted:
            self.wanted = False
            await self.load(False)


async def serve(files: ProcessFiles, report: Report, load: Callable[[bool], Awaitable[None]],
                gone: Callable[[str], None], close: Callable[[], None], log: logging.Logger) -> None:
    """Run until SIGTERM: `load(True)` first (its failure stops the start), then ready; `gone(name)` for
    each namespace removed; `close()` at the end."""
    lock = files.lock()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGHUP, Reloads(load).request)
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await load(True)
        watch = _watch(gone, log)
        report.ready()
        await stop.wait()
        if watch is not None:
            watch.close()
    finally:
        close()
        files.remove_status()
        os.close(lock)
        log.info("stopped")


def _watch(gone: Callable[[str], None], log: logging.Logger) -> NetnsWatch | None:
    try:
        return NetnsWatch(str(NETNS_DIR), gone)
    except OSError as err:
        log.warning("namespaces removed by hand will be let go of at the next reload only: %s", err)
        return None
