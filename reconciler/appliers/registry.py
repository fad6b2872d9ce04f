"""The base class of every applier, and the registry that finds one by the kind of object it applies.

Each applier module registers its classes here; reconciler/appliers/__init__.py imports them all.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

from reconciler.kernel.session import Kernel
from reconciler.model import KernelObject

Obj = TypeVar("Obj", bound=KernelObject)
A = TypeVar("A", bound="type[Applier[Any]]")

Changed = frozenset[str]  # the names of the fields an update changes: those of its Step's `changes`
NOTHING: Changed = frozenset()

GONE = (errno.ENODEV, errno.ENOENT, errno.ESRCH, errno.EADDRNOTAVAIL)


class Applier(Generic[Obj]):
    """Idempotent create / update / delete of one kind of object: "already done" kernel answers are
    success. It decides how, never what: an update is told which fields change."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel

    def create(self, obj: Obj) -> None:
        raise NotImplementedError

    def update(self, want: Obj, changed: Changed) -> None:
        """Make the `changed` fields of the object as `want` has them; by default, create it again."""
        self.create(want)

    def delete(self, obj: Obj) -> None:
        raise NotImplementedError


REGISTRY: dict[str, type[Applier[Any]]] = {}
Appliers = dict[str, Applier[Any]]  # one applier per kind, working on one kernel


def register(*kinds: str) -> Callable[[A], A]:
    """A class decorator: the class applies the objects of these kinds (one applier per kind)."""

    def wrap(cls: A) -> A:
        for kind in kinds:
            if kind in REGISTRY:
                raise ValueError(f"two appliers for kind {kind!r}: {REGISTRY[kind].__name__} and {cls.__name__}")
            REGISTRY[kind] = cls
        return cls

    return wrap


@contextmanager
def tolerate(*codes: int) -> Iterator[None]:
    """Swallow the netlink/OS errors that mean the work is already done (EEXIST, ENODEV, ...)."""
    try:
        yield
    except OSError as err:
        if err.errno not in codes:
            raise
