"""What removing one of our namespaces takes along beyond the plan's objects: links we did not make
and running processes (named on the step, so a plan shows them and a guard asks for --force), the
declared sysctls a rollback must put back, and what a rollback can never restore."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from reconciler.input.spec import Manifests
from reconciler.kernel import netns
from reconciler.kernel.names import shown
from reconciler.kernel.runstate import Applied
from reconciler.kernel.session import Kernel
from reconciler.model import sysctl
from reconciler.planning.plan import Action, Observed, Plan, Step


def removes_namespace(step: Step) -> str | None:
    """The namespace this step removes (a delete or a replace of an existing one), if any."""
    if step.obj.kind == "netns" and step.observed is not None and step.action in (Action.DELETE, Action.REPLACE):
        return step.observed.netns
    return None


def removed_namespaces(plan: Plan) -> list[str]:
    return [ns for ns in map(removes_namespace, plan.steps) if ns]


def annotate(plan: Plan, observed: Observed) -> Plan:
    """The plan with each namespace removal naming the foreign links and processes it takes along."""
    removed = removed_namespaces(plan)
    if not removed:
        return plan
    processes = netns.processes_in(removed)
    links = sorted(key for key in observed.foreign if key[0] == "link" and key[1] in removed)
    steps = []
    for step in plan.steps:
        ns = removes_namespace(step)
        if ns:
            found = [f"foreign link {shown(key[2])}" for key in links if key[1] == ns]
            found += [f"process {pid} ({shown(name)})" for pid, name in processes.get(ns, [])]
            step = replace(step, foreign=tuple(found))
        steps.append(step)
    return replace(plan, steps=tuple(steps))


def declared_sysctls(m: Manifests, previous: Applied | None, plan: Plan) -> dict[str, list[str]]:
    """The sysctls to record in each namespace the plan removes: those declared for it when it was last
    applied, and (the record may be missing) every one these manifests declare anywhere."""
    anywhere = {name for ep in m.endpoints for name, _ in ep.sysctls}
    recorded = previous.sysctls if previous else {}
    # A name in a record damaged by hand that is no sysctl key was never declared: nothing to restore.
    return {ns: sorted(anywhere.union(filter(netns.valid_sysctl_key, recorded.get(ns, ()))))
            for ns in removed_namespaces(plan)}


def with_sysctls(observed: Observed, names: Mapping[str, Iterable[str]], kernel: Kernel) -> Observed:
    """`observed` with the values of these sysctls in each namespace about to be removed: kernel state
    a rollback restores (sysctls are not owned objects, so no step carries them)."""
    objects = dict(observed.objects)
    for ns, declared in names.items():
        for name in declared:
            if ("sysctl", ns, name) not in objects:
                value = kernel.read_sysctl(ns, name)
                if value is not None:
                    objects[("sysctl", ns, name)] = sysctl(ns, name, value)
    return replace(observed, objects=objects) if len(objects) != len(observed.objects) else observed


def unrestorable(done: Iterable[Step]) -> list[str]:
    """What undoing these steps cannot bring back: a namespace recreated is a new one, and what was
    in the old one and not ours stays with the old one (processes) or went with it (links)."""
    lost = []
    for step in done:
        ns = removes_namespace(step)
        if ns:
            lost.append(f"netns {ns} is a new namespace: netreconcile's objects and declared sysctls in it are "
                        f"restored, but whatever held the old one still holds the old one")
            if step.foreign:
                lost.append(f"not in the new netns {ns}, left with the old one: {', '.join(step.foreign)}")
    return lost
