"""A long-running process's heap between two rounds: frozen out of the collector's passes; cyclic
garbage of the round collected; with `full`, garbage among what was frozen too."""

from __future__ import annotations

import gc
import weakref

from reconciler.process import heap


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the cyclic collector frees it


def test_full_collects_garbage_that_was_frozen_and_a_round_only_its_own():
    try:
        kept_frozen, made_since = Node(), None
        frozen = weakref.ref(kept_frozen)
        heap.settle(collect=False)  # frozen with what lives on
        assert gc.get_freeze_count() > 0
        del kept_frozen
        made_since = Node()
        fresh = weakref.ref(made_since)
        del made_since
        heap.settle()  # the round's garbage only
        assert fresh() is None and frozen() is not None
        heap.settle(full=True)
        assert frozen() is None
    finally:
        gc.unfreeze()
