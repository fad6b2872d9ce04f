"""What an update sends the kernel, without root: the fields its step says change, and nothing else
(appliers decide how, never what). The plan is made by the planner's diff, run by the executor, on a
kernel that records each request instead of sending it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from reconciler.applying.executor import execute
from reconciler.model import Bridge, KernelObject, Macvlan, Veth, Vxlan
from reconciler.planning.plan import Action, Observed, diff
from unit.recording_kernel import Recorder


def applied(want: KernelObject, have: KernelObject) -> Recorder:
    """The requests made by the plan that turns `have` into `want` (one update), applied without
    comparing objects again: the step says what changes."""
    plan = diff([want], Observed({have.key: have}))
    assert [s.action for s in plan.steps] == [Action.UPDATE]
    kernel = Recorder()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(KernelObject, "differences", decided_again)
        execute(plan, kernel, hooks=False)  # type: ignore[arg-type]
    return kernel


def decided_again(*_: object) -> None:
    raise AssertionError("an applier compared the objects again instead of applying the step's changes")


def sent(kernel: Recorder, request: str) -> list[tuple[str | None, dict[str, Any]]]:
    return [(ns, attrs) for ns, name, attrs in kernel.calls if name == request]


VETH = Veth("nv-e1", ns="e1", peer="eth0", mac="02:00:00:00:00:01", mtu=1500, host_mac="02:00:00:00:00:02",
            master="nr-a", isolated=True, hairpin=True, owner="endpoint/e1")


def test_a_veth_whose_mtu_changes_gets_the_mtu_on_both_ends_and_nothing_else() -> None:
    kernel = applied(replace(VETH, mtu=1400), VETH)
    peer, host = sent(kernel, "set_link")
    assert peer[0] == "e1" and (peer[1]["mtu"], peer[1]["mac"]) == (1400, None)
    assert host[0] is None and (host[1]["mtu"], host[1]["mac"], host[1]["master"]) == (1400, None, None)
    assert not sent(kernel, "set_bridge_port")


def test_a_veth_moved_to_another_bridge_gets_its_master_and_its_port_flags_again() -> None:
    kernel = applied(replace(VETH, master="nr-b"), VETH)
    _, host = sent(kernel, "set_link")
    assert host[1]["master"] == kernel.indexes[(None, "nr-b")] and host[1]["mtu"] is None
    assert [attrs for _, attrs in sent(kernel, "set_bridge_port")] == [
        {"args": (kernel.indexes[(None, "nv-e1")],), "isolated": True, "hairpin": True}]


def test_a_veth_whose_isolation_changes_gets_only_that_flag() -> None:
    kernel = applied(replace(VETH, isolated=False), VETH)
    assert [(a["isolated"], a["hairpin"]) for _, a in sent(kernel, "set_bridge_port")] == [(False, None)]
    assert all(a["master"] is None for _, a in sent(kernel, "set_link")[1:])


def test_a_macvlan_whose_mac_changes_gets_the_mac_and_not_the_mtu() -> None:
    have = Macvlan("e1", "eth0", "eth1", "bridge", mtu=1500, mac="02:00:00:00:00:01", owner="network/m")
    kernel = applied(replace(have, mac="02:00:00:00:00:09"), have)
    [(ns, attrs)] = sent(kernel, "set_link")
    assert ns == "e1" and (attrs["mac"], attrs["mtu"]) == ("02:00:00:00:00:09", None)


def test_a_vxlan_port_that_stops_learning_forgets_what_it_learned_and_keeps_its_master() -> None:
    have = Vxlan("nx-o", vni=42, port=4789, master="no-o", learning=True, owner="network/o")
    kernel = applied(replace(have, learning=False), have)
    [(_, link)] = sent(kernel, "set_link")
    assert link["master"] is None and link["mtu"] is None
    assert [(a["learning"], a["flush"]) for _, a in sent(kernel, "set_bridge_port")] == [(False, True)]


def test_a_bridge_whose_mac_changes_gets_it_and_one_whose_mtu_changes_does_not() -> None:
    have = Bridge("nr-a", mtu=1500, mac="02:00:00:00:00:01", owner="network/a")
    [(_, moved)] = sent(applied(replace(have, mac="02:00:00:00:00:07"), have), "set_link")
    [(_, resized)] = sent(applied(replace(have, mtu=1400), have), "set_link")
    assert (moved["mac"], resized["mac"], resized["mtu"]) == ("02:00:00:00:00:07", None, 1400)
