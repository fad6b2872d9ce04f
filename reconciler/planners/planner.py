"""The planner: every kernel object the manifests call for on this host, from the drivers' planners."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple, cast

import reconciler.input.ipam as ipam
import reconciler.planners.dhcp as dhcp
import reconciler.planners.dns as dns
import reconciler.planners.endpoint as endpoint
import reconciler.planners.firewall as firewall
import reconciler.planners.hostsfiles as hostsfiles
import reconciler.planners.lower as lower
import reconciler.planners.services as services
from reconciler.input.spec import Endpoint, IPAddress, Manifests, Network
from reconciler.model import KernelObject, NftRule
from reconciler.planners.builder import context_for
from reconciler.planners.context import Attachment, AttachmentFields, Context
from reconciler.planners.drivers import driver_of
from reconciler.planners.memo import Memo
from reconciler.planners.sticky import StickyAddresses
from reconciler.planning.differ import Differ
from reconciler.planning.plan import Group, Observed


class Planner:
    """Plans desired state, purely, again and again: what it made for an endpoint (its objects, its
    hosts file and resolv.conf) it keeps for its next plan, while the endpoint, what it attaches to and
    the host's search domains stay the same (see Memo). The watch keeps one for its whole run; a single plan uses a fresh one."""

    def __init__(self) -> None:
        self._endpoints_made = Memo(_endpoint_plan)
        self._dns = dns.DnsPlanner()
        self._families = Memo(ipam.Allocations())
        self._sticky = StickyAddresses()
        self.differ = Differ()  # what the diffs of its plans remember (the groups found equal)
        self._given: tuple[Context | None, dns.Families] = (None, {})  # the last context, its families' addresses
        self._attaching: _Attaching | None = None  # what the endpoints of the last plan attached with

    def context_for(self, m: Manifests, observed: Observed | None = None) -> Context:
        """builder.context_for, each family of each network allocated again only when its network, its
        interfaces or the addresses the kernel holds in it differ from those of the allocation kept (its
        own: allocate_family reads no other, and one endpoint more in the kernel allocates no other family)."""
        self._families.next_generation()
        given: dict[tuple[str, int], object] = {}
        split: list[tuple[ipam.Addresses, dict[tuple[str, int], ipam.Addresses]]] = []

        def family(network: Network, version: int, attached: ipam.Attached, sticky: ipam.Addresses) -> ipam.Given:
            if not split or split[0][0] is not sticky:
                split[:] = [(sticky, _by_family(sticky))]
            own = split[0][1].get((network.name, version), {})
            found = self._families((network.name, version), network, version, attached, own)
            given[(network.name, version)] = found[0]
            return found

        ctx = context_for(m, observed, family, self._sticky)
        self._given = (ctx, given)
        return ctx

    def desired_state(self, m: Manifests, observed: Observed | None = None,
                      ctx: Context | None = None) -> list[KernelObject]:
        """Every kernel object the manifests call for on this host (`ctx`: their context, if built already)."""
        return [o for group in self.desired_groups(m, observed, ctx) for o in group]

    def desired_groups(self, m: Manifests, observed: Observed | None = None,
                       ctx: Context | None = None) -> list[Group]:
        """desired_state in groups, in order: each endpoint's objects, and its files, are a tuple of
        their own, the same one while the Planner keeps them (what diff_groups and `differ` skip)."""
        ctx = ctx or self.context_for(m, observed)
        networks = [ctx.networks[n.name] for n in m.local_networks]
        objects = lower.parent_objects(networks, ctx.foreign)
        for network in networks:
            objects += driver_of(network).network_objects(network, ctx)
        made = self._endpoints(ctx)
        host = endpoint.host_objects(m) + services.vip_addresses(m, ctx.addresses)
        table = firewall.table(_rules(networks, ctx) + services.nat_rules(ctx.exposures))
        last = self._processes(ctx) + ([table] if table else [])
        return [objects, *(e.objects for e in made), host, *(e.files for e in made), last]

    def _endpoints(self, ctx: Context) -> list[_Made]:
        """What is made of each local endpoint: one memo per endpoint; an endpoint whose networks all
        attach as in the last plan (_attaching_as_before) reuses what was made of it, unasked."""
        self._endpoints_made.next_generation()
        made, fields, search = self._endpoints_made, ctx.attachment_fields, ctx.search
        (same, moved), reused = self._attaching_as_before(ctx), made.reused
        out = []
        for ep in ctx.manifests.local_endpoints:
            interfaces = ep.interfaces
            found = reused(ep.name, ep) if same and ep.name not in moved and (
                interfaces[0].network in same if len(interfaces) == 1 else all(i.network in same for i in interfaces)) else None
            if found is None:
                found = (made(ep.name, ep, search, fields(ep, interfaces[0])) if len(interfaces) == 1  # most: no generator
                         else made(ep.name, ep, search, *(fields(ep, iface) for iface in interfaces)))
            out.append(found)
        return out

    def _attaching_as_before(self, ctx: Context) -> tuple[frozenset[str], set[str]]:
        """The networks whose interfaces attach as in the last plan (the same network object, the same
        search domains, the same addresses DNATed to in it), and the endpoints whose addresses in them
        may differ (in a family allocated again: each key its dict holds with another address, or no
        longer). Nothing when `ctx` is not the one context_for made last, or the last plan's was not."""
        built, families = self._given
        last, self._attaching = self._attaching, (ctx.networks, families, ctx.search, ctx.exposed) if built is ctx else None
        if built is not ctx or last is None or last[2] != ctx.search:
            return frozenset(), set()
        networks, given = last[0], last[1]
        exposing = {network for network, _ in last[3] ^ ctx.exposed}  # what is DNATed to differs there
        same = frozenset(name for name, n in ctx.networks.items() if networks.get(name) is n and name not in exposing)
        moved: set[str] = set()
        for key in families.keys() | given.keys():
            before, after = given.get(key, _NONE), families.get(key, _NONE)
            if after is not before and key[0] in same:
                moved.update(_moved(cast(ipam.Addresses, before), cast(ipam.Addresses, after)))
        return same, moved

    def _processes(self, ctx: Context) -> list[KernelObject]:
        """The processes that stay: the DNS resolver, the DHCP lease keeper (each when something needs
        it). The resolver's document is made of each endpoint's and network's pieces, kept while they stay the same."""
        families = self._given[1] if self._given[0] is ctx else None  # of this very context only
        found = [self._dns.resolver(ctx.manifests, ctx.addresses, families), dhcp.lease_keeper(ctx.manifests)]
        return [p for p in found if p is not None]


_NONE: ipam.Addresses = {}  # a family not allocated
_Attaching = tuple[Mapping[str, Network], dns.Families, tuple[str, ...], frozenset[tuple[str, str]]]


class _Made(NamedTuple):
    """What the planner makes of one endpoint: its kernel objects, and its files."""

    objects: tuple[KernelObject, ...]
    files: tuple[KernelObject, ...]


def _endpoint_plan(ep: Endpoint, search: tuple[str, ...], *fields: AttachmentFields) -> _Made:
    """An endpoint's objects, hosts file and resolv.conf: a function of the endpoint, the host's search
    domains, and what its interfaces attach to (their Attachments' fields), only (so the Planner
    memoises it on them)."""
    attachments = tuple(Attachment(*f) for f in fields)
    return _Made(endpoint.objects_of(ep, attachments), (hostsfiles.hosts_file(ep, attachments), dns.resolv_conf(ep, search)))


def _moved(before: ipam.Addresses, after: ipam.Addresses) -> set[str]:
    """The endpoints whose addresses in a family differ between two of its allocations."""
    get = before.get
    return {key[0] for key, a in after.items() if (b := get(key)) is not a and b != a} | {key[0] for key in before.keys() - after.keys()}


def _by_family(sticky: ipam.Addresses) -> dict[tuple[str, int], ipam.Addresses]:
    """The held addresses by (network, IP version): those allocate_family reads of each family."""
    out: dict[tuple[str, int], dict[ipam.AllocKey, IPAddress]] = {}
    for key, address in sticky.items():
        out.setdefault(key[1:], {})[key] = address
    return dict(out)


def _rules(networks: list[Network], ctx: Context) -> list[NftRule]:
    return [r for n in networks for r in driver_of(n).firewall_rules(n, ctx)]


def desired_state(m: Manifests, observed: Observed | None = None, ctx: Context | None = None) -> list[KernelObject]:
    """Every kernel object the manifests call for on this host, planned afresh (by a Planner of its own)."""
    return Planner().desired_state(m, observed, ctx)


def exposure_notes(ctx: Context) -> tuple[str, ...]:
    """What the manifests publish on this host, as `plan` states it (`publishes 0.0.0.0:8080/tcp -> web1:80`)."""
    return tuple(e.text for e in ctx.exposures)
