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
from reconciler.input.validate import load_manifests
from reconciler.planners import Planner, desired_state
from reconciler.planning.plan import Plan, diff
from unit.helpers import FIXTURES, endpoint, network, parse
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


def test_memoised_endpoint_objects_equal_fresh_ones():
    """A Planner memoises an endpoint's objects on the endpoint and its attachments (planners.endpoint.
    objects_of). Planned by one Planner one after another, forwards then backwards (the cases reuse
    endpoint names with other networks, addresses, MTUs, published ports, drivers), every case's
    desired state equals the one a fresh Planner plans; planned again, its endpoint objects are the
    same ones."""
    cases = []
    for case in CASES:
        if (case / "error.txt").exists():
            continue
        m = load_manifests([str(case / "manifests.yaml")])
        if (case / "host").exists():
            m = replace(m, host=(case / "host").read_text().strip())
        cases.append((m, load_observed(case / "current.yaml")))
    fresh = [Planner().desired_state(m, observed) for m, observed in cases]
    planner = Planner()
    for (m, observed), want in [*zip(cases, fresh), *reversed(list(zip(cases, fresh)))]:
        assert planner.desired_state(m, observed) == want
    m, observed = cases[0]
    first, again = planner.desired_state(m, observed), planner.desired_state(m, observed)
    assert any(a is b for a, b in zip(first, again) if a.netns is not None)


def test_the_memo_tells_an_endpoint_apart_by_what_it_attaches_to():
    """The same endpoint on its network with another MTU, then with another address (another endpoint
    takes its address statically, and joins its hosts file): its objects follow, as a fresh Planner
    plans them."""
    e1, net = endpoint("e1", "[{network: a}]"), network("a", "{subnet: 10.0.0.0/24}")
    taken = next(o for o in desired_state(parse(net + e1)) if o.kind == "address" and o.ns == "e1").address.split("/")[0]
    variants = [net + e1, network("a", "{subnet: 10.0.0.0/24}", "  mtu: 1400\n") + e1,
                net + endpoint("e0", f"[{{network: a, ipv4Address: {taken}}}]") + e1]
    planner = Planner()
    planned = [planner.desired_state(parse(text)) for text in variants]
    assert [Planner().desired_state(parse(text)) for text in variants] == planned
    veths = [next(o for o in objects if o.kind == "veth" and o.ns == "e1") for objects in planned]
    assert (veths[0].mtu, veths[1].mtu) == (1500, 1400) and veths[0].mac != veths[2].mac
