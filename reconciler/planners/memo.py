"""Memoised pure functions of the planners: what the watch plans again and again is made once."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

R = TypeVar("R")


class Memo(Generic[R]):
    """The results of a pure function, one kept per name (an endpoint's) with the arguments it was made
    of, for the names of the current generation and the previous one (`next_generation` starts one): a
    long-running watch keeps the objects of the endpoints it still plans, and nothing of those gone.

    A result is reused when the arguments are equal to those it was made of: compared, not hashed (the
    arguments are mostly the very objects of the last plan, so each comparison is mostly identities,
    where a hash of them would walk every field of every argument on every plan)."""

    def __init__(self, function: Callable[..., R]) -> None:
        self.function = function
        self._current: dict[Hashable, tuple[tuple[object, ...], R]] = {}
        self._previous: dict[Hashable, tuple[tuple[object, ...], R]] = {}

    def __call__(self, name: Hashable, *args: object) -> R:
        kept = self._current.get(name) or self._previous.get(name)
        if kept is not None and kept[0] == args:
            value = kept[1]
        else:
            value = self.function(*args)
        self._current[name] = (args, value)
        return value

    def keep(self, name: Hashable) -> None:
        """The result kept for `name` stays for the next generation too, without a call: its caller
        reused what was made of it (DnsPlanner's network kept whole) and will ask for it again."""
        kept = self._current.get(name) or self._previous.get(name)
        if kept is not None:
            self._current[name] = kept

    def reused(self, name: Hashable, first: object) -> R | None:
        """The result kept for `name` if it was made of `first` (the very object) as first argument, kept
        for the next generation too; its caller knows the other arguments to be the same."""
        kept = self._current.get(name) or self._previous.get(name)
        if kept is None or kept[0][0] is not first:
            return None
        self._current[name] = kept
        return kept[1]

    def next_generation(self) -> None:
        self._previous, self._current = self._current, {}
