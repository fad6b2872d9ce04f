"""Why the watch reconciles, and the queue its loop takes each reason from: a burst of triggers waited
out and coalesced into one reconcile, a resync that is due taken first."""

from __future__ import annotations

import math
import queue
import time
from dataclasses import dataclass
from enum import StrEnum


class TriggerKind(StrEnum):
    """Why a reconcile runs (the `trigger` of the watch's log); PRECEDENCE ranks them."""

    STOP = "stop"
    STARTUP = "startup"
    SIGHUP = "sighup"
    FILE = "file"
    ETCD = "etcd"
    RESYNC = "resync"
    KERNEL = "kernel"

    @property
    def label(self) -> str:
        """The words of the text log."""
        return LABELS[self]

    @property
    def full(self) -> bool:
        """Whether its reconcile reads the whole kernel again (the backstop), not the cache."""
        return self in FULL


# Triggers coalesced into one reconcile take the kind ranked first: a stop ends the watch whatever else
# waits; then the kinds that name the most deliberate cause.
PRECEDENCE = (TriggerKind.STOP, TriggerKind.STARTUP, TriggerKind.SIGHUP, TriggerKind.FILE, TriggerKind.RESYNC,
              TriggerKind.ETCD, TriggerKind.KERNEL)
LABELS = {TriggerKind.STOP: "stop", TriggerKind.STARTUP: "startup", TriggerKind.SIGHUP: "SIGHUP",
          TriggerKind.FILE: "file change", TriggerKind.ETCD: "etcd change",
          TriggerKind.RESYNC: "resync", TriggerKind.KERNEL: "kernel event"}
FULL = frozenset({TriggerKind.STARTUP, TriggerKind.RESYNC, TriggerKind.SIGHUP})
# Seconds to wait for more after a trigger that ends a change (a file closed, renamed, removed): SETTLE_ONE
# while the batch names one file (an edit: git's next file of a checkout follows its first in 0.05 ms,
# median on this 2-core machine, above 2 ms in 7 of 130 checkouts), SETTLE once it names several (a
# checkout or a copy: gaps above 10 ms split 4 of 40 checkouts of 100 files and 6 of 10 of 1000, above
# 25 ms none of 30 and 1 of 10). A split costs an extra reconcile of the files written so far, never
# a missed change: the next reconcile reads them all again.
SETTLE_ONE = 0.002
SETTLE = 0.025
SHOWN_DETAILS = 3    # the details a coalesced trigger names; more are shown as "..."


@dataclass(frozen=True)
class Trigger:
    """Why a reconcile runs: `kind`, and `detail` saying what changed."""

    kind: TriggerKind
    detail: str = ""
    final: bool = True  # the change is complete (a file closed or renamed); False: more is likely to follow

    def __str__(self) -> str:
        return self.kind.label + (f" ({self.detail})" if self.detail else "")


def strongest(batch: list[Trigger]) -> Trigger:
    """One trigger for a batch: the kind ranked first, with the details of the triggers of that kind."""
    kind = min((t.kind for t in batch), key=PRECEDENCE.index)
    details = list(dict.fromkeys(t.detail for t in batch if t.kind is kind and t.detail))
    more = ", ..." if len(details) > SHOWN_DETAILS else ""
    return Trigger(kind, ", ".join(details[:SHOWN_DETAILS]) + more)


class Triggers:
    """The queue of triggers, fed by files, kernel events, signals and lost events (`put` is safe in a
    signal handler and from any thread); the loop takes them with `next`."""

    def __init__(self, debounce: float) -> None:
        self.debounce = debounce
        self._queue: queue.SimpleQueue[Trigger] = queue.SimpleQueue()

    def put(self, trigger: Trigger) -> None:
        self._queue.put(trigger)

    def empty(self) -> bool:
        return self._queue.empty()

    def next(self, due: float, resync: str = "") -> Trigger:
        """The next trigger; a resync due at `due` (monotonic; detail `resync`) comes first, even while
        other triggers keep coming."""
        wait = due - time.monotonic()
        if wait <= 0:
            return self._resync(resync)
        try:
            first = self._queue.get(timeout=None if wait == math.inf else wait)
        except queue.Empty:
            return self._resync(resync)
        return self._coalesce(first)

    def _resync(self, detail: str) -> Trigger:
        """A resync reads every file and the whole kernel: what the triggers waiting would reconcile, it
        reconciles too (they are dropped), unless one is a stop."""
        while True:
            try:
                waiting = self._queue.get_nowait()
            except queue.Empty:
                return Trigger(TriggerKind.RESYNC, detail)
            if waiting.kind is TriggerKind.STOP:
                return waiting

    def _coalesce(self, first: Trigger) -> Trigger:
        """Wait until triggers stop coming (a burst: editors write, rename, chmod; git writes many files);
        keep the strongest. After a trigger that completes a change (a file closed after writing, renamed
        into place or removed), a short settle suffices (see settle); after any other, wait for --debounce."""
        batch, end = [first], time.monotonic() + max(1.0, 5 * self.debounce)
        files = {first.detail} if first.kind is TriggerKind.FILE else set()
        while batch[-1].kind is not TriggerKind.STOP and (left := end - time.monotonic()) > 0:
            wait = self.settle(len(files)) if batch[-1].final else self.debounce
            try:
                batch.append(self._queue.get(timeout=min(wait, left)))
            except queue.Empty:
                break
            if batch[-1].kind is TriggerKind.FILE and len(files) < 2:
                files.add(batch[-1].detail)
        return strongest(batch)

    def settle(self, files: int) -> float:
        """How long to wait for more after a change completed, the batch naming `files` files: SETTLE_ONE
        for one (or none), SETTLE for several; never more than --debounce."""
        return min(SETTLE if files > 1 else SETTLE_ONE, self.debounce)


@dataclass
class Resync:
    """When the next resync is due: `every` seconds (0: never) after the start of the last full reconcile,
    whatever ran since; soon (`retry` seconds) after a reconcile skipped for the lock."""

    every: float
    retry: float
    due: float = math.inf  # monotonic
    last_full: float = 0.0
    detail: str = ""       # "retry" after a reconcile skipped for the lock

    def after(self, kind: TriggerKind, skipped: bool, start: float, now: float) -> None:
        """Schedule the next one after a reconcile of `kind` that started at `start` and ended `now`."""
        if kind.full and not skipped:
            self.last_full = start
        every = self.every if self.every > 0 else math.inf
        self.due = now + self.retry if skipped else self.last_full + every
        self.detail = "retry" if skipped else ""
