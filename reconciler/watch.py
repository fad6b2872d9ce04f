"""`netreconcile watch`: keep the kernel converged on the manifests (a GitOps loop).

Every trigger leads to the same full, level-based reconcile as `apply`, with the same guards and
rollback (reconciler/reconcile.py; while the source is invalid, the last valid manifests applied stay
enforced): a manifest changed (watchdog, debounced), the kernel changed one of our objects
(rtnetlink multicast, the events of our own applies muted), the periodic resync (the backstop: at
most --resync from one full reconcile to the next, whatever else runs; forced too when events were
lost), or SIGHUP. Triggers wait in one queue; one loop in the main thread reconciles. The lock is
held only during each reconcile, so a one-off `apply` can run between two. No rtnetlink event tells
of nftables or sysctl changes: those wait for the resync.
"""

from __future__ import annotations

import gc
import json
import logging
import math
import os
import queue
import re
import signal
import socket
import sys
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

from reconciler import runstate
from reconciler.errors import LockedError, UsageError
from reconciler.events import KernelEvents
from reconciler.guards import Limits
from reconciler.reconcile import LOCK_RETRY, Outcome, Reconciler, recorded_result
from reconciler.terminal import line

QUIET = 0.5          # seconds after an apply during which kernel events are taken as its own
SETTLE = 0.01        # seconds to wait for more after a trigger that ends a change (a file closed, renamed, removed)
LOCK_POLL = 0.2      # seconds between tries while another netreconcile holds the lock
SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
KINDS = {"stop": "stop", "startup": "startup", "sighup": "SIGHUP", "file": "file change", "resync": "resync",
         "kernel": "kernel event"}  # in order of precedence when triggers are coalesced
FULL = ("startup", "resync", "sighup")  # the triggers whose reconcile reads the whole kernel again


def duration(text: str) -> float:
    """Seconds from '30s', '5m', '1h', '250ms' or a plain number of seconds."""
    match = re.fullmatch(r"([0-9]*\.?[0-9]+)(ms|s|m|h)?", text.strip())
    if not match:
        raise ValueError(text)
    return float(match[1]) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[match[2]]


@dataclass(frozen=True)
class Trigger:
    """Why a reconcile runs: `kind` is one of KINDS, `detail` says what changed."""

    kind: str
    detail: str = ""
    final: bool = True  # the change is complete (a file closed or renamed); False: more is likely to follow

    def __str__(self) -> str:
        return KINDS[self.kind] + (f" ({self.detail})" if self.detail else "")


@dataclass(frozen=True)
class Options:
    limits: Limits = Limits()
    resync: float = 30.0         # seconds; 0: never
    debounce: float = 0.2
    wait: bool = True            # for the lock
    log_format: str = "text"
    metrics_addr: str | None = None
    host: str | None = None      # --host: the declared Host this machine is


class Log:
    """One line per event on stdout: text for people, or one JSON object per line."""

    def __init__(self, fmt: str = "text", stream=None) -> None:
        self.json = fmt == "json"
        self.stream = stream or sys.stdout

    def event(self, event: str, message: str, details: tuple[str, ...] = (), **fields) -> None:
        now = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        if self.json:
            body = {"time": now, "event": event, **fields, "message": message}
            lines = [json.dumps(body | ({"errors": list(details)} if details else {}))]
        else:
            lines = [f"{now} {line(message)}", *(f"  {line(d)}" for d in details)]
        self.stream.write("".join(line + "\n" for line in lines))
        self.stream.flush()

    def reconciled(self, trigger: Trigger, outcome: Outcome, seconds: float) -> None:
        ms = round(seconds * 1000, 1)
        extra = ({"enforcing": outcome.enforcing, "enforced": outcome.enforced} if outcome.enforcing else {}) | (
            {"repairs": dict(outcome.repairs)} if outcome.repairs else {})
        self.event("reconcile", f"reconcile after {trigger}: {outcome} [{ms:g} ms]", outcome.errors,
                   trigger=trigger.kind, detail=trigger.detail, result=outcome.result, steps=outcome.steps,
                   duration_ms=ms, **extra)


def settle_heap(idle: bool = True) -> None:
    """Between reconciles: freeze what lives on (the caches), so that the next reconcile's collections
    scan only what it allocates itself; without it, at 1000 endpoints the collector's full passes over
    the caches cost a reconcile 50 to 100 ms. When idle, first collect the cyclic garbage once (what
    became garbage while frozen included); when the next trigger is already waiting, only freeze."""
    if idle:
        gc.unfreeze()
        gc.collect()
    gc.freeze()


def sd_notify(message: str) -> None:
    """Tell systemd (Type=notify) through $NOTIFY_SOCKET, if set; '@' names an abstract socket."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address:
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect("\0" + address[1:] if address.startswith("@") else address)
        sock.sendall(message.encode())


class Gate:
    """Passes kernel events on as triggers, except those that our own apply causes."""

    def __init__(self, put: Callable[[Trigger], None]) -> None:
        self.put = put
        self.busy = False
        self.muted_until = 0.0
        self.missed = ""

    def event(self, what: str) -> None:  # the listener's thread
        if self.busy:
            self.missed = self.missed or what
        elif time.monotonic() >= self.muted_until:
            self.put(Trigger("kernel", what, final=False))

    def close(self) -> None:
        self.missed, self.busy = "", True

    def open(self, touched: bool) -> None:
        """After a reconcile: mute a while if it wrote; if it did not, what came meanwhile was not ours."""
        self.busy = False
        if touched:
            self.muted_until = time.monotonic() + QUIET
        elif self.missed:
            self.put(Trigger("kernel", self.missed, final=False))


class Watcher:
    """The loop: a queue of triggers fed by files, kernel events, signals and the resync timer."""

    def __init__(self, paths: list[str], options: Options, log: Log) -> None:
        self.paths, self.options, self.log = paths, options, log
        self.metrics = None
        self.queue: queue.SimpleQueue[Trigger] = queue.SimpleQueue()  # put() is safe in signal handlers
        self.gate = Gate(self.queue.put)
        self.stopping = False
        self.next_resync = math.inf  # when the next resync is due (monotonic): set by each reconcile
        self.last_full = 0.0          # when the last full reconcile started
        self.resync_detail = ""  # "retry" after a reconcile skipped for the lock
        self.reconciler = Reconciler(paths, options.limits, options.host)
        self.kernel_cache = self.reconciler.kernel_cache

    def run(self) -> int:
        for sig in SIGNALS:
            signal.signal(sig, self._on_signal)
        self.files = FileEvents(self.paths, self.queue.put)
        with signals_blocked():  # helper threads inherit the mask: our signals always wake the main thread
            self.metrics = _metrics(self.options.metrics_addr, self.log) if self.options.metrics_addr else None
            self.files.start()
            events = KernelEvents(self.gate.event, self._lost, self.kernel_cache.heard)
            self.kernel_cache.sync = events.drain
            events.start()
        try:
            every = f"every {self.options.resync:g} s" if self.options.resync > 0 else "never"
            self.log.event("start", f"watching {', '.join(self.paths)} (full resync {every})", paths=self.paths)
            self.queue.put(Trigger("startup"))
            self._loop()
        finally:
            self.files.stop()
            if self.metrics:
                self.metrics.close()
        sd_notify("STOPPING=1")
        return 0

    def _loop(self) -> None:
        first = True
        while (trigger := self._next()).kind != "stop":
            outcome = self._reconcile(trigger)
            sd_notify(("READY=1\n" if first else "") + f"STATUS=last reconcile: {outcome}")
            first = False
            settle_heap(idle=self.queue.empty())
        self.log.event("stop", f"stopping ({trigger.detail})", signal=trigger.detail)

    def _lost(self, what: str) -> None:
        """Kernel events were lost: the cache cannot be trusted, and a resync must run."""
        self.kernel_cache.forget()
        self.queue.put(Trigger("resync", what))

    def _on_signal(self, signum: int, frame) -> None:
        if signum == signal.SIGHUP:
            self.queue.put(Trigger("sighup"))
            return
        self.stopping = True
        self.queue.put(Trigger("stop", signal.Signals(signum).name))

    def _next(self) -> Trigger:
        """The next trigger; a resync that is due comes first, even while other triggers keep coming."""
        wait = self.next_resync - time.monotonic()
        if wait <= 0:
            return self._resync()
        try:
            first = self.queue.get(timeout=None if wait == math.inf else wait)
        except queue.Empty:
            return self._resync()
        return self._coalesce(first)

    def _resync(self) -> Trigger:
        """A resync reads every file and the whole kernel: what the triggers waiting would reconcile, it
        reconciles too (they are dropped), unless one is a stop."""
        while True:
            try:
                waiting = self.queue.get_nowait()
            except queue.Empty:
                return Trigger("resync", self.resync_detail)
            if waiting.kind == "stop":
                return waiting

    def _coalesce(self, first: Trigger) -> Trigger:
        """Wait until triggers stop coming (a burst: editors write, rename, chmod; git writes many files);
        keep the strongest. After a trigger that completes a change (a file closed after writing, renamed
        into place or removed), a short SETTLE suffices; after any other, wait for --debounce."""
        batch, end = [first], time.monotonic() + max(1.0, 5 * self.options.debounce)
        while batch[-1].kind != "stop" and (left := end - time.monotonic()) > 0:
            wait = min(SETTLE, self.options.debounce) if batch[-1].final else self.options.debounce
            try:
                batch.append(self.queue.get(timeout=min(wait, left)))
            except queue.Empty:
                break
        kind = min((t.kind for t in batch), key=list(KINDS).index)
        details = list(dict.fromkeys(t.detail for t in batch if t.kind == kind and t.detail))
        return Trigger(kind, ", ".join(details[:3]) + (", ..." if len(details) > 3 else ""))

    def _reconcile(self, trigger: Trigger) -> Outcome:
        start = time.monotonic()
        with signals_blocked():
            self.files.refresh()
        self.gate.close()
        if trigger.kind in FULL:
            self.kernel_cache.forget()  # the backstop reads the whole kernel again
        outcome = Outcome("locked")
        try:
            with ExitStack() as stack:
                if self._lock(stack):
                    outcome = self.reconciler()
        finally:
            self.gate.open(outcome.touched)
        seconds = time.monotonic() - start
        self._schedule_resync(trigger, outcome, start)
        self.log.reconciled(trigger, outcome, seconds)
        if outcome.result != "locked":
            body = runstate.record(recorded_result(outcome), self.paths, steps=outcome.steps,
                                   error="\n".join(outcome.errors), trigger=f"watch:{trigger.kind}",
                                   source_valid=outcome.source_valid is not False, enforcing=outcome.enforcing or None)
            self.reconciler.recorded(outcome, body["revision"])
        if self.metrics:
            self.metrics.reconciled(outcome, seconds)
        return outcome

    def _schedule_resync(self, trigger: Trigger, outcome: Outcome, start: float) -> None:
        """--resync apart from the start of the last full reconcile, whatever ran since; a reconcile
        skipped for the lock is tried again soon."""
        skipped = outcome.result == "locked"
        if trigger.kind in FULL and not skipped:
            self.last_full = start
        every = self.options.resync if self.options.resync > 0 else math.inf
        self.next_resync = time.monotonic() + LOCK_RETRY if skipped else self.last_full + every
        self.resync_detail = "retry" if skipped else ""

    def _lock(self, stack: ExitStack) -> bool:
        """Take the lock for one reconcile; while waiting for it, a stop is still heard."""
        said = False
        while True:
            try:
                stack.enter_context(runstate.locked(wait=False))
                return True
            except LockedError as err:
                if not self.options.wait or self.stopping:
                    return False
                holder = err.holder
            if not said:
                self.log.event("wait", f"waiting for {runstate.LOCK}, held by {holder}")
                said = True
            time.sleep(LOCK_POLL)


@contextmanager
def signals_blocked() -> Iterator[None]:
    """Block our signals in this thread for a while: threads started meanwhile keep them blocked."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _metrics(address: str, log: Log):
    from reconciler.metrics import Metrics  # prometheus-client only when asked for

    metrics = Metrics(address)
    log.event("metrics", f"serving metrics at http://{address}/metrics", address=address)
    return metrics


FINAL_EVENTS = ("closed", "moved", "deleted")  # a file written and closed, renamed into place, or gone


class FileEvents:
    """watchdog on the manifest paths (directories recursively); a relevant change puts a trigger.

    A path that is a symlink is watched where it points, and in its folder, to see it swapped for
    another (git-sync and Kubernetes volumes publish each new version so); `refresh` follows it.
    """

    def __init__(self, paths: list[str], put: Callable[[Trigger], None]) -> None:
        missing = [p for p in paths if not os.path.exists(p)]
        if missing:
            raise UsageError(f"cannot watch {', '.join(missing)}: no such file or directory")
        self.paths, self.put = [os.path.abspath(p) for p in paths], put
        logging.getLogger("watchdog").addHandler(_Overflow(put))

    def start(self) -> "FileEvents":
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer

        self.real = {p: os.path.realpath(p) for p in self.paths}
        self.dirs = {r for r in self.real.values() if os.path.isdir(r)}
        self.files = set(self.real.values()) - self.dirs
        self.links = {p for p, r in self.real.items() if p != r}
        handler = FileSystemEventHandler()
        handler.on_any_event = self._event
        self.observer = Observer()
        for folder in self.dirs:
            self.observer.schedule(handler, folder, recursive=True)
        for parent in {os.path.dirname(p) for p in self.files | self.links}:
            self.observer.schedule(handler, parent, recursive=False)
        self.observer.start()
        return self

    def refresh(self) -> None:
        """Watch again where a symlinked path points now, if that changed."""
        now = {p: os.path.realpath(p) for p in self.paths}
        if now != self.real and all(map(os.path.exists, now.values())):
            self.stop()
            self.start()

    def stop(self) -> None:
        self.observer.stop()
        self.observer.join()

    def _event(self, event) -> None:
        if event.event_type in ("opened", "closed_no_write") or (event.is_directory and event.event_type == "modified"):
            return
        for path in filter(None, (os.fsdecode(event.src_path), os.fsdecode(getattr(event, "dest_path", "") or ""))):
            if self._concerns(path, event.is_directory):
                self.put(Trigger("file", path, final=event.event_type in FINAL_EVENTS and not event.is_directory))
                return

    def _concerns(self, path: str, is_dir: bool) -> bool:
        if path in self.files or path in self.links:
            return True
        inside = any(path.startswith(d + os.sep) for d in self.dirs)
        return inside and (is_dir or path.endswith((".yaml", ".yml")) or os.path.islink(path))


class _Overflow(logging.Handler):
    """watchdog tells of an inotify queue overflow only in its log (7.x; older versions say nothing)."""

    def __init__(self, put: Callable[[Trigger], None]) -> None:
        super().__init__(logging.WARNING)
        self.put = put

    def emit(self, record: logging.LogRecord) -> None:
        if "overflow" in record.getMessage().lower():
            self.put(Trigger("resync", "file events were lost"))




def run(paths: list[str], options: Options) -> int:
    """The `watch` command: reconcile until SIGTERM or SIGINT (exit 0)."""
    return Watcher(paths, options, Log(options.log_format)).run()
