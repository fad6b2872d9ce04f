"""The watch's apply puts the resolver step's wait off until verify has read the kernel back (the
resolver loads on the other core meanwhile): the wait still happens before the apply counts as
converged, the resolver is read again after it, and a resolver that never reports fails the apply as
its step would have, every other step done (those after it too) undone."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler import engine
from reconciler.appliers import resolver as applier
from reconciler.applying import executor, verification
from reconciler.errors import ApplyError, StepFailed
from reconciler.kernel import resolverstate
from reconciler.kernel.observe import Reader
from reconciler.model import Sysctl
from reconciler.model.dns import Resolver
from reconciler.planning.plan import RELEASE, Action, Observed, Plan, Step

WANT = Resolver("new", ("a", "b"), state="{}")
OLD = Resolver("old", ("a",), state="{}")
BEFORE = Step(Action.CREATE, Sysctl("a", "net.ipv4.ip_forward", "1"), None)
AFTER = Step(Action.CREATE, Sysctl("b", "net.ipv4.ip_forward", "1"), None)
RESOLVER = Step(Action.UPDATE, WANT, OLD, changes=(("digest", "old", "new"),))
PLAN = Plan((BEFORE, RESOLVER, AFTER))
READER = Reader()  # the watch reads through its cache, a one-shot apply through a Reader too


class Kernel:
    """What the apply touches is faked here: the steps, the kernel read back, the resolver."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, serves: bool) -> None:
        self.events: list[str] = []
        self.undone: list[Step] = []
        self.failure: Exception | None = None
        monkeypatch.setattr(applier, "load", lambda *a: self.events.append("load"))
        monkeypatch.setattr(applier._Serving, "__init__", lambda s, obj, process: s.__dict__.update(obj=obj, process=process))
        monkeypatch.setattr(applier, "wait_until", lambda done, folder=None: self.events.append("wait") or serves)
        monkeypatch.setattr(resolverstate, "observe", lambda inodes=None, served=None: self.events.append("resolver read") or WANT)
        monkeypatch.setattr(executor, "execute", self.execute)  # engine loads it when it runs a plan
        monkeypatch.setattr(engine, "observe", self.observe)
        monkeypatch.setattr(verification, "observe", self.observe)
        monkeypatch.setattr(engine, "_undo_failed", self.undo_failed)

    def execute(self, plan: Plan, kernel: Any, report: Any) -> list[Step]:
        for step in plan.steps:
            if isinstance(step.desired, Resolver):
                applier.ResolverApplier(kernel).update(step.desired, frozenset())
            self.events.append(f"step {plan.steps.index(step) + 1}")
        return list(plan.steps)

    def observe(self, *args: Any, resolver: bool = True) -> Observed:
        self.events.append("kernel read" + (" with the resolver" if resolver else ""))
        found = {BEFORE.obj.key: BEFORE.obj, AFTER.obj.key: AFTER.obj}
        return Observed({OLD.key: OLD, **found} if resolver else found)

    def undo_failed(self, err: Exception, failed: engine.ApplyResult, kernel: Any, rollback: bool) -> None:
        self.failure, self.undone = err, list(failed.done)
        raise err


def run(plan: Plan = PLAN, later: bool = True) -> tuple[Step, ...]:
    """The plan run as the watch runs it (`later`: ApplyOptions.resolver_later), or as a one-shot apply."""
    desired = tuple(s.desired for s in plan.steps if s.desired is not None)
    result = engine.ApplyResult(plan, (), Observed({}), desired)
    options = engine.ApplyOptions(reader=READER, resolver_later=later)
    return engine._run_verified(result, None, lambda s: None, options, [])  # type: ignore[arg-type]


def test_the_wait_comes_after_the_kernel_is_read_and_the_resolver_is_read_after_it(monkeypatch: pytest.MonkeyPatch) -> None:
    kernel = Kernel(monkeypatch, serves=True)
    assert run() == PLAN.steps
    assert kernel.events == ["step 1", "load", "step 2", "step 3", "kernel read", "wait", "resolver read"]


def test_the_desired_objects_in_the_footprint_are_found_before_the_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """The wait ends what the resolver's load overlaps: the pass over every desired object for those
    the apply wrote comes before it, not after (after it: the objects read back, few)."""
    kernel = Kernel(monkeypatch, serves=True)
    within = verification.Footprint.within
    monkeypatch.setattr(verification.Footprint, "within", lambda self, objects: kernel.events.append(
        f"within {len(list(objects))}") or within(self, objects))  # type: ignore[func-returns-value]
    run()
    assert kernel.events[kernel.events.index("load"):] == [
        "load", "step 2", "step 3", "within 3", "kernel read", "wait", "resolver read", "within 3"]


def test_a_resolver_that_never_reports_fails_the_apply_as_its_step_and_every_other_step_is_undone(
        monkeypatch: pytest.MonkeyPatch) -> None:
    kernel = Kernel(monkeypatch, serves=False)
    with pytest.raises(StepFailed):
        run()
    assert isinstance(kernel.failure, StepFailed)
    assert str(kernel.failure).startswith(f"{RESOLVER}: the DNS resolver did not report serving")
    assert kernel.undone == [BEFORE, AFTER]  # the resolver's own step is not: as when it failed in its place
    assert kernel.events.index("wait") > kernel.events.index("kernel read")


def test_a_one_shot_apply_waits_in_the_steps_place_though_it_reads_through_a_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    kernel = Kernel(monkeypatch, serves=False)
    with pytest.raises(ApplyError, match="did not report serving"):  # the fake execute is no executor: raw
        run(later=False)
    assert kernel.events == ["step 1", "load", "wait", "resolver read"]  # the error's own look


def test_a_step_letting_go_of_namespaces_before_deletes_is_not_put_off() -> None:
    release = Step(Action.UPDATE, WANT, OLD, RELEASE, (("serving", ("a",), ("a", "b")),))
    assert engine._deferrable(Plan((release, AFTER))) is None
    assert engine._deferrable(PLAN) is WANT
    assert engine._deferrable(Plan((BEFORE, Step(Action.DELETE, None, OLD)))) is None


def test_a_rollbacks_resolver_step_waits_in_its_place(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the very object the plan loads is put off: the rollback's load of the old one (equal or
    not) is waited for where it runs."""
    Kernel(monkeypatch, serves=True)
    waits = applier.Deferred(WANT)
    with waits.deferring():
        applier.ResolverApplier(None).create(Resolver("new", ("a", "b"), state="{}"))  # type: ignore[arg-type]
    assert waits.pending is None


def test_without_a_wait_put_off_the_resolver_is_still_read_once_after_the_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernel read back leaves the resolver out (it would be read again after the wait): with no wait
    put off, the resolver is read after it all the same, and compared."""
    kernel = Kernel(monkeypatch, serves=True)
    monkeypatch.setattr(resolverstate, "observe", lambda inodes=None, served=None: kernel.events.append("resolver read") or OLD)
    plan = Plan((BEFORE, AFTER))
    desired = (BEFORE.desired, AFTER.desired, WANT)
    result = engine.ApplyResult(plan, (), Observed({}), desired)  # type: ignore[arg-type]
    differs = verification.verify_plan(result.desired, verification.Footprint.of(plan), None, READER, [])  # type: ignore[arg-type]
    assert kernel.events == ["kernel read", "resolver read"]
    assert [s.obj for s in differs.steps] == [WANT]
