"""The objects of every namespace observe found, merged into one view: see Merged."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from reconciler.kernel.observe_objects import Objects
from reconciler.model import Key

NamespaceState = tuple[Objects, dict[Key, str]]  # a namespace's objects, and the keys there not ours with why


class Merged:
    """The objects of the namespaces observed, merged in order of name (a later one's object wins a key
    two give), and the keys there not ours with why. Kept between observes by the watch's kernel cache:
    a namespace whose state is the very object merged last time is not merged again (the cache gives the
    same object while the namespace is unchanged); what was merged of one whose state is another object,
    or that is gone, is replaced or removed. While two namespaces give one key, everything is merged
    again each time, in order of name."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.states: dict[str, NamespaceState] = {}
        self.apart: dict[str, Objects] = {}  # each namespace's objects: the first of its state
        self.objects: Objects = {}
        self.foreign: dict[Key, str] = {}
        self.whose: dict[Key, str] = {}  # the namespace each object was merged from
        self.tangled = False  # two namespaces gave one key

    def merge(self, states: Mapping[str, NamespaceState]) -> None:
        """Merge these states (by namespace, in order of name) in place of those merged before."""
        if self.tangled:
            self._reset()  # anew, in order of name
        for gone in self.states.keys() - states.keys():
            self._remove(gone)
        for name, state in states.items():
            old = self.states.get(name)
            if old is state:
                continue
            if old is not None:
                self._remove(name)
            self._add(name, state)

    def merge_changes(self, changes: Mapping[str, NamespaceState | None], gone: Collection[str]) -> None:
        """As `merge`, told only of the namespaces whose state may differ (None: not ours) and of those
        gone: the others keep what was merged of them, not looked at (at 1000 endpoints, a pass over
        them all costs a millisecond)."""
        if self.tangled:
            states = {n: s for n, s in {**self.states, **changes}.items() if s is not None and n not in gone}
            self.merge(dict(sorted(states.items())))
            return
        changed = {n: s for n, s in changes.items() if self.states.get(n) is not s}
        for name in [*gone, *changed]:  # all removed first: each key is then one namespace's alone
            if name in self.states:
                self._remove(name)
        for name, state in changed.items():
            if state is not None:
                self._add(name, state)
        if self.tangled:
            self.merge(dict(sorted(self.states.items())))  # anew, in order of name

    def _add(self, name: str, state: NamespaceState) -> None:
        self.states[name], self.apart[name] = state, state[0]
        for key, obj in state[0].items():
            self.tangled = self.tangled or self.whose.get(key, name) != name
            self.objects[key], self.whose[key] = obj, name
        self.foreign.update(state[1])

    def _remove(self, name: str) -> None:
        objects, foreign = self.states.pop(name)
        del self.apart[name]
        for key in objects:  # each given by this namespace alone (else all is merged anew: `tangled`)
            del self.objects[key], self.whose[key]
        for key in foreign:
            self.foreign.pop(key, None)
