"""The gate between the kernel's events and the watch's triggers: what our own reconcile causes is
not drift."""

from __future__ import annotations

import time
from collections.abc import Callable

from reconciler.watch.triggers import Trigger, TriggerKind

QUIET = 0.5          # seconds after an apply during which kernel events are taken as its own


class Gate:
    """Passes kernel events on as triggers, except those that our own apply causes."""

    def __init__(self, put: Callable[[Trigger], None], clock: Callable[[], float] = time.monotonic) -> None:
        self.put, self.clock = put, clock
        self.busy = False
        self.muted_until = 0.0
        self.missed = ""

    def event(self, what: str) -> None:  # the listener's thread
        if self.busy:
            self.missed = self.missed or what
        elif self.clock() >= self.muted_until:
            self.put(Trigger(TriggerKind.KERNEL, what, final=False))

    def close(self) -> None:
        """Before a reconcile: what comes meanwhile may be ours; the first is kept."""
        self.missed, self.busy = "", True

    def open(self, touched: bool) -> None:
        """After a reconcile: mute a while if it wrote; if it did not, what came meanwhile was not ours."""
        self.busy = False
        if touched:
            self.muted_until = self.clock() + QUIET
        elif self.missed:
            self.put(Trigger(TriggerKind.KERNEL, self.missed, final=False))
