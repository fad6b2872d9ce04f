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


def test_the_collector_is_off_during_a_reconcile_after_the_startup_and_starts_no_pass_when_on_again():
    """The passes over what a reconcile allocates are left to the settle after it; the startup
    reconcile's garbage is only frozen after it, so during it the collector runs as ever."""
    import gc

    enabled, c = gc.isenabled(), Collections()
    gc.enable()
    try:
        seen = []
        with c.round():
            seen.append(gc.isenabled())
            c.settle(idle=True, now=100.0)
        with c.round():
            seen.append(gc.isenabled())
            made = [[i] for i in range(5000)]  # far more than a pass's threshold, all kept
            c.settle(idle=False, now=101.0)
        assert seen == [True, False] and gc.isenabled() and made
        assert gc.get_count()[0] < gc.get_threshold()[0]  # the freeze left nothing to start a pass over
    finally:
        gc.unfreeze()
        if not enabled:
            gc.disable()
