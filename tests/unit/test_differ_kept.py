"""A kept Differ against a fresh one: what it remembers of a diff changes nothing in the next, whatever
happens in between (randomised), and a single diff remembers without building what only a next one reads."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from typing import Any, Self

import pytest

import reconciler.planning.plan as plan
from reconciler.errors import ConflictError
from reconciler.model import Address, KernelObject, Key, Netns, Route, Sysctl, Veth
from reconciler.planning import differ as differ_module
from reconciler.planning.differ import Differ, diff_groups
from reconciler.planning.plan import Group, Observed, diff


def endpoint(i: int, v: int = 0) -> tuple[KernelObject, ...]:
    """Endpoint i's objects (`v`: a variant that differs in a field or two)."""
    ns = f"n{i}"
    return (Netns(ns), Sysctl(ns, "net.ipv4.ip_forward", str(v % 2)),
            Veth(name=f"v{i}", ns=ns, peer="eth1" if v == 3 else "eth0", mtu=1500 + v),
            Address(ns, "eth0", f"10.{v}.{i}.2/24"), Route(ns, "0.0.0.0/0", f"10.{v}.{i}.1", "eth0"))


@dataclass
class World:
    """Desired groups and an observed kernel, changed at random the way the watch sees them change: a
    namespace's dict is another object whenever anything in it changed."""

    rng: random.Random
    groups: list[Group] = field(default_factory=list)
    objects: dict[Key, KernelObject] = field(default_factory=dict)
    spaces: dict[str, dict[Key, KernelObject]] = field(default_factory=dict)
    foreign: frozenset[Key] = frozenset()

    def observed(self) -> Observed:
        return Observed(dict(self.objects), self.foreign, namespaces=dict(self.spaces))

    def put(self, obj: KernelObject | None, key: Key) -> None:
        old = self.objects.pop(key, None)
        if obj is not None:
            self.objects[key] = obj
        for ns in {o.netns for o in (old, obj) if o is not None and o.netns}:
            self.spaces[ns] = {k: o for k, o in self.objects.items() if o.netns == ns}

    def converge(self) -> None:
        for obj in [o for g in self.groups for o in g]:
            self.put(obj, obj.key)

    def change(self) -> None:
        rng, n = self.rng, len(self.groups) - 1
        i = rng.randrange(1, n)
        what = rng.randrange(9)
        if what == 0:
            self.converge()
        elif what == 1:  # drift of one object (a field, another address, another peer: a replace)
            obj = rng.choice(endpoint(i, rng.randrange(1, 4)))
            self.put(obj, obj.key)
        elif what == 2:  # an object deleted by hand
            obj = rng.choice(self.groups[i])
            self.put(None, obj.key)
        elif what == 3:  # a namespace's dict made again, the same objects in it
            ns = f"n{rng.randrange(1, n)}"
            if ns in self.spaces:
                self.spaces[ns] = dict(self.spaces[ns])
        elif what == 4:  # the same objects planned again in another tuple, or other objects
            self.groups[i] = tuple(self.groups[i]) if rng.random() < 0.5 else endpoint(i, rng.randrange(4))
        elif what == 5:  # an endpoint more, or one fewer
            names = {g[0].key for g in self.groups if g}
            more = endpoint(100 + rng.randrange(50))  # each key in one group only, as the Planner makes them
            if rng.random() < 0.5 and more[0].key not in names:
                self.groups.insert(rng.randrange(1, n + 1), more)
            elif n > 2:
                del self.groups[i]
        elif what == 6:  # a stray address of ours
            stray = Address(f"n{i}", "eth0", f"10.9.{i}.7/24")
            self.put(stray, stray.key)
        elif what == 7:  # what is not ours takes a key, or lets go of them
            self.foreign = frozenset({("link", None, f"v{i}")}) if rng.random() < 0.3 else frozenset()
        else:  # a group of no namespace's (the host's), one object in it twice
            host = Sysctl(None, "net.ipv4.ip_forward", str(rng.randrange(2)))
            self.groups[0] = (host, host) if rng.random() < 0.5 else (host,)


def planned(groups: list[Group], observed: Observed, differ: Differ) -> object:
    """What a diff gives, every part of it that is read, in order (the conflict's messages when refused)."""
    try:
        result = diff_groups(groups, observed, differ)
    except ConflictError as e:
        return ("refused", e.args)
    return ([(str(s), s) for s in result.steps], list(differ.wanted.items()), differ.missing)


@pytest.mark.parametrize("seed", range(30))
def test_a_kept_differ_diffs_as_a_fresh_one_whatever_changes_in_between(seed: int) -> None:
    world = World(random.Random(seed))
    world.groups = [(Sysctl(None, "net.ipv4.ip_forward", "1"),), *(endpoint(i) for i in range(1, 9)), ()]
    if seed % 2:
        world.converge()
    kept = Differ()
    for _ in range(40):
        groups, observed = list(world.groups), world.observed()
        found = planned(groups, observed, kept)
        assert found == planned(groups, observed, Differ())
        if not isinstance(found, tuple) or found[0] != "refused":
            assert [s for _, s in found[0]] == list(diff([o for g in groups for o in g], observed).steps)  # type: ignore[index]
        world.change()


def test_a_single_diff_does_not_build_what_only_a_next_one_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """A one-shot plan's Differ diffs once: the groups it finds equal are made _Matched by a next diff, never by it."""
    world = World(random.Random(0))
    world.groups = [endpoint(i) for i in range(1, 6)]
    world.converge()
    made: list[object] = []
    real = differ_module._matched

    def matched(*args: Any) -> object:
        made.append(args)
        return real(*args)

    monkeypatch.setattr(differ_module, "_matched", matched)
    differ = Differ()

    diff_groups(world.groups, world.observed(), differ)
    assert made == []

    compared: list[KernelObject] = []
    real_compare = plan.compare

    def compare(want: KernelObject, have: KernelObject | None) -> object:
        compared.append(want)
        return real_compare(want, have)

    monkeypatch.setattr(plan, "compare", compare)
    assert not diff_groups(world.groups, replace(world.observed()), differ).steps
    assert len(made) == 5 and compared == []


def test_remember_makes_what_the_next_diff_reads_so_that_it_makes_none(monkeypatch: pytest.MonkeyPatch) -> None:
    """The watch remembers as a reconcile ends: the next diff (the first change after its start) then
    makes no _Matched and compares nothing it found equal."""
    world = World(random.Random(0))
    world.groups = [endpoint(i) for i in range(1, 6)]
    world.converge()
    differ = Differ()
    diff_groups(world.groups, world.observed(), differ)
    made: list[object] = []
    real = differ_module._matched
    monkeypatch.setattr(differ_module, "_matched", lambda *args: made.append(args) or real(*args))
    differ.remember()
    assert len(made) == 5 and differ.found == []
    differ.remember()
    assert len(made) == 5
    monkeypatch.setattr(plan, "compare", lambda want, have: pytest.fail("compared a group found equal"))
    assert not diff_groups(world.groups, replace(world.observed()), differ).steps
    assert len(made) == 5


def test_the_watch_remembers_as_its_reconcile_ends(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """Reconciler: after an apply, its Planner's Differ holds nothing left for the next diff to make."""
    from reconciler import engine
    from reconciler.planning.guards import Limits
    from reconciler.watch import reconcile

    world = World(random.Random(0))
    world.groups = [endpoint(i) for i in range(1, 4)]
    world.converge()
    (tmp_path / "m.yaml").write_text("apiVersion: netreconcile/v1\nkind: Network\nmetadata: {name: n}\n"
                                     "spec: {driver: bridge, ipam: {subnet: 10.9.0.0/16}}\n")

    def apply(m: object, kernel: object, report: object, options: engine.ApplyOptions) -> engine.ApplyResult:
        assert options.planner is not None
        found = diff_groups(world.groups, world.observed(), options.planner.differ)
        assert options.planner.differ.found
        return engine.ApplyResult(found, (), world.observed())

    class NoKernel:
        def __enter__(self) -> Self:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

    monkeypatch.setattr(engine, "apply", apply)
    monkeypatch.setattr(reconcile, "Kernel", NoKernel)
    reconciler = reconcile.Reconciler([str(tmp_path)], Limits())
    outcome = reconciler()
    assert outcome.result is reconcile.Result.NO_CHANGES, outcome
    assert reconciler.planner.differ.found == [] and len(reconciler.planner.differ.matched) == 3
