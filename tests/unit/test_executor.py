"""The executor without root: the steps that undo each step, the order they run in, a failing step, and
a registry that holds an applier for every kind of kernel object."""

from __future__ import annotations

from dataclasses import replace

import pytest

from reconciler.appliers import appliers
from reconciler.appliers.registry import REGISTRY
from reconciler.applying.executor import StepFailed, execute, inverse, undoing
from reconciler.kernel.session import Kernel
from reconciler.model import Address, Bridge, KernelObject, Netns, Route, Sysctl, Veth
from reconciler.planning.plan import Action, Observed, Step, diff
from unit.recording_kernel import Recorder

NS = Netns("e1", owner="endpoint/e1")
BRIDGE = Bridge("nr-a", mtu=1500, owner="network/a")
VETH = Veth("nv-e1", ns="e1", peer="eth0", mtu=1500, master="nr-a", owner="endpoint/e1")
ADDRESS = Address("e1", "eth0", "10.1.0.2/24")
ROUTE = Route("e1", "0.0.0.0/0", "10.1.0.1", "eth0")


def kinds(cls: type[KernelObject] = KernelObject) -> set[str]:
    """The kinds of every kernel object class there is (abstract bases have none)."""
    return {k for sub in cls.__subclasses__() for k in ({sub.kind} | kinds(sub)) if k}


def test_every_kind_of_kernel_object_has_an_applier_and_every_applier_a_kind() -> None:
    assert kinds() == set(REGISTRY), kinds() ^ set(REGISTRY)


def test_the_appliers_are_found_by_kind_one_per_kind() -> None:
    found = appliers(Kernel())
    assert set(found) == kinds()
    assert {kind: type(applier) for kind, applier in found.items()} == REGISTRY


def test_a_create_is_undone_by_a_delete_of_what_it_created() -> None:
    assert inverse(Step(Action.CREATE, BRIDGE, None)) == [Step(Action.DELETE, None, BRIDGE)]


def test_a_sysctl_set_is_not_undone_it_cannot_be_unset() -> None:
    assert inverse(Step(Action.CREATE, Sysctl("e1", "net.ipv4.ip_forward", "1"), None)) == []


def test_an_update_is_undone_by_the_update_back_which_changes_the_same_fields_back() -> None:
    moved = replace(VETH, master="nr-b", mtu=1400)
    [step] = diff([moved], Observed({VETH.key: VETH})).steps
    [back] = inverse(step)
    assert (back.action, back.desired, back.observed) == (Action.UPDATE, VETH, moved)
    assert back.changes == (("mtu", 1400, 1500), ("master", "nr-b", "nr-a"))


def test_a_replace_is_undone_by_the_replace_back() -> None:
    old = Veth("nv-e1", ns="e1", peer="eth1")
    assert inverse(Step(Action.REPLACE, VETH, old, "peer cannot change in place")) == [Step(Action.REPLACE, old, VETH)]


def test_a_replace_of_nothing_is_undone_by_a_delete() -> None:
    """A cascaded replace of an object that was not there (a route recreated with its link)."""
    assert inverse(Step(Action.REPLACE, ROUTE, None, "link eth0 is replaced")) == [Step(Action.DELETE, None, ROUTE)]


def test_a_delete_is_undone_by_creating_the_object_then_what_went_with_it_parents_first() -> None:
    step = Step(Action.DELETE, None, NS, implied=(ROUTE, ADDRESS, VETH))
    assert inverse(step) == [Step(Action.CREATE, obj, None) for obj in (NS, VETH, ADDRESS, ROUTE)]


def test_completed_steps_are_undone_last_first() -> None:
    plan = diff([NS, BRIDGE, VETH, ADDRESS, ROUTE, Sysctl("e1", "net.ipv4.ip_forward", "1")], Observed({}))
    undone = undoing(list(plan.steps)).steps
    assert [s.action for s in undone] == [Action.DELETE] * 5
    assert [s.obj for s in undone] == [ROUTE, ADDRESS, VETH, NS, BRIDGE]


def test_a_failing_step_is_named_and_holds_the_steps_done_before_it_which_undoing_deletes() -> None:
    other = Bridge("nr-b", owner="network/b")
    plan = diff([BRIDGE, other], Observed({}))
    with pytest.raises(StepFailed) as failed:
        execute(plan, Recorder(refused="nr-b"), hooks=False)  # type: ignore[arg-type]
    assert str(failed.value) == "+ bridge nr-b: [Errno 1] Operation not permitted"
    assert failed.value.done == [Step(Action.CREATE, BRIDGE, None)]
    assert undoing(failed.value.done).steps == (Step(Action.DELETE, None, BRIDGE),)


def test_nothing_done_is_nothing_to_undo() -> None:
    assert not undoing([])
