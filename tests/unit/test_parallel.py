"""The executor's split of endpoint blocks over two processes, without root: which steps form blocks,
that a forked worker runs every other block, and what the parent learns of its steps and failures."""

from __future__ import annotations

import gc
import os
import time
from pathlib import Path

import pytest

from reconciler.applying import parallel, switches
from reconciler.applying.parallel import Segment, run_split, segments
from reconciler.model import Address, Bridge, HostsFile, Netns, Route, Veth
from reconciler.planning.plan import Action, Step


def endpoint(i: int) -> list[Step]:
    ns = f"e{i}"
    objs = [Netns(ns), Veth(f"nv-{ns}", ns=ns, peer="eth0", master="br"), Address(ns, "eth0", f"10.0.0.{i + 2}/24"),
            Route(ns, "0.0.0.0/0", "10.0.0.1", "eth0"), HostsFile(ns, "")]
    return [Step(Action.CREATE, obj, None) for obj in objs]


BRIDGE = Step(Action.CREATE, Bridge("br"), None)
GATEWAY = Step(Action.CREATE, Address(None, "br", "10.0.0.1/24"), None)


def plan_of(endpoints: int) -> list[Step]:
    return [BRIDGE, GATEWAY, *(s for i in range(endpoints) for s in endpoint(i)), BRIDGE]


def test_a_run_of_endpoints_is_one_segment_of_blocks_between_sequential_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(switches.PARALLEL_FROM, "3")
    assert segments(plan_of(3)) == [Segment(0, 2), Segment(2, 17, ((2, 7), (7, 12), (12, 17))), Segment(17, 18)]


def test_fewer_blocks_than_the_least_run_one_by_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(switches.PARALLEL_FROM, "4")
    assert segments(plan_of(3)) == [Segment(0, 18)]
    monkeypatch.delenv(switches.PARALLEL_FROM)
    assert parallel.min_blocks() == parallel.MIN_BLOCKS


def test_a_step_of_another_namespace_or_not_a_create_ends_a_block(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(switches.PARALLEL_FROM, "2")
    steps = endpoint(0) + endpoint(1)
    steps.insert(3, Step(Action.CREATE, Route("e9", "0.0.0.0/0", "10.0.0.1", "eth0"), None))  # not e0's
    assert segments(steps) == [Segment(0, 11)]
    steps = endpoint(0) + endpoint(1) + endpoint(2)
    steps[6] = Step(Action.DELETE, None, steps[6].obj)  # e1's veth deleted: e1's block is its namespace alone
    assert segments(steps) == [Segment(0, 6, ((0, 5), (5, 6))), Segment(6, 15)]


def recorder(tmp_path: Path, fail: int | None = None, die: int | None = None) -> parallel.RunStep:
    """Runs a step by appending "pid number" to a file (O_APPEND: the two processes' lines stay whole)."""
    def run(number: int, step: Step) -> None:
        if number == fail:
            raise OSError(17, "File exists")
        if number == die:
            os._exit(3)
        with open(tmp_path / "log", "a") as log:
            log.write(f"{os.getpid()} {number}\n")
    return run


def logged(tmp_path: Path) -> dict[int, set[int]]:
    by_pid: dict[int, set[int]] = {}
    for line in (tmp_path / "log").read_text().splitlines():
        pid, number = map(int, line.split())
        by_pid.setdefault(pid, set()).add(number)
    return by_pid


def test_a_forked_worker_runs_every_other_block_and_the_parent_learns_each_step_done(tmp_path: Path) -> None:
    steps = plan_of(6)
    blocks = [(2 + 5 * i, 7 + 5 * i) for i in range(6)]
    outcome = run_split(steps, blocks, recorder(tmp_path), lambda: recorder(tmp_path), str)
    assert outcome.failure is None
    assert outcome.done == list(range(3, 33))
    by_pid = logged(tmp_path)
    assert set(by_pid) == {os.getpid(), next(pid for pid in by_pid if pid != os.getpid())}
    assert by_pid[os.getpid()] == {n + 1 for s, e in blocks[0::2] for n in range(s, e)}


def test_a_step_failing_in_the_worker_is_named_and_its_later_steps_are_not_done(tmp_path: Path) -> None:
    steps = plan_of(6)
    blocks = [(2 + 5 * i, 7 + 5 * i) for i in range(6)]
    failing = 10  # the third step of the worker's first block (7, 12): steps 8 to 12
    outcome = run_split(steps, blocks, recorder(tmp_path), lambda: recorder(tmp_path, fail=failing), str)
    assert outcome.failure is not None and outcome.failure[:2] == (failing, "[Errno 17] File exists")
    assert {9, 10} & set(outcome.done) == {9} and not set(outcome.done) & {11, 12, *range(18, 23), *range(28, 33)}
    assert set(outcome.done) == set().union(*logged(tmp_path).values())


def test_a_step_failing_in_the_parent_stops_the_worker_between_blocks(tmp_path: Path) -> None:
    steps = plan_of(40)
    blocks = [(2 + 5 * i, 7 + 5 * i) for i in range(40)]
    outcome = run_split(steps, blocks, recorder(tmp_path, fail=4), lambda: recorder(tmp_path), str)
    assert outcome.failure is not None and outcome.failure[0] == 4
    assert set(outcome.done) == set().union(*logged(tmp_path).values())
    assert {3, 4} & set(outcome.done) == {3}


def test_a_step_failing_in_the_parent_after_the_worker_ended_is_the_failure_with_every_step_done_told(
        tmp_path: Path) -> None:
    """The worker has run its blocks and exited (its end of the stop pipe closed) when the parent's step
    fails: telling it to stop finds no reader, and the outcome is still the failure and the steps done."""
    steps = plan_of(4)
    blocks = [(2 + 5 * i, 7 + 5 * i) for i in range(4)]  # the parent's last block: steps 13 to 17
    ours = recorder(tmp_path, fail=15)

    def run(number: int, step: Step) -> None:
        if number == 15:
            _wait_for_the_worker_to_end()
        ours(number, step)

    outcome = run_split(steps, blocks, run, lambda: recorder(tmp_path), str)
    assert outcome.failure is not None and outcome.failure[0] == 15
    assert set(outcome.done) == set().union(*logged(tmp_path).values()) == {*range(3, 15), *range(18, 23)}


def _wait_for_the_worker_to_end() -> None:
    children = Path(f"/proc/self/task/{os.getpid()}/children").read_text().split()
    assert len(children) == 1, children
    for _ in range(1000):
        if Path(f"/proc/{children[0]}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return
        time.sleep(0.01)
    pytest.fail("the worker did not end")


def test_a_worker_that_dies_is_a_failure_naming_its_first_step_not_told(tmp_path: Path) -> None:
    steps = plan_of(4)
    blocks = [(2 + 5 * i, 7 + 5 * i) for i in range(4)]
    outcome = run_split(steps, blocks, recorder(tmp_path), lambda: recorder(tmp_path, die=9), str)
    assert outcome.failure is not None
    assert outcome.failure[:2] == (9, "the worker process ended unexpectedly (exit status 3)")
    assert {8, 9} & set(outcome.done) == {8}


def test_a_destroy_splits_by_namespace_what_lives_in_it_then_the_namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(switches.PARALLEL_FROM, "3")
    deleted = [Step(Action.DELETE, None, s.obj) for i in reversed(range(3)) for s in reversed(endpoint(i))
               if s.obj.kind in ("netns", "hosts")]
    steps = [Step(Action.DELETE, None, Bridge("br0")), *deleted, Step(Action.DELETE, None, Bridge("br"))]
    assert segments(steps) == [Segment(0, 1), Segment(1, 7, ((1, 3), (3, 5), (5, 7))), Segment(7, 8)]
    steps[3] = Step(Action.DELETE, None, HostsFile("e0", ""))  # e1's file is not in e1's block: e1 is none
    assert segments(steps) == [Segment(0, 8)]


def test_no_process_to_be_had_is_no_worker_with_nothing_run_and_nothing_left_open(tmp_path: Path,
                                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    def no_fork() -> int:
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    before = set(os.listdir("/proc/self/fd"))
    with pytest.raises(parallel.NoWorker, match="temporarily unavailable"):
        run_split(plan_of(4), [(2 + 5 * i, 7 + 5 * i) for i in range(4)], recorder(tmp_path), lambda: recorder(tmp_path), str)
    assert set(os.listdir("/proc/self/fd")) == before and gc.get_freeze_count() == 0
    assert not (tmp_path / "log").exists()
