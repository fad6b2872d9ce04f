"""Runs a plan against the kernel step by step, and undoes completed steps in reverse on demand (with
the test-only switches of switches.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from reconciler.appliers import appliers
from reconciler.appliers.registry import Applier, Appliers
from reconciler.applying import parallel, switches
from reconciler.errors import (
    KernelError,
    NetreconcileError,
    StepFailed,
    VerifyError,
)
from reconciler.kernel import netns
from reconciler.kernel.session import Kernel
from reconciler.model import KernelObject, Netns, Sysctl
from reconciler.planning.plan import Action, Plan, Step

Reporter = Callable[[Step], None]


def execute(plan: Plan, kernel: Kernel, report: Reporter = lambda step: None, hooks: bool = True) -> list[Step]:
    """Apply each step in order and return them; the first failure raises StepFailed. Long runs of
    endpoints are split over two processes (parallel.py), unless a test is to kill this one or other
    threads run here (the watch's): a fork copies none of them, nor knows what locks they held."""
    found = appliers(kernel)
    held = _Held()
    done: list[Step] = []
    split = not (hooks and switches.killing()) and threading.active_count() == 1
    for segment in parallel.segments(plan.steps) if split else [parallel.Segment(0, len(plan.steps))]:
        deleting = bool(segment.blocks) and plan.steps[segment.start].action is Action.DELETE
        if segment.blocks and not deleting:
            _run_split(plan, segment, found, held, hooks, done, report)
            continue
        # Deletions stay in one process: two unmounting at once wait on each other (at 3000, 0.8 -> 1.5 ms each).
        with netns.together() if deleting else nullcontext():
            _run_one_by_one(plan, segment, found, held, hooks, done, report)
    return done


def _run_one_by_one(plan: Plan, segment: parallel.Segment, found: Appliers, held: _Held, hooks: bool,
                    done: list[Step], report: Reporter) -> None:
    for number in range(segment.start + 1, segment.end + 1):
        step = plan.steps[number - 1]
        try:
            _run_with_hooks(number, step, found, held, hooks)
        except Exception as err:  # whatever it is (a bug too), the steps already done are undone
            raise StepFailed(f"{step}: {_describe(err)}", done) from err
        done.append(step)
        report(step)
        if hooks:
            switches.kill_after(number)


def _run_split(plan: Plan, segment: parallel.Segment, found: Appliers, held: _Held, hooks: bool, done: list[Step],
               report: Reporter) -> None:
    """A segment's blocks over two processes; its steps done are added to `done` and told in plan order."""
    def worker() -> parallel.RunStep:  # the worker's own session: the parent's sockets stay the parent's
        theirs, theirs_held = appliers(Kernel()), _Held()  # one pass over /proc per process, not per namespace
        return lambda number, step: _run_with_hooks(number, step, theirs, theirs_held, hooks)

    try:
        outcome = parallel.run_split(plan.steps, segment.blocks,
                                     lambda number, step: _run_with_hooks(number, step, found, held, hooks),
                                     worker, _describe)
    except parallel.NoWorker:  # no process to be had: this one runs them all
        _run_one_by_one(plan, segment, found, held, hooks, done, report)
        return
    for number in outcome.done:
        done.append(plan.steps[number - 1])
        report(plan.steps[number - 1])
    if outcome.failure is not None:
        number, text, err = outcome.failure
        raise StepFailed(f"{plan.steps[number - 1]}: {text}", done) from err


def _run_with_hooks(number: int, step: Step, found: Appliers, held: _Held, hooks: bool) -> None:
    if hooks:
        switches.fail_at(number)
    if not (hooks and switches.skipped(number)):
        _run(found, step, held)


# Links a namespace's removal takes along only if nothing else holds the namespace: a process still
# running inside keeps it, and its veths would stay on their bridge. Then they are deleted first,
# explicitly (one by one that costs the kernel far more than a namespace's batched teardown).
EXPLICIT = ("veth", "macvlan", "ipvlan")


class _Held:
    """The namespaces processes are in, looked up once per run, when a namespace is first deleted."""

    def __init__(self) -> None:
        self._held: frozenset[tuple[int, int]] | None = None

    def __contains__(self, name: str) -> bool:
        if self._held is None:
            self._held = netns.held_by_processes()
        return netns.identity(name) in self._held


def _run(found: Appliers, step: Step, held: _Held) -> None:
    if step.action is Action.DELETE and isinstance(step.obj, Netns) and step.obj.name in held:
        for obj in step.implied:
            if obj.kind in EXPLICIT:
                found[obj.kind].delete(obj)
    RUN[step.action](found[step.obj.kind], step)


def _create(applier: Applier[Any], step: Step) -> None:
    applier.create(step.desired)


def _update(applier: Applier[Any], step: Step) -> None:
    applier.update(step.desired, frozenset(name for name, _, _ in step.changes))


def _replace(applier: Applier[Any], step: Step) -> None:
    if step.observed is not None:
        applier.delete(step.observed)
    applier.create(step.desired)


def _delete(applier: Applier[Any], step: Step) -> None:
    applier.delete(step.observed)


RUN: dict[Action, Callable[[Applier[Any], Step], None]] = {
    Action.CREATE: _create, Action.UPDATE: _update, Action.REPLACE: _replace, Action.DELETE: _delete,
}


def inverse(step: Step) -> list[Step]:
    """The steps that undo `step` (a sysctl that did not exist before cannot be unset: none)."""
    if step.action is Action.CREATE:
        return [] if isinstance(step.obj, Sysctl) else [Step(Action.DELETE, None, step.obj)]
    if step.action is Action.DELETE:
        return [Step(Action.CREATE, obj, None) for obj in _restore_order(step.obj, step.implied)]
    if step.observed is None:  # a replace of what was not there
        return [Step(Action.DELETE, None, step.obj)]
    if step.action is Action.UPDATE:
        return [Step(Action.UPDATE, step.observed, step.obj, changes=tuple(step.observed.differences(step.obj)))]
    return [Step(Action.REPLACE, step.observed, step.obj)]


def _restore_order(root: KernelObject, implied: tuple[KernelObject, ...]) -> list[KernelObject]:
    return [root, *sorted(implied, key=lambda o: o.rank)]


def undoing(done: list[Step]) -> Plan:
    """The plan that undoes completed steps: their inverses, last step first."""
    return Plan(tuple(inv for step in reversed(done) for inv in inverse(step)))


def undo(done: list[Step], kernel: Kernel) -> None:
    """Undo completed steps, last first. Raises ApplyError naming the step that could not be undone."""
    plan = undoing(done)
    if plan:
        execute(plan, kernel, hooks=False)


def _describe(err: Exception) -> str:
    if isinstance(err, KernelError):
        return f"kernel said: {err.strerror} (errno {err.errno})"
    if isinstance(err, (OSError, NetreconcileError)):
        return str(err)
    return f"unexpected {type(err).__name__}: {err} (a bug in netreconcile; --debug shows where)"


@dataclass(frozen=True)
class Verifier:
    """Re-plans after an apply until nothing differs. The kernel settles some state asynchronously (a
    removed namespace's links go with the kernel's batched teardown: seconds at thousands, or under
    load): it waits on while each re-plan finds fewer differences, pausing longer each time they do
    not shrink, and gives up after `attempts` without progress or after `settle_within` seconds."""

    replan: Callable[[], Plan]
    attempts: int = 5  # without progress: pauses of 0.2, 0.4, 0.8 and 1.6 s, 3 s in all
    pause: float = 0.2
    what: str = "the kernel still differs from the manifests after apply"
    settle_within: float = 120.0

    def __call__(self) -> None:
        deadline = time.monotonic() + self.settle_within
        fewest, tries = None, 0
        while True:
            remaining = self.replan()
            if not remaining:
                return
            tries = 1 if fewest is None or len(remaining.steps) < fewest else tries + 1
            fewest = len(remaining.steps) if fewest is None else min(fewest, len(remaining.steps))
            if tries >= self.attempts or time.monotonic() > deadline:
                break
            time.sleep(self.pause * 2 ** (tries - 1))
        lines = "\n".join(f"  {s}" for s in remaining.steps)
        raise VerifyError(f"{self.what}:\n{lines}")
