"""The operations behind the commands: observe, plan, apply and verify, destroy, status."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from reconciler.executor import Reporter, Verifier, execute
from reconciler.kernel import Kernel
from reconciler.model import KernelObject, NftTable, Sysctl
from reconciler.observe import observe
from reconciler.plan import Action, Observed, Plan, diff
from reconciler.planners import desired_state, firewall
from reconciler.spec import Manifests


def _sysctl_keys(m: Manifests) -> list[tuple[str | None, str]]:
    return [(o.ns, o.name) for o in desired_state(m) if isinstance(o, Sysctl)]


def observe_for(m: Manifests, kernel: Kernel) -> Observed:
    return observe(kernel, _sysctl_keys(m))


def plan(m: Manifests, kernel: Kernel) -> Plan:
    """What apply would do now."""
    observed = observe_for(m, kernel)
    return diff(desired_state(m, observed), observed)


def apply(m: Manifests, kernel: Kernel, report: Reporter = lambda s: None) -> Plan:
    """Make the kernel match the manifests, then verify it does; returns the plan that was run."""
    steps = plan(m, kernel)
    execute(steps, kernel, report)
    if steps:
        Verifier(lambda: plan(m, kernel))()
    return steps


def destroy_plan(m: Manifests, kernel: Kernel) -> Plan:
    """Delete everything these manifests own, and nothing else that is ours."""
    observed = observe_for(m, kernel)
    keep: list[KernelObject] = []
    for obj in observed.objects.values():
        if isinstance(obj, NftTable):
            table = _without_owners(obj, m.owners)
            keep += [table] if table else []
        elif obj.owner not in m.owners:
            keep.append(obj)
    return diff(keep, observed)


def destroy(m: Manifests, kernel: Kernel, report: Reporter = lambda s: None) -> Plan:
    steps = destroy_plan(m, kernel)
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


def status(m: Manifests, kernel: Kernel) -> list[ObjectStatus]:
    """Every desired object with its state, then every owned object that should not be there."""
    observed = observe_for(m, kernel)
    desired = desired_state(m, observed)
    steps = {s.obj.key: s for s in diff(desired, observed).steps}
    out = []
    for obj in desired:
        step = steps.pop(obj.key, None)
        out.append(ObjectStatus(obj, STATE_OF[step.action], step.reason or _changed(step)) if step else ObjectStatus(obj, State.IN_SYNC))
    out += [ObjectStatus(s.obj, State.EXTRA) for s in steps.values()]
    return out


def _changed(step) -> str:
    return ", ".join(f"{name}: {old} -> {new}" for name, old, new in step.changes if name not in ("rules", "chains")) or (
        "rules differ" if step.changes else ""
    )
