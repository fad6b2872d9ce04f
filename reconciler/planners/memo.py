"""Memoised pure functions of the planners: what the watch plans again and again is made once."""

from __future__ import annotations

from typing import Callable


class Memo:
    """The results of a pure function of hashable arguments, kept for the arguments of the current
    generation and the previous one (`next_generation` starts one): a long-running watch keeps the
    objects of the endpoints it still plans, and nothing of those gone."""

    def __init__(self, function: Callable) -> None:
        self.function = function
        self.current: dict = {}
        self.previous: dict = {}

    def __call__(self, *args):
        value = self.current.get(args, _MISSING)
        if value is _MISSING:
            value = self.previous.get(args, _MISSING)
            if value is _MISSING:
                value = self.function(*args)
            self.current[args] = value
        return value

    def next_generation(self) -> None:
        self.previous, self.current = self.current, {}


_MISSING = object()
