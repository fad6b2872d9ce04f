"""The operations behind the commands: observe, plan, apply and verify, destroy, status."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import TYPE_CHECKING, Any, NoReturn

from reconciler.applying import descriptors, preflight, removal
from reconciler.applying.verification import Footprint, verify_plan
from reconciler.errors import ApplyError, RolledBack, StepFailed, VerifyError
from reconciler.input.pools import assign
from reconciler.input.spec import Endpoint, Manifests, Network, where
from reconciler.kernel import capabilities, runstate
from reconciler.kernel.observe import Reader, observe
from reconciler.kernel.session import Kernel
from reconciler.model import KernelObject, Netns, NftTable, Sysctl
from reconciler.model.dhcp import LeaseKeeper
from reconciler.model.dns import Gone, Resolver
from reconciler.planners import Planner, desired_state, exposure_notes, firewall
from reconciler.planners import endpoint as endpoint_planner
from reconciler.planners.dhcp import lease_notes
from reconciler.planners.keep import unpruned
from reconciler.planning import guards, subnets
from reconciler.planning.differ import diff_groups
from reconciler.planning.guards import Limits
from reconciler.planning.hosts import localize
from reconciler.planning.plan import (
    RELEASE,
    Action,
    Observed,
    Plan,
    Step,
    changes,
    diff,
)

if TYPE_CHECKING:
    from reconciler.appliers.resolver import Deferred
    from reconciler.applying.executor import Reporter

# The appliers and the executor are loaded by the functions that use them:
# a one-shot plan needs none of them (a sixth of its modules' loading).


def _sysctl_keys(m: Manifests) -> list[tuple[str | None, str]]:
    """Every sysctl the manifests may set here, whichever Host this is (the extra reads are harmless)."""
    every = replace(assign(m)[0], hosts=(), host=None)  # automatic subnets: which families, wherever they land
    return [(o.ns, o.name) for o in endpoint_planner.host_objects(every) if isinstance(o, Sysctl)] + [
        (ep.netns, name) for ep in m.endpoints for name, _ in ep.sysctls]


def observe_for(m: Manifests, kernel: Kernel, reader: Reader | None = None,
                keys: list[tuple[str | None, str]] | None = None) -> Observed:
    observed = observe(kernel, _sysctl_keys(m) if keys is None else keys, reader)
    apart = reader.namespaces_apart() if reader is not None else None
    return observed if apart is None else replace(observed, namespaces=apart)


# Link kinds a kernel may lack (bridge and veth are taken for granted): checked before any change.
OPTIONAL_KINDS = ("macvlan", "ipvlan", "vlan", "dummy", "vxlan")


def _planned(m: Manifests, observed: Observed, prune: bool = True,
             planner: Planner | None = None) -> tuple[Plan, list[KernelObject]]:
    """The plan with the preflight's notes, and the desired state it was made from; KernelSupportError
    or PreflightError when the host cannot carry the manifests (a missing link kind, an unusable
    parent, too few file descriptors for our processes). Nothing is changed by either. Without
    `prune`, what the manifests do not declare stays."""
    m, explained = subnets.resolve(m, observed)
    planner = planner or Planner()
    ctx = planner.context_for(m, observed)
    notes = explained + preflight.require(m, observed) + exposure_notes(ctx) + lease_notes(observed)
    groups = planner.desired_groups(m, observed, ctx)
    desired = [o for group in groups for o in group]
    if not prune:
        desired = unpruned(desired, observed, m.owners)
        groups = [desired]
    _require_kinds(m, desired)
    descriptors.require(desired)
    return replace(diff_groups(groups, observed, planner.differ), notes=notes), desired


def _require_kinds(m: Manifests, desired: list[KernelObject]) -> None:
    """A kernel without a link kind the desired state needs is refused before anything changes, at the
    manifest object that first needs it."""
    types: list[type[KernelObject]] = list(map(type, desired))  # a kind is its class's: one test per class, not per object
    firsts = sorted(types.index(t) for t in set(types) if t.kind in OPTIONAL_KINDS)
    if not firsts:
        return
    needs: dict[str, str] = {}
    for obj in map(desired.__getitem__, firsts):
        needs.setdefault(obj.kind, obj.owner)
    owners = set(needs.values())  # only theirs are named: a position per object is costly at thousands
    objects: list[Network | Endpoint] = [*m.networks, *m.endpoints]
    objects = [o for o in objects if o.owner in owners]
    declared = {o.owner: f"{where(o)}: {type(o).__name__}/{o.name}" for o in objects}
    capabilities.require(sorted(needs), {k: declared[o] for k, o in needs.items() if o in declared})


def plan(m: Manifests, kernel: Kernel, reader: Reader | None = None, keys: list[tuple[str | None, str]] | None = None) -> Plan:
    """What apply would do now."""
    observed = observe_for(m, kernel, reader, keys)
    return removal.annotate(_planned(localize(m, observed), observed)[0], observed)


@dataclass(frozen=True)
class ApplyOptions:
    """How an apply runs: its guards' limits, whether a failure is rolled back, where it reads, whether it prunes."""

    limits: Limits = field(default_factory=Limits)
    rollback: bool = True
    reader: Reader | None = None  # where observe reads namespaces (the watch's cache); None: the kernel
    prune: bool = True            # False: keep what the manifests do not declare (the watch, source invalid)
    planner: Planner | None = None  # one that keeps what it planned (the watch's); None: a fresh one
    resolver_later: bool = False  # wait for the resolver's load after verify reads the kernel (_deferrable)


@dataclass(frozen=True)
class ApplyResult:
    """The plan that was run, the steps done, the kernel as it was before (for a later revert), and the
    desired state the plan was made from (what the kernel holds now, verified)."""

    plan: Plan
    done: tuple[Step, ...]
    before: Observed
    desired: tuple[KernelObject, ...] = ()


def apply(m: Manifests, kernel: Kernel, report: Reporter = lambda s: None, options: ApplyOptions = ApplyOptions(),
          planned: Callable[[Plan], None] = lambda plan: None) -> ApplyResult:
    """Make the kernel match the manifests and verify it does; on any failure, undo what was done.
    `planned` hears of the plan before its first step, `report` of each step done."""
    keys = _sysctl_keys(m)
    previous = runstate.applied()
    before = observe_for(m, kernel, options.reader, keys)
    m = localize(m, before)
    steps, desired = _guarded(m, before, options, previous)
    before = removal.with_sysctls(before, removal.declared_sysctls(m, previous, steps), kernel)
    planned(steps)
    result = ApplyResult(steps, (), before, tuple(desired))
    result = replace(result, done=_run_verified(result, kernel, report, options, keys))
    _remember(m, previous)
    return result


def _guarded(m: Manifests, before: Observed, options: ApplyOptions,
             previous: runstate.Applied | None) -> tuple[Plan, list[KernelObject]]:
    """The plan (annotated with what removals take along) and its desired state, once the guards let
    it through (RefusedError)."""
    steps, desired = _planned(m, before, options.prune, options.planner)
    steps = removal.annotate(steps, before)
    guards.check(m, before, steps, options.limits, previous.owners if previous else None)
    guards.check_foreign(steps, options.limits.force)
    return steps, desired


def _run_verified(planned: ApplyResult, kernel: Kernel, report: Reporter, options: ApplyOptions,
                  keys: list[tuple[str | None, str]]) -> tuple[Step, ...]:
    """Run the plan, then check that where it wrote, the kernel read again holds exactly the desired
    state; the steps done. On a failure, what was done is undone (RolledBack), or kept (ApplyError)."""
    from reconciler.appliers.resolver import Deferred  # lazily: no plan needs it
    from reconciler.applying.executor import (  # lazily: no plan needs it
        Verifier,
        execute,
    )
    done: list[Step] = []
    waits = Deferred(_deferrable(planned.plan) if options.resolver_later else None)
    try:
        with waits.deferring():
            done = execute(planned.plan, kernel, report)
        if planned.plan:
            footprint = Footprint.of(planned.plan)
            Verifier(lambda: verify_plan(planned.desired, footprint, kernel, options.reader, keys,
                                         lambda: _settled(waits, done)))()
    except (StepFailed, VerifyError) as err:
        done = err.done if isinstance(err, StepFailed) else done
        _undo_failed(err, replace(planned, done=tuple(done)), kernel, options.rollback)
    return tuple(done)


def _deferrable(plan: Plan) -> Resolver | None:
    """The resolver whose load an apply may wait for only once it has read the kernel back (the watch's,
    ApplyOptions.resolver_later: the load overlaps the read on the other core; a one-shot apply gains
    nothing by it, measured: apply +1 at 1000 499 ms either way, medians of 6): the plan's last resolver
    step's, unless that step lets go of namespaces the deletes after it remove (RELEASE: they must not be
    held)."""
    last = next((s for s in reversed(plan.steps) if s.obj.kind == "resolver"), None)
    if last is None or not isinstance(last.desired, Resolver) or last.reason == RELEASE:
        return None
    return last.desired


def _settled(waits: Deferred, done: list[Step]) -> bool:
    """The wait put off, failing as its step would have: StepFailed naming it, with every other step
    done (those after it ran meanwhile) to undo."""
    try:
        return waits.settle()
    except (ApplyError, OSError) as err:
        step = next(s for s in done if s.desired is waits.obj)
        raise StepFailed(f"{step}: {err}", [s for s in done if s is not step]) from err


def _undo_failed(err: Exception, failed: ApplyResult, kernel: Kernel, rollback: bool) -> NoReturn:
    """Raise the failure, having undone the steps done (unless --no-rollback)."""
    steps = len(failed.done)
    if not rollback:
        raise ApplyError(f"{err}\nThe partial state is kept (--no-rollback): {steps} step(s) were applied.") from err
    lost = revert(failed, kernel)
    raise RolledBack(f"{err}\n{rolled_back(steps, lost)}") from err


def rolled_back(steps: int, lost: list[str]) -> str:
    """What a rollback achieved, claiming no more than it did."""
    if not lost:
        return f"Rolled back {steps} step(s): the kernel is as it was before this apply."
    return (f"Rolled back {steps} step(s): netreconcile's objects are as they were before this apply, but not "
            f"everything else is:\n" + "\n".join(f"  {line}" for line in lost))


def _applied(m: Manifests) -> runstate.Applied:
    return runstate.Applied(m.owners, {ep.netns: tuple(name for name, _ in ep.sysctls) for ep in m.endpoints if ep.sysctls})


def _remember(m: Manifests, previous: runstate.Applied | None) -> None:
    """Record the source just applied with success (the guard judges the next one against it)."""
    applied = _applied(m)
    if applied != previous:
        runstate.record_applied(applied)


def revert(result: ApplyResult, kernel: Kernel) -> list[str]:
    """Undo an apply's steps, last first, then verify the kernel is back to what it was before it.
    Returns what no rollback can restore (removal.unrestorable)."""
    from reconciler.applying.executor import (  # lazily: no plan needs it
        Verifier,
        execute,
        undo,
    )
    undo(list(result.done), kernel)
    keys = [(o.ns, o.name) for o in result.before.objects.values() if isinstance(o, Sysctl)]

    def back_to_before() -> Plan:
        return diff(list(result.before.objects.values()), observe(kernel, keys))

    # What the kernel removed by itself (routes flushed with an address) comes back in a second pass.
    execute(back_to_before(), kernel, hooks=False)
    Verifier(back_to_before, what="the rollback could not restore the kernel exactly; still different")()
    return removal.unrestorable(result.done)


def destroy_plan(m: Manifests, kernel: Kernel) -> Plan:
    """Delete everything these manifests own, and nothing else that is ours."""
    return _destroy_steps(m, observe_for(m, kernel))


def _destroy_steps(m: Manifests, observed: Observed) -> Plan:
    localize(m, observed)  # refuses a --host that the manifests do not declare
    keep: list[KernelObject] = []
    going = Gone(frozenset(o.name for o in observed.objects.values() if isinstance(o, Netns) and not _kept(o, m.owners)),
                 frozenset(n.name for n in m.networks),
                 frozenset([e.name for e in m.endpoints] + [s.name for s in m.services]))
    for obj in observed.objects.values():
        if isinstance(obj, NftTable):
            table = _without_owners(obj, m.owners)
            keep += [table] if table else []
        elif isinstance(obj, (Resolver, LeaseKeeper)):
            process = obj.without(going)
            keep += [process] if process else []
        else:
            keep += _kept(obj, m.owners)
    return diff(keep, observed)


def _kept(obj: KernelObject, owners: frozenset[str]) -> list[KernelObject]:
    """An object keeps what other manifests own of it: a parent shared by several networks (its owner
    lists them) loses these owners and stays while any other remains."""
    mine = set(obj.owner.split())
    remaining = mine - owners
    if remaining == mine:
        return [obj]
    if not remaining:
        return []
    owner: dict[str, Any] = {"owner": " ".join(sorted(remaining))}  # a field of every kind, not of the base class
    return [replace(obj, **owner)]


def destroy(m: Manifests, kernel: Kernel, report: Reporter = lambda s: None,
            planned: Callable[[Plan], None] = lambda plan: None, force: bool = False) -> Plan:
    """Delete what these manifests own; a namespace holding what we did not create needs `force`."""
    from reconciler.applying.executor import (  # lazily: no plan needs it
        Verifier,
        execute,
    )
    observed = observe_for(m, kernel)
    steps = removal.annotate(_destroy_steps(m, observed), observed)
    guards.check_foreign(steps, force)
    planned(steps)
    execute(steps, kernel, report)
    if steps:
        Verifier(lambda: destroy_plan(m, kernel))()
    return steps


def _without_owners(table: NftTable, owners: frozenset[str]) -> NftTable | None:
    rules = [r for r in table.rules if r.owner not in owners]
    kept = firewall.table(rules)
    return kept


class State(str, Enum):
    """An object's state in `status`."""

    IN_SYNC = "in sync"
    DRIFTED = "drifted"
    MISSING = "missing"
    EXTRA = "extra"


@dataclass(frozen=True)
class ObjectStatus:
    """One row of `status`: an object, its state, and what differs."""

    obj: KernelObject
    state: State
    detail: str = ""


STATE_OF = {Action.CREATE: State.MISSING, Action.UPDATE: State.DRIFTED, Action.REPLACE: State.DRIFTED, Action.DELETE: State.EXTRA}


def status(m: Manifests, kernel: Kernel) -> tuple[list[ObjectStatus], tuple[str, ...]]:
    """Every desired object with its state, then every owned object that should not be there; and the
    preflight's findings (errors are shown here, not raised)."""
    return status_of(m, observe_for(m, kernel))


def status_of(m: Manifests, observed: Observed) -> tuple[list[ObjectStatus], tuple[str, ...]]:
    """status() of a kernel already observed (`graph --live` reads it once for states and addresses)."""
    m, explained = subnets.resolve(localize(m, observed), observed)
    findings = preflight.check(m, observed)
    desired = desired_state(m, observed)
    steps = {s.obj.key: s for s in changes(desired, observed)}
    out = []
    for obj in desired:
        step = steps.pop(obj.key, None)
        out.append(ObjectStatus(obj, STATE_OF[step.action], step.reason or _changed(step)) if step else ObjectStatus(obj, State.IN_SYNC))
    out += [ObjectStatus(s.obj, State.EXTRA) for s in steps.values()]
    errors = (*findings.errors, *descriptors.problems(desired))
    return out, explained + tuple(f"error: {e}" for e in errors) + findings.notes + lease_notes(observed)


def _changed(step: Step) -> str:
    shown = [f"{name}: {old} -> {new}" for name, old, new in step.changes if name not in ("rules", "chains", "content")]
    whole = [f"{name} differs" for name, _, _ in step.changes if name == "content"]
    return ", ".join(shown + whole) or ("rules differ" if step.changes else "")
