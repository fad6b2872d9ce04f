"""Memos kept on instances of frozen dataclasses, outside their fields: the one place that does so.

A frozen dataclass refuses attribute assignment, but each instance still has a `__dict__`; a `Slot`
writes a value straight into it, as `functools.cached_property` does. Such a value is not a field: it
takes no part in `__eq__`, `__hash__`, `repr`, `dataclasses.replace` or `asdict`, so the instance
stays, for every comparison, the value it was built as. Keep there only what is a pure function of
the instance (its hash) or a fact about it that holds while it lives (an observed object it equals).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar, cast

T = TypeVar("T")
C = TypeVar("C", bound=type)


class Slot(Generic[T]):
    """A named memo on each instance of a frozen dataclass (see the module's docstring)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def get(self, obj: object) -> T | None:
        value: T | None = obj.__dict__.get(self.name)
        return value

    def set(self, obj: object, value: T) -> T:
        obj.__dict__[self.name] = value
        return value


_HASH: Slot[int] = Slot("_hash")


def hashed_once(cls: C) -> C:
    """A frozen dataclass whose hash is deep (nested tuples of frozen objects): computed once per object,
    wherever it is hashed again (sets, dict keys)."""
    generated = cast(Callable[[object], int], cls.__hash__)

    def __hash__(self: object) -> int:
        value = _HASH.get(self)
        return value if value is not None else _HASH.set(self, generated(self))

    cls.__hash__ = __hash__  # type: ignore[assignment]
    return cls
