"""Appliers: one small class per kernel object kind, looked up by kind. They decide how, never what.

Importing this package registers every applier (registry.py); the appliers import the registry,
never this package.
"""

from __future__ import annotations

from reconciler.appliers import (
    addresses,
    dhcp,
    files,
    links,
    lower,
    namespaces,
    nftables,
    overlay,
    resolver,
    routes,
    sysctls,
)
from reconciler.appliers.registry import REGISTRY, Appliers
from reconciler.kernel.session import Kernel

__all__ = ["addresses", "appliers", "dhcp", "files", "links", "lower", "namespaces", "nftables", "overlay", "resolver", "routes",
           "sysctls"]


def appliers(kernel: Kernel) -> Appliers:
    """One applier of each kind, working on `kernel`."""
    return {kind: cls(kernel) for kind, cls in REGISTRY.items()}
