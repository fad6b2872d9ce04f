"""Memoised pure functions of the planners: what the watch plans again and again is made once."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

R = TypeVar("R")


class Memo(Generic[R]):
    """The results of a pure function of hashable arguments, kept for the arguments of the current
    generation and the previous one (`next_generation` starts one): a long-running watch keeps the
    objects of the endpoints it still plans, and nothing of those gone."""

    def __init__(self, function: Callable[..., R]) -> None:
        self.function = function
        self._current: dict[tuple[Hashable, ...], R] = {}
        self._previous: dict[tuple[Hashable, ...], R] = {}

    def __call__(self, *args: Hashable) -> R:
        try:
            return self._current[args]  # the common case: one lookup
        except KeyError:
            value = self._previous[args] if args in self._previous else self.function(*args)
            self._current[args] = value
            return value

    def next_generation(self) -> None:
        self._previous, self._current = self._current, {}
