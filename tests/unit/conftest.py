"""Fixtures shared by test modules of this folder."""

from __future__ import annotations

import pytest

from reconciler.kernel.cache import KernelCache
from unit.test_kernel_cache import Scripted, observed


@pytest.fixture
def source() -> Scripted:
    """The kernel cache tests' scripted kernel (tests/unit/test_kernel_cache.py)."""
    return Scripted()


@pytest.fixture
def cache(source: Scripted) -> KernelCache:
    """A kernel cache over `source` that has observed it once, its reads since taken."""
    cache = KernelCache(source=source)
    observed(cache)
    source.taken()
    return cache
