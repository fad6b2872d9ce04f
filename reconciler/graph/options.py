"""The one place the picture reads a Network's driver options (which blocks it has, and their fields)."""

from __future__ import annotations

from reconciler.input.spec import BridgeOptions, LowerOptions, Network, OverlayOptions


def bridge_of(network: Network) -> BridgeOptions | None:
    """A bridge network's bridge, or the one an overlay network builds on each host."""
    return network.bridge


def overlay_of(network: Network) -> OverlayOptions | None:
    """An overlay network's VXLAN."""
    return network.overlay


def lower_of(network: Network) -> LowerOptions | None:
    """A macvlan or ipvlan network's parent and mode."""
    return network.lower


def parent_of(network: Network) -> str:
    """The link a macvlan or ipvlan network's endpoints hang off (an owned dummy one when none is given)."""
    return network.parent or ""
