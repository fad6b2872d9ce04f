"""Objects of one endpoint that every driver shares: its netns, sysctls and default routes."""

from __future__ import annotations

from types import ModuleType

from reconciler.model import KernelObject, Netns, Route, Sysctl
from reconciler.planners.context import Context
from reconciler.spec import Endpoint, Manifests

DEFAULT_DST = {4: "0.0.0.0/0", 6: "::/0"}


def endpoint_objects(ep: Endpoint, ctx: Context, drivers: dict[str, ModuleType]) -> list[KernelObject]:
    objects: list[KernelObject] = [Netns(ep.netns, owner=ep.owner)]
    objects += [Sysctl(ep.netns, name, value) for name, value in ep.sysctls]
    for iface in ep.interfaces:
        network = ctx.manifests.network(iface.network)
        objects += drivers[network.driver].interface_objects(ep, iface, network, ctx)
    return objects + default_routes(ep, ctx)


def default_routes(ep: Endpoint, ctx: Context) -> list[Route]:
    """Per family, the default route of the first non-internal network that gives one: via the gateway
    of the subnet holding the endpoint's address (a network may have several; macvlan and ipvlan l2
    have one only when declared), or for ipvlan l3/l3s straight out of the interface."""
    routes = []
    for version in (4, 6):
        for iface in ep.interfaces:
            network = ctx.manifests.network(iface.network)
            address = ctx.address(ep, iface, version)
            subnet = next((s for s in network.subnets if address is not None and address in s.subnet), None)
            if network.internal or subnet is None or (subnet.gateway is None and not network.l3):
                continue
            gateway = None if network.l3 else str(subnet.gateway)
            routes.append(Route(ep.netns, DEFAULT_DST[version], gateway, iface.name, owner=ep.owner))
            break
    return routes


def host_objects(m: Manifests) -> list[KernelObject]:
    """Host-wide settings that NAT and forwarding need (set when needed, never reset: Docker does the same)."""
    routed = [n for n in m.local_networks if not n.internal and n.driver in ("bridge", "overlay")]
    objects: list[KernelObject] = []
    if any(n.first_subnet(4) for n in routed):
        objects.append(Sysctl(None, "net.ipv4.ip_forward", "1"))
    if any(n.enable_ipv6 and n.first_subnet(6) for n in routed):
        objects.append(Sysctl(None, "net.ipv6.conf.all.forwarding", "1"))
    return objects
