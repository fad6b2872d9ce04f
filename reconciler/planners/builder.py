"""The context builder: what the driver planners share (planners.context.Context), computed once per
plan from the manifests, the addresses allocated to them, and what the host holds."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import reconciler.planners.overlay as overlay
import reconciler.planners.services as services
from reconciler.input.ipam import AllocKey, FamilyAllocator, allocate
from reconciler.input.spec import (
    IPAddress,
    Manifests,
    Network,
    OverlayOptions,
)
from reconciler.model import Key
from reconciler.planners.context import Context
from reconciler.planners.sticky import Sticky, sticky_addresses
from reconciler.planning.plan import HostLink, Observed

StickyOf = Callable[[Manifests, Observed | None], Sticky]


def context_for(m: Manifests, observed: Observed | None = None, family: FamilyAllocator | None = None,
                sticky: StickyOf = sticky_addresses) -> Context:
    """The context of a plan of `m` against `observed`: allocation keeps the addresses it holds
    (`family`: see ipam.allocate; `sticky`: stands for sticky_addresses, the watch's Planner keeps one)."""
    foreign = observed.foreign if observed else frozenset()
    host_links = observed.host_links if observed else None
    search = observed.search if observed else ()
    return build_context(m, allocate(m, sticky(m, observed), family), foreign, host_links, search)


def build_context(m: Manifests, addresses: dict[AllocKey, IPAddress], foreign: frozenset[Key] = frozenset(),
                  host_links: Mapping[str, HostLink] | None = None, search: tuple[str, ...] = ()) -> Context:
    """The context of a plan of `m` with these addresses allocated."""
    exposures = services.exposures(m, addresses)
    exposed = frozenset((e.network, b) for e in exposures for b in e.backends)
    return Context(m, addresses, _networks_here(m, host_links), exposures, exposed, foreign, host_links, search)


def _networks_here(m: Manifests, host_links: Mapping[str, HostLink] | None) -> dict[str, Network]:
    """Every network as this host builds it (an overlay with its effective MTU), by name."""
    host = m.host_named(m.host)
    return {n.name: overlay.effective(n, host, host_links) if isinstance(n.options, OverlayOptions) else n
            for n in m.networks}
