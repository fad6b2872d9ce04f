"""The overlay driver: one network across hosts over VXLAN, with the manifests as the control plane.

Every host computes the same answer from the same manifests and builds its own share: a bridge per
overlay network (as the bridge driver's, with the same gateway address and MAC on every host, so each
endpoint leaves through its own host's NAT) holding the local endpoints' veths and a VXLAN link with
no learning and local ARP answers (proxy). Where every remote endpoint lives is written down as static
entries: its MAC towards its host's VTEP (FDB), its address with its MAC (neighbour), its MAC towards
the VXLAN port in the bridge, which learns nothing on that port (so no frame from the tunnel leaves it
a stale or forged location for a MAC), and the all-zero MAC towards every other host of the network
(the flooding list).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from ipaddress import ip_interface

import reconciler.planners.bridge as bridge
import reconciler.planners.mesh as mesh
from reconciler.input.spec import (
    VXLAN_OVERHEAD,
    Endpoint,
    Host,
    Interface,
    Network,
    OverlayOptions,
    mesh_endpoints,
)
from reconciler.model import BridgeFdb, Fdb, KernelObject, Neigh, NftRule, Vxlan
from reconciler.planners.context import Attachment, Context
from reconciler.planning.plan import HostLink

FLOOD_MAC = "00:00:00:00:00:00"
DEFAULT_UNDERLAY_MTU = 1500


def effective(network: Network, host: Host | None, links: Mapping[str, HostLink] | None) -> Network:
    """The network with its MTU: as declared, else the underlay interface's minus the VXLAN overhead
    (50 bytes over IPv4, 70 over IPv6)."""
    if network.mtu is not None:
        return network
    return replace(network, mtu=underlay_mtu(host, links) - (host.vxlan_overhead if host else VXLAN_OVERHEAD))


def underlay_mtu(host: Host | None, links: Mapping[str, HostLink] | None) -> int:
    if host is None or links is None:
        return DEFAULT_UNDERLAY_MTU
    link = underlay_link(host, links)
    return link.mtu if link is not None else DEFAULT_UNDERLAY_MTU


def underlay_link(host: Host, links: Mapping[str, HostLink]) -> HostLink | None:
    """The host's underlay interface: as declared, else the link that holds its underlay address."""
    if host.interface:
        return links.get(host.interface)
    return next((l for l in links.values() if any(ip_interface(a).ip == host.address for a in l.addresses)), None)


def options_of(network: Network) -> OverlayOptions:
    assert isinstance(network.options, OverlayOptions), f"network {network.name} is {network.driver}"
    return network.options


def network_objects(network: Network, ctx: Context) -> list[KernelObject]:
    """`network` as this host builds it (Context.networks): its bridge, its VXLAN link, the remote entries."""
    options, host = options_of(network), ctx.manifests.host_named(ctx.manifests.host)
    vxlan = Vxlan(
        name=options.vxlan, vni=options.vni, port=options.port,
        local=str(host.address) if host else None, dev=host.interface if host else None,
        master=options.bridge.name, mtu=network.mtu, owner=network.owner, ipv6=network.enable_ipv6,
    )
    mesh_objects = mesh.network_objects(network, ctx.manifests, ctx.addresses, options.bridge.name)
    return [*bridge.network_objects(network, ctx), vxlan, *mesh_objects, *_remote_entries(network, options.vxlan, ctx)]


def _remote_entries(network: Network, vxlan: str, ctx: Context) -> list[KernelObject]:
    """FDB and neighbour entries for every endpoint of this network on another host, and the flooding list."""
    m = ctx.manifests
    entries: list[KernelObject] = []
    vteps: set[str] = set()
    for ep, iface in _attached(network, ctx):
        remote = m.host_named(ep.host)
        if m.is_local(ep) or remote is None:
            continue
        vteps.add(str(remote.address))
        entries += _entries_of(network, vxlan, ep, iface, str(remote.address), ctx)
    return entries + [Fdb(vxlan, FLOOD_MAC, vtep, owner=network.owner) for vtep in sorted(vteps)]


def _entries_of(network: Network, vxlan: str, ep: Endpoint, iface: Interface, vtep: str, ctx: Context) -> list[KernelObject]:
    """A remote endpoint's interface: its MAC towards its host (FDB, bridge FDB), its addresses' neighbours."""
    mac, owner = ctx.mac(ep, iface), network.owner
    entries: list[KernelObject] = [Fdb(vxlan, mac, vtep, owner=owner), BridgeFdb(vxlan, mac, owner=owner)]
    for version in (4, 6):
        address = ctx.address(ep, iface, version)
        if address is not None:
            entries.append(Neigh(vxlan, str(address), mac, owner=owner))
    return entries


def _attached(network: Network, ctx: Context) -> list[tuple[Endpoint, Interface]]:
    """The network's endpoints, and the mesh address of every host taking part in it (planners.mesh)."""
    m = ctx.manifests
    attached = [(e, i) for e in m.endpoints for i in e.interfaces if i.network == network.name]
    hosts = {e.host for e, _ in attached} | ({h.name for h in m.hosts} if m.ingress_network(network.name) else set())
    return attached + [(e, e.interfaces[0]) for e in mesh_endpoints(m, network) if e.host in hosts]


def interface_objects(ep: Endpoint, att: Attachment) -> list[KernelObject]:
    return bridge.interface_objects(ep, att)  # att.network: with its effective MTU (Context.networks)


def firewall_rules(network: Network, ctx: Context) -> list[NftRule]:
    return bridge.firewall_rules(network, ctx)
