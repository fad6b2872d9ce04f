"""The heap of a long-running process between two rounds of work (the watch's reconciles, the
resolver's loads): what lives on (caches, state, sockets) frozen out of the cyclic collector's passes,
so that the next round's collections scan only what that round allocates. Without it, with many
endpoints, full passes over what lives on cost a round more than its own work."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


def settle(collect: bool = True, full: bool = False) -> None:
    """Freeze what lives on. `collect`: first collect the cyclic garbage made since the last freeze;
    `full`: all of it, frozen or not (what was frozen may be garbage now: sockets closed, a cache
    dropped)."""
    if full:
        gc.unfreeze()
    if collect or full:
        gc.collect()
    gc.freeze()


@contextmanager
def paused() -> Iterator[None]:
    """The collector off for a round of work, on again after it (if it was on). End the round with
    `settle`: its freeze leaves no count of allocations behind, so turning the collector on starts no
    pass over what the round made."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
