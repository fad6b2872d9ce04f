"""The context builder: what the driver planners share (planners.context.Context), computed once per
plan from the manifests, the addresses allocated to them, and what the host holds."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from ipaddress import ip_address

import reconciler.planners.overlay as overlay
import reconciler.planners.services as services
from reconciler.input.ipam import AllocKey, FamilyAllocator, allocate
from reconciler.input.spec import (
    IPAddress,
    Manifests,
    Network,
    OverlayOptions,
    shim_endpoint,
)
from reconciler.model import Address, Key
from reconciler.planners.context import Context
from reconciler.planning.plan import HostLink, Observed


def context_for(m: Manifests, observed: Observed | None = None, family: FamilyAllocator | None = None) -> Context:
    """The context of a plan of `m` against `observed`: allocation keeps the addresses it holds
    (`family`: see ipam.allocate)."""
    foreign = observed.foreign if observed else frozenset()
    host_links = observed.host_links if observed else None
    search = observed.search if observed else ()
    return build_context(m, allocate(m, sticky_addresses(m, observed), family), foreign, host_links, search)


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


def sticky_addresses(m: Manifests, observed: Observed | None) -> dict[AllocKey, IPAddress]:
    """Addresses the kernel already gives our endpoints' interfaces: allocation keeps them when it can."""
    if observed is None:
        return {}
    held = _held(observed)
    sticky: dict[AllocKey, IPAddress] = {}
    shims = [s for s in map(shim_endpoint, m.networks) if s]
    overlays = {n.name for n in m.networks if n.overlay is not None}
    for ep in (*m.endpoints, *shims):
        for iface in ep.interfaces:
            texts = held.get((ep.netns or None, iface.name))
            if not texts or iface.network in overlays:
                continue  # every host must compute the same overlay addresses: from the manifests alone
            for address in sorted(map(_parsed, texts), key=str) if len(texts) > 1 else [_parsed(texts[0])]:
                sticky.setdefault((ep.name, iface.network, address.version), address)
    return sticky


@lru_cache(maxsize=1 << 16)
def _parsed(cidr: str) -> IPAddress:
    """The address of an address/prefix text: the watch parses the same thousands of held addresses on
    every plan."""
    return ip_address(cidr.partition("/")[0])


def _held(observed: Observed) -> dict[tuple[str | None, str], list[str]]:
    """The addresses (address/prefix) of every interface, by (namespace, name)."""
    held: dict[tuple[str | None, str], list[str]] = {}
    for obj in observed.objects.values():
        if isinstance(obj, Address):
            held.setdefault((obj.ns, obj.ifname), []).append(obj.address)
    return held
