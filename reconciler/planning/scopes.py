"""Where the groups of a desired state live: the namespaces of each group's objects, so that a
verification scoped to a few namespaces looks at the groups there, not at every object."""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.planning.plan import Group

Spaces = frozenset[str | None]  # the namespaces of a group's objects (None: the host's)


class Scopes:
    """The namespaces of each group's objects, kept for a group that is a tuple (the watch's Planner
    keeps an endpoint's tuple while the endpoint stays the same) from one call to the next, held so
    that no other group takes its id meanwhile; a group kept is the very same tuple, whose frozen
    objects live where they did. Any other group (a list, a tuple not seen in the last call) is looked
    at again; what the next call leaves out is forgotten."""

    def __init__(self) -> None:
        self._kept: dict[int, tuple[Group, Spaces]] = {}

    def __call__(self, groups: Sequence[Group]) -> list[tuple[Group, Spaces]]:
        kept, self._kept = self._kept, {}
        out = []
        for group in groups:
            known = kept.get(id(group))
            spaces = known[1] if known is not None and known[0] is group else frozenset(o.netns for o in group)
            if isinstance(group, tuple):
                self._kept[id(group)] = (group, spaces)
            out.append((group, spaces))
        return out
