"""Pure compilation of manifests into desired kernel objects, one module per driver. No I/O here."""

from __future__ import annotations

from ipaddress import ip_address

from reconciler.ipam import AllocKey, allocate
from reconciler.model import Address, KernelObject
from reconciler.plan import Observed
from reconciler.planners import bridge, endpoint, firewall, lower, overlay, services
from reconciler.planners.context import Context
from reconciler.spec import IPAddress, Manifests, shim_endpoint

DRIVERS = {"bridge": bridge, "macvlan": lower, "ipvlan": lower, "overlay": overlay}


def context(m: Manifests, observed: Observed | None = None) -> Context:
    """What the driver planners share: the manifests, the allocated addresses, what the host holds."""
    foreign = observed.foreign if observed else frozenset()
    host_links = observed.host_links if observed else None
    return Context(m, allocate(m, sticky_addresses(m, observed)), foreign, host_links)


def desired_state(m: Manifests, observed: Observed | None = None, ctx: Context | None = None) -> list[KernelObject]:
    """Every kernel object the manifests call for on this host."""
    ctx = ctx or context(m, observed)
    networks = m.local_networks
    objects: list[KernelObject] = lower.parent_objects(networks, ctx)
    for network in networks:
        objects += DRIVERS[network.driver].network_objects(network, ctx)
    endpoint.objects_of.next_generation()
    for ep in m.local_endpoints:
        objects += endpoint.endpoint_objects(ep, ctx)
    objects += endpoint.host_objects(m)
    objects += services.vip_addresses(m, ctx) + services.hosts_files(m, ctx)
    rules = [r for n in networks for r in DRIVERS[n.driver].firewall_rules(n, ctx)]
    table = firewall.table(rules + services.nat_rules(ctx.exposures))
    return objects + ([table] if table else [])


def sticky_addresses(m: Manifests, observed: Observed | None) -> dict[AllocKey, IPAddress]:
    """Addresses the kernel already gives our endpoints' interfaces: allocation keeps them when it can."""
    if observed is None:
        return {}
    held: dict[tuple[str | None, str], list[str]] = {}
    for obj in observed.objects.values():
        if isinstance(obj, Address):
            held.setdefault((obj.ns, obj.ifname), []).append(obj.address.partition("/")[0])
    sticky: dict[AllocKey, IPAddress] = {}
    shims = [s for s in map(shim_endpoint, m.networks) if s]
    for ep in (*m.endpoints, *shims):
        for iface in ep.interfaces:
            texts = held.get((ep.netns or None, iface.name))
            if not texts or m.network(iface.network).overlay is not None:
                continue  # every host must compute the same overlay addresses: from the manifests alone
            for address in sorted(map(ip_address, texts), key=str) if len(texts) > 1 else [ip_address(texts[0])]:
                sticky.setdefault((ep.name, iface.network, address.version), address)
    return sticky


def exposure_notes(ctx: Context) -> tuple[str, ...]:
    """What the manifests publish on this host, as `plan` states it (`publishes 0.0.0.0:8080/tcp -> web1:80`)."""
    return tuple(e.text for e in ctx.exposures)
