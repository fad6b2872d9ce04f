"""The diff of the watch's Planner: what one diff remembers of the groups it found equal, so that the
next compares only what may have changed (see Differ)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import is_
from typing import NamedTuple

from reconciler.model import KernelObject, Key
from reconciler.planning import plan
from reconciler.planning.plan import Group, Observed, Plan, Step


def diff_groups(groups: Sequence[Group], observed: Observed, differ: Differ) -> Plan:
    """diff of the desired objects in `groups` (in order), with what `differ` remembers of its last diff."""
    steps, wanted = differ.compared(groups, observed)
    all_wanted = len(observed.objects) == len(wanted) - differ.missing  # observed ⊆ wanted, by counting
    return Plan(tuple(plan.fail_closed(plan.ordered(steps, wanted, observed, all_wanted))))


class _Matched(NamedTuple):
    """A group the last diff found equal to the observed objects under its keys: those found in their
    namespace's objects (Observed.namespaces) by that namespace (`names`, the very dicts `spaces`), the
    others one by one (`keys`, `haves`, in order)."""

    group: tuple[KernelObject, ...]  # held, so that no other group takes its id while it is remembered
    wanted: dict[Key, KernelObject]  # its objects by key (each key once: only such groups are remembered)
    names: tuple[str, ...]
    spaces: tuple[Mapping[Key, KernelObject], ...]
    keys: tuple[Key, ...]
    haves: tuple[KernelObject, ...]
    one: str  # the namespace that tells it all, if one does (names and spaces of one, no keys), and its dict:
    space: Mapping[Key, KernelObject] | None


def _matched(group: tuple[KernelObject, ...], haves: list[KernelObject],
             namespaces: Mapping[str, Mapping[Key, KernelObject]]) -> _Matched:
    """The group found equal to `haves`: an object's have that its namespace's objects hold is told by
    that namespace, the very dict while it is unchanged (its objects are those of Observed.objects); any
    other (a sysctl, a host object, one no namespace dict holds) by its key."""
    spaces: dict[str, Mapping[Key, KernelObject]] = {}
    keys, held = [], []
    for obj, have in zip(group, haves):
        ns = obj.netns
        objects = namespaces.get(ns) if ns else None
        if objects is not None and objects.get(obj.key) is have:
            spaces[ns] = objects  # type: ignore[index]
        else:
            keys.append(obj.key)
            held.append(have)
    names, dicts, one = tuple(spaces), tuple(spaces.values()), len(spaces) == 1 and not keys
    return _Matched(group, {o.key: o for o in group}, names, dicts, tuple(keys), tuple(held), *((names[0], dicts[0]) if one else ("", None)))


_NONE: Mapping[str, Mapping[Key, KernelObject]] = {}


class _Found(NamedTuple):  # a group found equal to `haves`: made _Matched (as then) by a next diff only (a single plan has none)
    group: tuple[KernelObject, ...]
    haves: list[KernelObject]
    namespaces: Mapping[str, Mapping[Key, KernelObject]]


class Differ:
    """What diff remembers from one diff to the next (the watch's Planner keeps one): each group of
    desired objects (a tuple: one endpoint's objects, kept by the Planner while nothing they are made
    of changed) found equal, object by object, to the observed objects under its keys. Such a group is
    not compared again while it is the very same tuple and every observed object under its keys the
    very same object as then (the watch's kernel cache keeps a namespace's objects while nothing in it
    changed): both sides are frozen, so equal they stay. Those held by their namespace's objects in
    Observed.namespaces are told by one test of that dict (see _matched). What invalidates it: another
    tuple for the group, any other (or no) observed object under one of its keys (another dict of its
    namespace, for those told so); and a group is remembered from one diff to the next only (one the
    next leaves out is forgotten). Nor does it provide a key held by what is not ours, while no key is
    foreign that was not in the last diff (then all are checked). The steps are those changes() finds
    for the same objects. `wanted`: every desired object of its last diff by key (the watch's record of
    what a reconcile left, without a pass of its own)."""

    def __init__(self) -> None:
        self.matched: dict[int, _Matched] = {}
        self.found: list[_Found] = []  # of its last diff, not yet made _Matched (see _Found)
        self.foreign: frozenset[Key] = frozenset()  # of the last diff: no group remembered provides one
        self.wanted: dict[Key, KernelObject] = {}
        self.missing = 0  # of its last diff: how many keys wanted have no observed object

    def remember(self) -> None:
        """Make the groups its last diff found equal _Matched (the next diff does it otherwise): the watch
        does it as a reconcile ends, so that the next change, often the first after its start, does not."""
        self.matched.update((id(f.group), _matched(*f)) for f in self.found)
        self.found = []

    def compared(self, groups: Sequence[Group], observed: Observed) -> tuple[list[Step], dict[Key, KernelObject]]:
        """The steps of the objects that differ, and every object wanted by key (as changes() has them)."""
        self.remember()
        get, within = observed.objects.get, (observed.namespaces or _NONE).get
        wanted: dict[Key, KernelObject] = {}
        fresh: list[Group] = []
        kept: dict[int, _Matched] = {}
        last, update = self.matched.get, wanted.update
        for group in groups:
            known = last(id(group))
            if known is not None and known.group is group and (
                    within(known.one) is known.space if known.space is not None  # most: one namespace, told at once
                    else all(map(is_, map(within, known.names), known.spaces)) and all(map(is_, map(get, known.keys), known.haves))):
                update(known.wanted)
                kept[id(group)] = known
            else:
                update((obj.key, obj) for obj in group)
                fresh.append(group)
        foreign = observed.foreign
        if foreign and (not foreign <= self.foreign
                        or any(key in foreign for group in fresh for obj in group for key in obj.provides)):
            plan.check_conflicts(wanted.values(), observed)
        self.foreign, self.wanted = foreign, wanted
        return self._fresh(fresh, wanted, observed, kept), wanted

    def _fresh(self, fresh: list[Group], wanted: dict[Key, KernelObject], observed: Observed,
               kept: dict[int, _Matched]) -> list[Step]:
        """The steps of the objects of `fresh` groups (each key once, its object the one wanted); then
        it remembers the groups found equal (`kept` and those), and no other."""
        found: list[_Found] = []
        steps: list[Step] = []
        done: set[Key] = set()
        missing = 0  # each key once: a kept group's keys all have an observed object
        compare = plan.compare  # looked up as called: tests count the comparisons
        for group in fresh:
            whole, haves = isinstance(group, tuple), []
            for obj in group:
                k = obj.key
                if k in done or wanted[k] is not obj:
                    whole = False
                    continue
                done.add(k)
                have = observed.objects.get(k)
                missing += have is None
                step = compare(obj, have)
                if step is not None:
                    steps.append(step)
                whole = whole and step is None and have is not None
                haves.append(have)
            if whole and isinstance(group, tuple):
                found.append(_Found(group, haves, observed.namespaces or _NONE))  # type: ignore[arg-type]
        self.matched, self.found, self.missing = kept, found, missing
        return steps
