"""Addresses the kernel already gives our endpoints' interfaces, which allocation keeps when it can:
found afresh for one plan (sticky_addresses), or kept per endpoint between the watch's plans (Sticky)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from ipaddress import ip_address

from reconciler.input.ipam import AllocKey, address_of
from reconciler.input.spec import Endpoint, IPAddress, Manifests, shim_endpoint
from reconciler.model import Address, KernelObject, Key
from reconciler.planning.plan import Observed

Held = dict[tuple[str | None, str], list[str]]  # the addresses (address/prefix) of each interface, by (namespace, name)
Sticky = dict[AllocKey, IPAddress]
_NOTHING: Mapping[Key, KernelObject] = {}  # the objects of a namespace not observed (yet)


def sticky_addresses(m: Manifests, observed: Observed | None) -> Sticky:
    """Addresses the kernel already gives our endpoints' interfaces: allocation keeps them when it can."""
    if observed is None:
        return {}
    held, overlays = _held(observed.objects.values()), _overlays(m)
    return _joined([_endpoint_sticky(ep, held, overlays) for ep in _endpoints(m)])


class StickyAddresses:
    """sticky_addresses planned again and again (the watch's Planner keeps one): an endpoint's part is
    made again only when the endpoint is another object, or the objects observed of its namespace are
    (Observed.namespaces: the watch's kernel cache gives the same dict while a namespace is unchanged),
    or the networks that span hosts differ. Without Observed.namespaces, or for an endpoint of the host
    namespace (a hostAccess shim), every held address is gathered afresh, as sticky_addresses does."""

    def __init__(self) -> None:
        self._parts: dict[str, tuple[Endpoint, Mapping[Key, KernelObject], Sticky]] = {}
        self._overlays: frozenset[str] = frozenset()

    def __call__(self, m: Manifests, observed: Observed | None) -> Sticky:
        namespaces = observed.namespaces if observed is not None else None
        if observed is None or namespaces is None:
            self._parts = {}
            return sticky_addresses(m, observed)
        overlays = _overlays(m)
        kept = self._parts if overlays == self._overlays else {}
        self._parts, self._overlays = {}, overlays
        whole: Held | None = None  # every held address, for endpoints of the host namespace
        parts: list[Sticky] = []
        found, within, keep = kept.get, namespaces.get, self._parts
        for ep in _endpoints(m):
            if not ep.netns:
                whole = whole if whole is not None else _held(observed.objects.values())
                parts.append(_endpoint_sticky(ep, whole, overlays))
                continue
            objects, known = within(ep.netns, _NOTHING), found(ep.name)
            if known is None or known[0] is not ep or known[1] is not objects:
                known = (ep, objects, _endpoint_sticky(ep, _held(objects.values()), overlays))
            keep[ep.name] = known
            parts.append(known[2])
        return _joined(parts)


def _endpoints(m: Manifests) -> tuple[Endpoint, ...]:
    """Every endpoint, then each hostAccess network's shim."""
    return (*m.endpoints, *(s for s in map(shim_endpoint, m.networks) if s))


def _overlays(m: Manifests) -> frozenset[str]:
    return frozenset(n.name for n in m.networks if n.overlay is not None)


def _endpoint_sticky(ep: Endpoint, held: Held, overlays: frozenset[str]) -> Sticky:
    """The endpoint's part of sticky_addresses: the address each of its interfaces holds, per family
    (the lowest, as text, when it holds several)."""
    sticky: Sticky = {}
    for iface in ep.interfaces:
        texts = held.get((ep.netns or None, iface.name))
        if not texts or iface.network in overlays:
            continue  # every host must compute the same overlay addresses: from the manifests alone
        for address in sorted(map(_parsed, texts), key=str) if len(texts) > 1 else [_parsed(texts[0])]:
            sticky.setdefault((ep.name, iface.network, address.version), address)
    return sticky


def _joined(parts: list[Sticky]) -> Sticky:
    """The parts in one, the first part's address of a key kept (as setdefault would, in order)."""
    sticky: Sticky = {}
    for part in reversed(parts):
        if part:
            sticky.update(part)
    return sticky


@lru_cache(maxsize=1 << 16)
def _parsed(cidr: str) -> IPAddress:
    """The address of an address/prefix text (the watch parses the same thousands of held addresses on
    every plan), the very object allocation gives for it (ipam.address_of)."""
    address = ip_address(cidr.partition("/")[0])
    return address_of(int(address), address.version)


def _held(objects: Iterable[KernelObject]) -> Held:
    """The addresses (address/prefix) of every interface among `objects`, by (namespace, name)."""
    held: Held = {}
    for obj in objects:
        if isinstance(obj, Address):
            held.setdefault((obj.ns, obj.ifname), []).append(obj.address)
    return held
