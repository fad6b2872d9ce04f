"""require(): one exact line per missing link kind, probing only what it is given, never bridge or veth.
The probe itself is replaced here; tests/integration/test_doctor.py runs the real one."""

from __future__ import annotations

import pytest

from reconciler.errors import KernelSupportError, NetreconcileError
from reconciler.kernel import capabilities
from reconciler.kernel.capabilities import (
    KINDS,
    LINK_KINDS,
    Finding,
    missing_message,
    require,
)


@pytest.fixture
def kernel(monkeypatch):
    """A fake kernel: set `lacks` (kind -> answer) and read `probed` (the tuples the probe was asked)."""

    class Fake:
        def __init__(self) -> None:
            self.lacks: dict[str, str] = {}
            self.failed: set[str] = set()
            self.probed: list[tuple[str, ...]] = []

        def findings(self, kinds: tuple[str, ...]) -> tuple[Finding, ...]:
            self.probed.append(kinds)
            return tuple(Finding(k, k not in self.lacks, KINDS[k].config, answer=self.lacks.get(k, ""),
                                 probe_failed=k in self.failed) for k in kinds)

    fake = Fake()
    monkeypatch.setattr(capabilities, "_link_findings", fake.findings)
    return fake


def test_a_missing_kind_raises_with_the_exact_message(kernel):
    kernel.lacks = {"ipvlan": "Operation not supported"}

    with pytest.raises(KernelSupportError) as raised:
        require(["macvlan", "ipvlan"])

    assert str(raised.value) == "kernel lacks ipvlan support (CONFIG_IPVLAN; try: modprobe ipvlan)"
    assert isinstance(raised.value, NetreconcileError)


def test_every_missing_kind_gets_its_own_line_in_link_kind_order(kernel):
    kernel.lacks = {"dummy": "Operation not supported", "vlan": "Operation not supported"}

    with pytest.raises(KernelSupportError) as raised:
        require(["dummy", "vlan", "ipvlan"])

    assert raised.value.messages == [
        "kernel lacks vlan support (CONFIG_VLAN_8021Q; try: modprobe 8021q)",
        "kernel lacks dummy support (CONFIG_DUMMY; try: modprobe dummy)",
    ]
    assert str(raised.value).splitlines() == raised.value.messages


def test_nothing_missing_raises_nothing(kernel):
    require(["vxlan", "macvlan", "macvlan"])
    assert kernel.probed == [("vxlan", "macvlan")]


def test_bridge_and_veth_are_never_probed(kernel):
    kernel.lacks = {"bridge": "Operation not supported", "veth": "Operation not supported"}

    require(["bridge", "veth"])
    require(["veth", "ipvlan", "bridge"])

    assert kernel.probed == [("ipvlan",)]


def test_a_probe_that_could_not_tell_says_so(kernel):
    kernel.lacks, kernel.failed = {"vlan": "File exists"}, {"vlan"}

    with pytest.raises(KernelSupportError, match=r"^cannot tell whether the kernel supports vlan: File exists$"):
        require(["vlan"])


def test_an_unknown_kind_is_a_bug_not_a_kernel_problem(kernel):
    with pytest.raises(ValueError, match="unknown link kind"):
        require(["ipvlan", "wireguard"])
    assert kernel.probed == []


@pytest.mark.parametrize("kind", LINK_KINDS)
def test_missing_message_names_option_and_module(kind):
    k = KINDS[kind]
    assert missing_message(kind) == f"kernel lacks {kind} support ({k.config}; try: modprobe {k.module})"


def test_the_plan_asks_for_each_optional_kind_at_the_first_object_that_needs_it(monkeypatch):
    """engine._require_kinds finds the kinds by their classes: each kind once, named at its first
    object's owner, in the order the desired state first needs them; none asked when none is needed."""
    from types import SimpleNamespace

    from reconciler import engine
    from reconciler.model import Dummy, Netns, Vlan

    asked = []
    monkeypatch.setattr(engine.capabilities, "require", lambda kinds, where: asked.append((kinds, where)))
    monkeypatch.setattr(engine, "where", lambda o: f"{o.name}.yaml:1")
    m = SimpleNamespace(networks=[SimpleNamespace(owner=n, name=n) for n in ("n1", "n2", "n3")], endpoints=())
    others = [Netns(f"ns{i}") for i in range(20)]
    engine._require_kinds(m, others)
    assert asked == []
    engine._require_kinds(m, [*others, Vlan("v1", "eth0", 5, owner="n2"), Dummy("d1", owner="n1"), Vlan("v2", "eth0", 6, owner="n3")])
    assert asked == [(["dummy", "vlan"], {"vlan": "n2.yaml:1: SimpleNamespace/n2", "dummy": "n1.yaml:1: SimpleNamespace/n1"})]
