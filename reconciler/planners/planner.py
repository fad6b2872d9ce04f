"""The planner: every kernel object the manifests call for on this host, from the drivers' planners."""

from __future__ import annotations

import reconciler.planners.dhcp as dhcp
import reconciler.planners.dns as dns
import reconciler.planners.endpoint as endpoint
import reconciler.planners.firewall as firewall
import reconciler.planners.hostsfiles as hostsfiles
import reconciler.planners.lower as lower
import reconciler.planners.services as services
from reconciler.input.spec import Manifests, Network
from reconciler.model import KernelObject, NftRule
from reconciler.planners.builder import context_for
from reconciler.planners.context import Context
from reconciler.planners.drivers import driver_of
from reconciler.planners.memo import Memo
from reconciler.planning.plan import Observed


class Planner:
    """Plans desired state, purely, again and again: what it made for an endpoint (its objects, its
    hosts file) it keeps for its next plan, while the endpoint and what it attaches to stay the same
    (see Memo). The watch keeps one for its whole run; a single plan uses a fresh one."""

    def __init__(self) -> None:
        self._endpoint_objects = Memo(endpoint.objects_of)
        self._hosts_files = Memo(hostsfiles.hosts_file)
        self._resolv_confs = Memo(dns.resolv_conf)
        self._dns = dns.DnsPlanner()

    def desired_state(self, m: Manifests, observed: Observed | None = None,
                      ctx: Context | None = None) -> list[KernelObject]:
        """Every kernel object the manifests call for on this host (`ctx`: their context, if built already)."""
        ctx = ctx or context_for(m, observed)
        networks = [ctx.networks[n.name] for n in m.local_networks]
        objects = lower.parent_objects(networks, ctx.foreign)
        for network in networks:
            objects += driver_of(network).network_objects(network, ctx)
        objects += self._endpoints(ctx)
        objects += endpoint.host_objects(m)
        objects += services.vip_addresses(m, ctx.addresses) + self._files(ctx) + self._processes(ctx)
        table = firewall.table(_rules(networks, ctx) + services.nat_rules(ctx.exposures))
        return objects + ([table] if table else [])

    def _endpoints(self, ctx: Context) -> list[KernelObject]:
        self._endpoint_objects.next_generation()
        out: list[KernelObject] = []
        for ep in ctx.manifests.local_endpoints:
            out += self._endpoint_objects(ep.name, ep, tuple(ctx.attachment(ep, iface) for iface in ep.interfaces))
        return out

    def _processes(self, ctx: Context) -> list[KernelObject]:
        """The processes that stay: the DNS resolver, the DHCP lease keeper (each when something needs
        it). The resolver's document is made of each endpoint's and network's pieces, kept while they stay the same."""
        found = [self._dns.resolver(ctx.manifests, ctx.addresses), dhcp.lease_keeper(ctx.manifests)]
        return [p for p in found if p is not None]

    def _files(self, ctx: Context) -> list[KernelObject]:
        """Each endpoint's hosts file and resolv.conf."""
        self._hosts_files.next_generation()
        self._resolv_confs.next_generation()
        out: list[KernelObject] = []
        for ep in ctx.manifests.local_endpoints:
            out += [self._hosts_files(ep.name, ep, hostsfiles.own_lines(ep, ctx.addresses)),
                    self._resolv_confs(ep.name, ep, ctx.search)]
        return out


def _rules(networks: list[Network], ctx: Context) -> list[NftRule]:
    return [r for n in networks for r in driver_of(n).firewall_rules(n, ctx)]


def desired_state(m: Manifests, observed: Observed | None = None, ctx: Context | None = None) -> list[KernelObject]:
    """Every kernel object the manifests call for on this host, planned afresh (by a Planner of its own)."""
    return Planner().desired_state(m, observed, ctx)


def exposure_notes(ctx: Context) -> tuple[str, ...]:
    """What the manifests publish on this host, as `plan` states it (`publishes 0.0.0.0:8080/tcp -> web1:80`)."""
    return tuple(e.text for e in ctx.exposures)
