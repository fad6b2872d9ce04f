"""Appliers: one small class per kernel object kind, looked up by kind. They decide how, never what."""

from __future__ import annotations

import errno
from contextlib import contextmanager
from typing import Any, Iterator

from reconciler.kernel import Kernel

REGISTRY: dict[str, type["Applier"]] = {}


def register(kind: str):
    def wrap(cls: type["Applier"]) -> type["Applier"]:
        REGISTRY[kind] = cls
        return cls
    return wrap


class Applier:
    """Idempotent create / update / delete of one kind; "already done" kernel answers are success."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel

    def create(self, obj: Any) -> None:
        raise NotImplementedError

    def update(self, want: Any, have: Any) -> None:
        self.create(want)

    def delete(self, obj: Any) -> None:
        raise NotImplementedError


@contextmanager
def tolerate(*codes: int) -> Iterator[None]:
    """Swallow the netlink/OS errors that mean the work is already done (EEXIST, ENODEV, ...)."""
    try:
        yield
    except OSError as err:
        if err.errno not in codes:
            raise


def appliers(kernel: Kernel) -> dict[str, Applier]:
    from reconciler.appliers import (  # noqa: F401 (register)
        addresses, files, links, lower, namespaces, nftables, overlay, routes, sysctls,
    )

    return {kind: cls(kernel) for kind, cls in REGISTRY.items()}


GONE = (errno.ENODEV, errno.ENOENT, errno.ESRCH, errno.EADDRNOTAVAIL)
