"""The namespaces' objects merged into one view, kept between observes (kernel/merged.py): after any
change, exactly what a fresh merge in order of name gives."""

from __future__ import annotations

from reconciler.kernel.merged import Merged, NamespaceState
from reconciler.model import Address, Netns, Veth


def state(ns: str, address: str, veth: str = "", foreign: dict | None = None) -> NamespaceState:
    objects = [Netns(ns), Address(ns, "eth0", address)] + ([Veth(veth, ns, "eth0")] if veth else [])
    return {o.key: o for o in objects}, dict(foreign or {})


def fresh(states: dict[str, NamespaceState]) -> tuple[dict, dict]:
    objects: dict = {}
    foreign: dict = {}
    for name in sorted(states):
        objects.update(states[name][0])
        foreign.update(states[name][1])
    return objects, foreign


def same(merged: Merged, states: dict[str, NamespaceState]) -> None:
    merged.merge(dict(sorted(states.items())))
    assert (merged.objects, merged.foreign) == fresh(states)


def test_each_change_gives_what_a_fresh_merge_gives():
    merged = Merged()
    states = {"a": state("a", "10.0.0.1/24", "v-a"), "b": state("b", "10.0.0.2/24", "v-b", {("link", "b", "x"): "why"})}
    same(merged, states)
    states["a"] = state("a", "10.0.0.9/24", "v-a")  # another state: its objects replaced
    same(merged, states)
    del states["b"]  # gone: its objects and foreign keys removed
    same(merged, states)
    states["c"] = state("c", "10.0.0.3/24")
    same(merged, states)
    lo_down = state("c", "10.0.0.3/24")
    lo_down[0][("netns", "c")] = Netns("c", lo_up=False)  # the same keys, another object
    states["c"] = lo_down
    same(merged, states)


def test_an_unchanged_state_is_not_merged_again():
    merged, a = Merged(), state("a", "10.0.0.1/24")
    merged.merge({"a": a})
    merged.objects[("netns", "a")] = Netns("a", owner="marker")
    merged.merge({"a": a})
    assert merged.objects[("netns", "a")].owner == "marker"


def test_two_namespaces_giving_one_key_merge_in_order_of_name():
    merged = Merged()
    states = {"a": state("a", "10.0.0.1/24", "v1"), "b": state("b", "10.0.0.2/24", "v1")}
    same(merged, states)
    states["b"] = state("b", "10.0.0.2/24")  # b lets go of v1: a's stands
    same(merged, states)
    states["a"] = state("a", "10.0.0.7/24", "v1")
    states["b"] = state("b", "10.0.0.8/24", "v1")
    same(merged, states)
    del states["b"]
    same(merged, states)


def told(merged: Merged, states: dict[str, NamespaceState], changes: dict[str, NamespaceState | None],
         gone: set[str] = frozenset()) -> None:
    """Tell merged of these changes alone, states (all of them) changed alike: a fresh merge's result."""
    merged.merge_changes(changes, gone)
    states.update((n, s) for n, s in changes.items() if s is not None)
    for name in gone | {n for n, s in changes.items() if s is None}:
        states.pop(name, None)
    assert (merged.objects, merged.foreign) == fresh(states)
    assert merged.apart == {name: state[0] for name, state in states.items()}


def test_told_of_changes_alone_it_gives_what_a_fresh_merge_gives():
    merged = Merged()
    states = {"a": state("a", "10.0.0.1/24", "v-a"), "b": state("b", "10.0.0.2/24", "v-b", {("link", "b", "x"): "why"})}
    same(merged, states)
    told(merged, states, {"a": state("a", "10.0.0.9/24", "v-a")})
    told(merged, states, {"c": state("c", "10.0.0.3/24")}, gone={"b"})
    told(merged, states, {"c": None})  # no longer ours
    told(merged, states, {"b": state("b", "10.0.0.2/24", "v-a")})  # b gives a's veth: in order of name
    told(merged, states, {"a": state("a", "10.0.0.5/24", "v-a")})
    told(merged, states, {}, gone={"a"})
    told(merged, states, {"a": state("a", "10.0.0.1/24")})
