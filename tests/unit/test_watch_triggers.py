"""The watch's triggers without a kernel: a burst coalesces into one reconcile named by the strongest
trigger, a due resync comes first and swallows what waits (a stop excepted), the gate tells our own
writes from drift, and the resync stays --resync apart from the last full reconcile."""

from __future__ import annotations

import math
import threading
import time

import pytest

from reconciler.watch.gate import QUIET, Gate
from reconciler.watch.triggers import (
    PRECEDENCE,
    Resync,
    Trigger,
    TriggerKind,
    Triggers,
    strongest,
)

FILE, KERNEL, RESYNC, STOP = TriggerKind.FILE, TriggerKind.KERNEL, TriggerKind.RESYNC, TriggerKind.STOP
LATER = math.inf


def queued(*triggers: Trigger, debounce: float = 0.01) -> Triggers:
    found = Triggers(debounce)
    for trigger in triggers:
        found.put(trigger)
    return found


def test_every_kind_has_a_rank_and_a_stop_outranks_all():
    assert sorted(PRECEDENCE) == sorted(TriggerKind) and PRECEDENCE[0] is STOP


@pytest.mark.parametrize("kinds, wins", [
    ((KERNEL, FILE), FILE), ((FILE, TriggerKind.SIGHUP), TriggerKind.SIGHUP), ((RESYNC, KERNEL), RESYNC),
    ((FILE, RESYNC), FILE), ((KERNEL, STOP, TriggerKind.STARTUP), STOP),
])
def test_a_batch_is_named_by_its_strongest_kind(kinds, wins):
    assert strongest([Trigger(k, f"d{i}") for i, k in enumerate(kinds)]).kind is wins


def test_the_details_of_the_winning_kind_are_kept_once_and_at_most_three():
    batch = [Trigger(FILE, p) for p in ("a.yaml", "b.yaml", "a.yaml", "c.yaml", "d.yaml")] + [Trigger(KERNEL, "link x")]
    assert strongest(batch) == Trigger(FILE, "a.yaml, b.yaml, c.yaml, ...")
    assert str(strongest([Trigger(KERNEL, "link x"), Trigger(KERNEL, "link x")])) == "kernel event (link x)"


def test_a_burst_of_file_and_kernel_events_is_one_reconcile():
    triggers = queued(Trigger(KERNEL, "link v1", final=False), Trigger(FILE, "/m/a.yaml"), Trigger(FILE, "/m/b.yaml"))
    assert triggers.next(LATER) == Trigger(FILE, "/m/a.yaml, /m/b.yaml")
    assert triggers.empty()


def test_a_stop_ends_the_burst_at_once_and_what_follows_waits():
    triggers = queued(Trigger(FILE, "/m/a.yaml", final=False), Trigger(STOP, "SIGTERM"), Trigger(FILE, "/m/b.yaml"))
    assert triggers.next(LATER) == Trigger(STOP, "SIGTERM")
    assert not triggers.empty()


def test_after_a_change_that_is_not_complete_it_waits_for_the_debounce():
    triggers = queued(Trigger(FILE, "/m/a.yaml", final=False), debounce=0.2)
    start = time.monotonic()
    triggers.next(LATER)
    assert time.monotonic() - start >= 0.2


def test_one_file_written_waits_only_a_short_settle():
    triggers = queued(Trigger(FILE, "/m/a.yaml", final=False), Trigger(FILE, "/m/a.yaml"), debounce=1.0)
    start = time.monotonic()
    assert triggers.next(LATER) == Trigger(FILE, "/m/a.yaml")
    assert time.monotonic() - start < 0.008  # a single edit is not held back by the settle of a burst


def test_several_files_written_wait_longer_for_the_rest_of_the_burst():
    triggers = queued(Trigger(FILE, "/m/a.yaml"), Trigger(FILE, "/m/b.yaml"), debounce=1.0)
    threading.Timer(0.015, triggers.put, [Trigger(FILE, "/m/c.yaml")]).start()  # a checkout's gap, seen up to 15 ms
    assert triggers.next(LATER) == Trigger(FILE, "/m/a.yaml, /m/b.yaml, /m/c.yaml")


def test_the_settle_is_short_for_one_file_longer_for_several_and_never_past_the_debounce():
    assert Triggers(1.0).settle(1) < Triggers(1.0).settle(2)
    assert Triggers(0.001).settle(2) == 0.001


def test_a_due_resync_comes_first_and_takes_what_waits_along():
    triggers = queued(Trigger(FILE, "/m/a.yaml"), Trigger(KERNEL, "link v1"))
    assert triggers.next(time.monotonic() - 1, "retry") == Trigger(RESYNC, "retry")
    assert triggers.empty()


def test_a_due_resync_leaves_a_stop_waiting_to_be_taken():
    triggers = queued(Trigger(FILE, "/m/a.yaml"), Trigger(STOP, "SIGINT"))
    assert triggers.next(time.monotonic() - 1) == Trigger(STOP, "SIGINT")


def test_nothing_comes_until_the_resync_is_due():
    start = time.monotonic()
    assert queued().next(start + 0.05) == Trigger(RESYNC)
    assert time.monotonic() - start >= 0.05


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def gate() -> tuple[Gate, list[Trigger], Clock]:
    put: list[Trigger] = []
    clock = Clock()
    return Gate(put.append, clock), put, clock


def test_the_gate_passes_kernel_events_while_no_reconcile_runs():
    g, put, _ = gate()
    g.event("link v1")
    assert put == [Trigger(KERNEL, "link v1", final=False)]


def test_events_during_a_reconcile_that_wrote_are_its_own_and_muted_a_while():
    g, put, clock = gate()
    g.close()
    g.event("link v1")
    g.open(touched=True)
    g.event("address on v1")
    clock.now += QUIET
    g.event("link v2")
    assert put == [Trigger(KERNEL, "link v2", final=False)]


def test_the_first_event_during_a_reconcile_that_wrote_nothing_is_drift():
    g, put, _ = gate()
    g.close()
    g.event("link v1")
    g.event("link v2")
    g.open(touched=False)
    assert put == [Trigger(KERNEL, "link v1", final=False)]


def test_the_resync_is_every_seconds_after_the_start_of_the_last_full_reconcile():
    resync = Resync(every=30, retry=1)
    resync.after(TriggerKind.STARTUP, skipped=False, start=10, now=12)
    assert (resync.due, resync.detail) == (40, "")
    resync.after(FILE, skipped=False, start=20, now=21)
    assert resync.due == 40, "a reconcile that read only the cache does not push the backstop back"


def test_a_reconcile_skipped_for_the_lock_is_retried_soon():
    resync = Resync(every=30, retry=1)
    resync.after(RESYNC, skipped=True, start=10, now=12)
    assert (resync.due, resync.detail, resync.last_full) == (13, "retry", 0.0)


def test_resync_zero_means_never():
    resync = Resync(every=0, retry=1)
    resync.after(TriggerKind.STARTUP, skipped=False, start=10, now=12)
    assert resync.due == math.inf
