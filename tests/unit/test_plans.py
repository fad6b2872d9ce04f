"""The planner, pure: manifests + observed kernel state -> ordered steps. Fixture-driven, as nmstate's gen_diff.

Each folder under tests/fixtures/plans/ holds `manifests.yaml` (desired), `current.yaml` (observed, see
observed_yaml.py), optionally `host` (the Host they are planned on), and either `plan.txt` or `error.txt`. plan.txt lists `str(step)` for every step in order;
a step's changed fields (`    field: old -> new`) and the objects its delete takes along
(`    with it: kind title`) follow on indented lines. error.txt is the ConflictError's message.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from reconciler.errors import ConflictError
from reconciler.plan import Plan, diff
from reconciler.planners import desired_state
from reconciler.validate import load_manifests

from unit.helpers import FIXTURES
from unit.observed_yaml import load_observed

CASES = sorted(p for p in (FIXTURES / "plans").iterdir() if p.is_dir())


def plan_for(case) -> Plan:
    manifests = load_manifests([str(case / "manifests.yaml")])
    if (case / "host").exists():  # the Host these manifests are planned on
        manifests = replace(manifests, host=(case / "host").read_text().strip())
    observed = load_observed(case / "current.yaml")
    return diff(desired_state(manifests, observed), observed)


def rendered(plan: Plan) -> list[str]:
    lines = []
    for step in plan.steps:
        lines.append(str(step))
        lines += [f"    {name}: {old} -> {new}" for name, old, new in step.changes if name not in ("chains", "rules")]
        lines += [f"    with it: {obj.kind} {obj.title}" for obj in step.implied]
    return lines


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_plan(case):
    if (case / "error.txt").exists():
        with pytest.raises(ConflictError) as caught:
            plan_for(case)
        assert str(caught.value) == (case / "error.txt").read_text().rstrip("\n")
    else:
        assert rendered(plan_for(case)) == (case / "plan.txt").read_text().splitlines()
