"""The operations behind the commands: observe, plan, apply and verify, destroy, status."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Callable

from dataclasses import replace

from reconciler import capabilities, guards, preflight
from reconciler.hosts import localize
from reconciler.errors import ApplyError, VerifyError
from reconciler.executor import Reporter, StepFailed, Verifier, execute, undo
from reconciler.guards import Limits
from reconciler.kernel import Kernel
from reconciler.model import Key, KernelObject, NftTable, Sysctl
from reconciler.observe import Reader, observe
from reconciler.plan import Action, Observed, Plan, Step, changes, diff
from reconciler.planners import context, desired_state, exposure_notes, firewall
from reconciler.planners import endpoint as endpoint_planner
from reconciler.spec import Manifests


def _sysctl_keys(m: Manifests) -> list[tuple[str | None, str]]:
    """Every sysctl the manifests may set here, whichever Host this is (the extra reads are harmless)."""
    every = replace(m, hosts=(), host=None)
    return [(o.ns, o.name) for o in endpoint_planner.host_objects(every) if isinstance(o, Sysctl)] + [
        (ep.netns, name) for ep in m.endpoints for name, _ in ep.sysctls]


def observe_for(m: Manifests, kernel: Kernel, reader: Reader | None = None,
                keys: list[tuple[str | None, str]] | None = None) -> Observed:
    return observe(kernel, _sysctl_keys(m) if keys is None else keys, reader)


@dataclass(frozen=True)
class Scope:
    """What an apply wrote: every namespace a step's objects live in, and every object a step touched
    (a netns deleted with what lived in it included). The rest of the kernel it did not write: its
    verification re-reads the host and these namespaces, and compares the objects within them."""

    namespaces: frozenset[str]
    keys: frozenset[Key]
    table: bool  # whether it wrote our nftables table (the host's other objects are always compared)

    @classmethod
    def of(cls, plan: Plan) -> "Scope":
        objects = [o for s in plan.steps for o in (s.desired, s.observed, *s.implied) if o is not None]
        return cls(frozenset(o.netns for o in objects if o.netns), frozenset(o.key for o in objects),
                   any(isinstance(o, NftTable) for o in objects))

    def __contains__(self, obj: KernelObject) -> bool:
        ns = obj.netns
        if ns is None:
            return self.table or not isinstance(obj, NftTable)
        # An object living in a namespace outside the scope is in it by key only when it has none ("":
        # an orphaned veth): any other object keyed like a step's object was paired with it by the diff,
        # so its namespace is the step's.
        return ns in self.namespaces or (not ns and obj.key in self.keys)


def verify_plan(desired: list[KernelObject], scope: Scope, kernel: Kernel, reader: Reader | None,
                keys: list[tuple[str | None, str]]) -> Plan:
    """What still differs within `scope` after an apply: the desired state the plan was made from,
    against the kernel read again there."""
    scoped_keys = [(ns, key) for ns, key in keys if ns is None or ns in scope.namespaces]
    after = observe(kernel, scoped_keys, reader, scope.namespaces, scope.table)
    within = Observed({k: o for k, o in after.objects.items() if o in scope}, after.foreign, after.host_links)
    return diff([o for o in desired if o in scope], within)


# Link kinds a kernel may lack (bridge and veth are taken for granted): checked before any change.
OPTIONAL_KINDS = ("macvlan", "ipvlan", "vlan", "dummy", "vxlan")


def _planned(m: Manifests, observed: Observed) -> tuple[Plan, list[KernelObject]]:
    """The plan with the preflight's notes, and the desired state it was made from; KernelSupportError
    or PreflightError when the host cannot carry the manifests (a missing link kind, an unusable
    parent). Nothing is changed by either."""
    ctx = context(m, observed)
    notes = preflight.require(m, observed) + exposure_notes(ctx)
    desired = desired_state(m, observed, ctx)
    capabilities.require(sorted({o.kind for o in desired if o.kind in OPTIONAL_KINDS}))
    return replace(diff(desired, observed), notes=notes), desired


def plan(m: Manifests, kernel: Kernel, reader: Reader | None = None, keys: list[tuple[str | None, str]] | None = None) -> Plan:
    """What apply would do now."""
    observed = observe_for(m, kernel, reader, keys)
    return _planned(localize(m, observed), observed)[0]


@dataclass(frozen=True)
class ApplyOptions:
    limits: Limits = Limits()
    rollback: bool = True
    reader: Reader | None = None  # where observe reads namespaces (the watch's cache); None: the kernel


@dataclass(frozen=True)
class ApplyResult:
    """The plan that was run, the steps done, and the kernel as it was before (for a later revert)."""

    plan: Plan
    done: tuple[Step, ...]
    before: Observed


def apply(m: Manifests, kernel: Kernel, report: Reporter = lambda s: None, options: ApplyOptions = ApplyOptions(),
          planned: Callable[[Plan], None] = lambda plan: None) -> ApplyResult:
    """Make the kernel match the manifests and verify it does; on any failure, undo what was done.
    `planned` hears of the plan before its first step, `report` of each step done."""
    keys = _sysctl_keys(m)
    before = observe_for(m, kernel, options.reader, keys)
    m = localize(m, before)
    steps, desired = _planned(m, before)
    guards.check(m, before, steps, options.limits)
    planned(steps)
    done: list[Step] = []
    try:
        done = execute(steps, kernel, report)
        if steps:  # where it wrote, the kernel read again must hold exactly the desired state
            scope = Scope.of(steps)
            Verifier(lambda: verify_plan(desired, scope, kernel, options.reader, keys))()
    except (StepFailed, VerifyError) as err:
        done = err.done if isinstance(err, StepFailed) else done
        if not options.rollback:
            raise ApplyError(f"{err}\nThe partial state is kept (--no-rollback): {len(done)} step(s) were applied.") from err
        revert(ApplyResult(steps, tuple(done), before), kernel)
        raise ApplyError(f"{err}\nRolled back {len(done)} step(s): the kernel is as it was before this apply.") from err
    return ApplyResult(steps, tuple(done), before)


def revert(result: ApplyResult, kernel: Kernel) -> None:
    """Undo an apply's steps, last first, then verify the kernel is back to what it was before it."""
    undo(list(result.done), kernel)
    keys = [(o.ns, o.name) for o in result.before.objects.values() if isinstance(o, Sysctl)]

    def back_to_before() -> Plan:
        return diff(list(result.before.objects.values()), observe(kernel, keys))

    # What the kernel removed by itself (routes flushed with an address) comes back in a second pass.
    execute(back_to_before(), kernel, hooks=False)
    Verifier(back_to_before, what="the rollback could not restore the kernel exactly; still different")()


def destroy_plan(m: Manifests, kernel: Kernel) -> Plan:
    """Delete everything these manifests own, and nothing else that is ours."""
    observed = observe_for(m, kernel)
    localize(m, observed)  # refuses a --host that the manifests do not declare
    keep: list[KernelObject] = []
    for obj in observed.objects.values():
        if isinstance(obj, NftTable):
            table = _without_owners(obj, m.owners)
            keep += [table] if table else []
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
    return [replace(obj, owner=" ".join(sorted(remaining)))] if remaining else []


def destroy(m: Manifests, kernel: Kernel, report: Reporter = lambda s: None,
            planned: Callable[[Plan], None] = lambda plan: None) -> Plan:
    steps = destroy_plan(m, kernel)
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
    IN_SYNC = "in sync"
    DRIFTED = "drifted"
    MISSING = "missing"
    EXTRA = "extra"


@dataclass(frozen=True)
class ObjectStatus:
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
    m = localize(m, observed)
    findings = preflight.check(m, observed)
    desired = desired_state(m, observed)
    steps = {s.obj.key: s for s in changes(desired, observed)}
    out = []
    for obj in desired:
        step = steps.pop(obj.key, None)
        out.append(ObjectStatus(obj, STATE_OF[step.action], step.reason or _changed(step)) if step else ObjectStatus(obj, State.IN_SYNC))
    out += [ObjectStatus(s.obj, State.EXTRA) for s in steps.values()]
    return out, tuple(f"error: {e}" for e in findings.errors) + findings.notes


def _changed(step) -> str:
    shown = [f"{name}: {old} -> {new}" for name, old, new in step.changes if name not in ("rules", "chains", "content")]
    whole = [f"{name} differs" for name, _, _ in step.changes if name == "content"]
    return ", ".join(shown + whole) or ("rules differ" if step.changes else "")
