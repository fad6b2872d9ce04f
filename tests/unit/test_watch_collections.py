"""The watch's collector policy between reconciles: a full pass over the whole heap at most every
FULL_EVERY seconds when idle (it cost 40 to 60 ms at 1000 endpoints after every reconcile, and a change
arriving meanwhile waited for it), the garbage of the last reconcile collected when idle."""

from __future__ import annotations

from reconciler.watch import loop
from reconciler.watch.loop import FULL_EVERY, Collections


def test_full_collections_are_spaced_and_the_startup_reconcile_is_only_frozen(monkeypatch):
    calls: list[tuple[bool, bool]] = []
    monkeypatch.setattr(loop.heap, "settle", lambda collect=True, full=False: calls.append((collect, full)))
    c = Collections()
    c.settle(idle=True, now=100.0)                    # after startup: freeze only
    c.settle(idle=True, now=101.0)                    # idle: this reconcile's garbage
    c.settle(idle=False, now=102.0)                   # a trigger waits: freeze only
    c.settle(idle=True, now=100.0 + FULL_EVERY)       # a full pass is due
    c.settle(idle=True, now=101.0 + FULL_EVERY)       # not again so soon
    c.settle(idle=False, now=100.0 + 3 * FULL_EVERY)  # due, but a trigger waits
    c.settle(idle=True, now=101.0 + 3 * FULL_EVERY)
    assert calls == [(False, False), (True, False), (False, False), (True, True), (True, False),
                     (False, False), (True, True)]
