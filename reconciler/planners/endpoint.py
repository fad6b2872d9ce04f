"""Objects of one endpoint that every driver shares: its netns, sysctls and default routes."""

from __future__ import annotations

from reconciler.input.spec import Endpoint, Manifests
from reconciler.model import KernelObject, Netns, Route, Sysctl, sysctl
from reconciler.planners.context import Attachment
from reconciler.planners.drivers import driver_of

DEFAULT_DST = {4: "0.0.0.0/0", 6: "::/0"}


def objects_of(ep: Endpoint, attachments: tuple[Attachment, ...]) -> tuple[KernelObject, ...]:
    """An endpoint's objects: a function of the endpoint and what its interfaces attach to, only (so
    the Planner memoises it on them)."""
    objects: list[KernelObject] = [Netns(ep.netns, owner=ep.owner)]
    objects += [sysctl(ep.netns, name, value) for name, value in ep.sysctls]
    for att in attachments:
        objects += driver_of(att.network).interface_objects(ep, att)
    defaults = default_routes(ep, attachments)
    return (*objects, *defaults, *l3_subnet_routes(ep, attachments, defaults))


def default_routes(ep: Endpoint, attachments: tuple[Attachment, ...]) -> list[Route]:
    """Per family, the default route of the first non-internal network that gives one: via the gateway
    of the subnet holding the endpoint's address (a network may have several; macvlan and ipvlan l2
    have one only when declared), or for ipvlan l3/l3s straight out of the interface."""
    routes = []
    for version in (4, 6):
        for att in attachments:
            network, subnet = att.network, att.subnet(version)
            if network.internal or subnet is None or (subnet.gateway is None and not network.l3):
                continue
            gateway = None if network.l3 else str(subnet.gateway)
            routes.append(Route(ep.netns, DEFAULT_DST[version], gateway, att.iface.name, owner=ep.owner))
            break
    return routes


def l3_subnet_routes(ep: Endpoint, attachments: tuple[Attachment, ...], defaults: list[Route]) -> list[Route]:
    """ipvlan l3/l3s delivers by address between the ipvlans of a parent, whatever their subnet: an
    interface that does not carry the endpoint's default route of a family (an internal network, one
    without a parent, or another network giving the default) reaches the network's other subnets of
    that family by a route each out of the interface (without them: "Network is unreachable")."""
    by_default = {(r.dst, r.ifname) for r in defaults}
    routes = []
    for att in attachments:
        for version in (4, 6):
            own = att.subnet(version)
            if not att.network.l3 or own is None or (DEFAULT_DST[version], att.iface.name) in by_default:
                continue
            routes += [Route(ep.netns, str(s.subnet), None, att.iface.name, owner=ep.owner)
                       for s in att.network.subnets if s.version == version and s is not own]
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
