"""The watch's loop: one thread takes the triggers in turn and reconciles for each, taking the lock for
that reconcile only."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING

from reconciler.errors import LockedError
from reconciler.input import etcd
from reconciler.kernel import runstate
from reconciler.kernel.events import KernelEvents
from reconciler.planning.guards import Limits
from reconciler.process import heap
from reconciler.watch.etcd import EtcdSources
from reconciler.watch.files import FileEvents
from reconciler.watch.gate import Gate
from reconciler.watch.log import Log
from reconciler.watch.notify import sd_notify
from reconciler.watch.reconcile import (
    LOCK_RETRY,
    SUCCESS,
    Outcome,
    Reconciler,
    Result,
    recorded_result,
)
from reconciler.watch.triggers import Resync, Trigger, TriggerKind, Triggers

if TYPE_CHECKING:
    from reconciler.watch.metrics import Metrics

LOCK_POLL = 0.2      # seconds between tries while another netreconcile holds the lock
SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


@dataclass(frozen=True)
class Options:
    """The watch's command line."""

    limits: Limits = field(default_factory=Limits)
    resync: float = 30.0         # seconds; 0: never
    debounce: float = 0.2
    wait: bool = True            # for the lock
    log_format: str = "text"
    metrics_addr: str | None = None
    host: str | None = None      # --host: the declared Host this machine is


@contextmanager
def signals_blocked() -> Iterator[None]:
    """Block our signals in this thread for a while: threads started meanwhile keep them blocked."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


FULL_EVERY = 60.0  # seconds between the idle watch's full collections


class Collections:
    """The cyclic collector between reconciles: what lives on is frozen after each; when idle, the
    garbage of the reconcile just done is collected (a pass over what it allocated), and at most every
    FULL_EVERY seconds all of it, frozen or not (a pass over the whole heap: 40 to 60 ms at 1000
    endpoints, which a change arriving meanwhile waited for after every reconcile). After the startup
    reconcile, whose allocations are the whole heap, only a freeze: its garbage goes with the first
    full collection. A trigger waiting: only a freeze."""

    def __init__(self) -> None:
        self.last_full: float | None = None  # None: the startup reconcile has not settled yet

    @contextmanager
    def round(self) -> Iterator[None]:
        """A reconcile and the settle after it, the collector off meanwhile: its passes over what the
        reconcile allocates (1.5 to 2 ms of a reconcile adding one endpoint at 1000) are left to the
        settle's. Not the startup reconcile's: its garbage is only frozen after it, so it is collected
        as it goes."""
        with heap.paused() if self.last_full is not None else nullcontext():
            yield

    def settle(self, idle: bool, now: float) -> None:
        if self.last_full is None:
            self.last_full = now
            heap.settle(collect=False)
            return
        full = idle and now - self.last_full >= FULL_EVERY
        if full:
            self.last_full = now
        heap.settle(collect=idle, full=full)


class Watcher:
    """The loop: a queue of triggers fed by files, kernel events, signals and the resync timer."""

    def __init__(self, paths: list[str], options: Options, log: Log) -> None:
        self.paths, self.options, self.log = paths, options, log
        self.metrics: Metrics | None = None
        self.triggers = Triggers(options.debounce)
        self.gate = Gate(self.triggers.put)
        self.stopping = False
        self.resync = Resync(options.resync, LOCK_RETRY)
        self.reconciler = Reconciler(paths, options.limits, options.host)
        self.kernel_cache = self.reconciler.kernel_cache
        self.files = FileEvents([p for p in paths if not etcd.is_url(p)], self.triggers.put)
        self.etcd = EtcdSources(paths, options.host, self.triggers.put, log)
        self.conflicts: tuple[str, ...] = ()  # as last logged: a conflict is logged when it appears
        self.collections = Collections()

    def run(self) -> int:
        for sig in SIGNALS:
            signal.signal(sig, self._on_signal)
        self._start_listeners()
        try:
            every = f"every {self.options.resync:g} s" if self.options.resync > 0 else "never"
            self.log.event("start", f"watching {', '.join(self.paths)} (full resync {every})", paths=self.paths)
            self.triggers.put(Trigger(TriggerKind.STARTUP))
            self._loop()
        finally:
            self.files.stop()
            self.etcd.stop()
            if self.metrics:
                self.metrics.close()
        sd_notify("STOPPING=1")
        return 0

    def _start_listeners(self) -> None:
        with signals_blocked():  # helper threads inherit the mask: our signals always wake the main thread
            self.metrics = _metrics(self.options.metrics_addr, self.log) if self.options.metrics_addr else None
            self.etcd.metrics = self.metrics
            self.files.start()
            events = KernelEvents(self.gate.event, self._lost, self.kernel_cache.heard)
            self.kernel_cache.sync = events.drain
            events.start()

    def _loop(self) -> None:
        first = True
        while (trigger := self.triggers.next(self.resync.due, self.resync.detail)).kind is not TriggerKind.STOP:
            with self.collections.round():
                outcome = self._reconcile(trigger)
                if first:
                    with signals_blocked():
                        self.etcd.start(self.reconciler.manifests.revisions)
                sd_notify(("READY=1\n" if first else "") + f"STATUS=last reconcile: {outcome}")
                first = False
                self.collections.settle(idle=self.triggers.empty(), now=time.monotonic())
        self.log.event("stop", f"stopping ({trigger.detail})", signal=trigger.detail)

    def _lost(self, what: str) -> None:
        """Kernel events were lost: the cache cannot be trusted, and a resync must run."""
        self.kernel_cache.forget()
        self.triggers.put(Trigger(TriggerKind.RESYNC, what))

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGHUP:
            self.triggers.put(Trigger(TriggerKind.SIGHUP))
            return
        self.stopping = True
        self.triggers.put(Trigger(TriggerKind.STOP, signal.Signals(signum).name))

    def _reconcile(self, trigger: Trigger) -> Outcome:
        start = time.monotonic()
        outcome = self._locked_reconcile(trigger)
        seconds = time.monotonic() - start
        self.resync.after(trigger.kind, outcome.result is Result.LOCKED, start, time.monotonic())
        self.etcd.reconciled(outcome, self.reconciler.manifests.changed)
        if outcome.result is not Result.LOCKED:
            self._record(trigger, outcome)  # before the log line: once a reconcile is logged, status has it
        self.log.reconciled(trigger, outcome, seconds)
        self._log_conflicts(outcome)
        if self.metrics:
            self.metrics.reconciled(outcome, seconds)
        return outcome

    def _log_conflicts(self, outcome: Outcome) -> None:
        if outcome.result in SUCCESS:
            for conflict in outcome.conflicts:
                if conflict not in self.conflicts:
                    self.log.event("conflict", conflict)
            self.conflicts = outcome.conflicts

    def _locked_reconcile(self, trigger: Trigger) -> Outcome:
        """One reconcile under the lock, the gate closed meanwhile; LOCKED when the lock was not taken."""
        with signals_blocked():
            self.files.refresh()
        self.gate.close()
        if trigger.kind.full:
            self.kernel_cache.forget()  # the backstop reads the whole kernel again
        outcome = Outcome(Result.LOCKED)
        try:
            with ExitStack() as stack:
                if self._lock(stack):
                    outcome = self.reconciler()
        finally:
            self.gate.open(outcome.touched)
        return outcome

    def _record(self, trigger: Trigger, outcome: Outcome) -> None:
        """Record the reconcile for `status`; the commit found names the last good manifests."""
        body = runstate.record(recorded_result(outcome), self.paths, steps=outcome.steps,
                               error="\n".join(outcome.errors), trigger=f"watch:{trigger.kind}",
                               source_valid=outcome.source_valid is not False, enforcing=outcome.enforcing or None)
        self.reconciler.recorded(outcome, body["revision"] or self.etcd.revision())

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


def _metrics(address: str, log: Log) -> Metrics:
    # prometheus-client only when asked for
    from reconciler.watch.metrics import Metrics

    metrics = Metrics(address)
    log.event("metrics", f"serving metrics at http://{address}/metrics", address=address)
    return metrics


def run(paths: list[str], options: Options) -> int:
    """The `watch` command: reconcile until SIGTERM or SIGINT (exit 0)."""
    return Watcher(paths, options, Log(options.log_format)).run()
