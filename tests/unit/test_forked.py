"""kernel/forked.py: a forked child's results come back in order, and whatever it could not give is
None (the parent then does that item itself), never a hang or a wrong item's result."""

from __future__ import annotations

import os
import signal
import time

from reconciler.kernel.forked import Forked

ITEMS = [f"ns{i}" for i in range(200)]


def _pid_and(item: str) -> bytes:
    return f"{os.getpid()} {item} ".encode() * 50  # ~1 KiB each: more than a pipe holds, all told


def test_results_come_from_another_process_in_order():
    forked = Forked(ITEMS, _pid_and)
    try:
        results = [forked.get(item) for item in ITEMS]
    finally:
        forked.close()
    assert all(r is not None and r.split()[1] == item.encode() for r, item in zip(results, ITEMS, strict=True))
    assert {r.split()[0] for r in results if r} == {str(forked_pid).encode() for forked_pid in _pids(results)}
    assert str(os.getpid()).encode() not in {r.split()[0] for r in results if r}


def _pids(results: list[bytes | None]) -> set[int]:
    return {int(r.split()[0]) for r in results if r}


def test_skipped_items_are_dropped_and_unknown_ones_are_none():
    forked = Forked(ITEMS, _pid_and)
    try:
        assert forked.get("not-listed") is None
        assert forked.get("ns5") is not None and forked.get("ns150") is not None
        assert forked.get("ns3") is None, "already passed: the parent reads it itself"
        assert forked.get("ns199").split()[1] == b"ns199"
    finally:
        forked.close()


def _fails_on_7(item: str) -> bytes:
    if item == "ns7":
        raise OSError(22, "cannot")
    return item.encode()


def test_an_item_the_child_failed_on_is_none_and_the_rest_come():
    forked = Forked(ITEMS[:20], _fails_on_7)
    try:
        assert [forked.get(i) for i in ITEMS[:20]] == [None if i == "ns7" else i.encode() for i in ITEMS[:20]]
    finally:
        forked.close()


def _dies_at_9(item: str) -> bytes:
    if item == "ns9":
        os._exit(3)
    return item.encode()


def test_a_child_that_dies_leaves_the_rest_to_the_parent():
    forked = Forked(ITEMS[:20], _dies_at_9)
    try:
        assert [forked.get(i) for i in ITEMS[:20]] == [i.encode() if int(i[2:]) < 9 else None for i in ITEMS[:20]]
    finally:
        forked.close()


def test_closing_early_ends_the_child():
    forked = Forked([f"x{i}" for i in range(5000)], _pid_and)  # far more than the pipe holds: the child is blocked writing
    pid = forked.pid
    assert forked.get("x0") is not None
    forked.close()
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return
    raise AssertionError(f"child {pid} still there after close")


def _pause(item: str) -> bytes:
    time.sleep(30)
    return item.encode()


def test_the_child_stops_on_a_signal_whatever_handler_the_parent_has():
    old = signal.signal(signal.SIGTERM, lambda *_: None)  # as the watch's: a flag, the process goes on
    try:
        forked = Forked(["a", "b"], _pause)
        os.kill(forked.pid, signal.SIGTERM)
        assert forked.get("a") is None and forked.get("b") is None, "the child died: the parent reads them itself"
        forked.close()
    finally:
        signal.signal(signal.SIGTERM, old)
