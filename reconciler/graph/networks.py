"""The networks' nodes: one per Host that builds a network; one spanning the hosts for an overlay network
used by several; one outside every cluster for a network no host builds."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.graph.model import Line, Node
from reconciler.graph.options import bridge_of, lower_of, overlay_of, parent_of
from reconciler.graph.view import HostView, detail
from reconciler.input.spec import (
    HOST_SHIM,
    BridgeOptions,
    LowerOptions,
    Manifests,
    Network,
    OverlayOptions,
    shim_ifname,
)

NetIds = dict[tuple[str | None, str], str]  # (cluster, network name): the id of the node edges end at


@dataclass(frozen=True)
class Placement:
    """One node of a network: the view whose kernel it shows, its id, its cluster, the hosts it serves."""

    view: HostView
    node_id: str
    cluster: str | None
    users: tuple[HostView, ...]


def network_nodes(m: Manifests, views: list[HostView], only: str | None) -> tuple[list[Node], NetIds]:
    """Each network drawn where it is built; the node id of (cluster, network) for the edges."""
    nodes: list[Node] = []
    ids: NetIds = {}
    for network in m.networks:
        for p in placements(network, views, only):
            extra = _vteps(m, network) if p.users else ("built by no host",)
            nodes.append(_network_node(network, p, extra))
            ids.update({(u.cluster, network.name): p.node_id for u in p.users})
    return nodes, ids


def placements(network: Network, views: list[HostView], only: str | None) -> list[Placement]:
    """Where a network is drawn: with each host that builds it; once, spanning them, for an overlay
    network used by several; outside the clusters when no host builds it (no endpoint on it)."""
    users = tuple(v for v in views if network in v.m.local_networks)
    whole = f"net/{network.name}"
    if overlay_of(network) is not None and len(users) > 1:
        shown = next((v for v in users if v.ledger is not None), users[0].unobserved())
        return [Placement(shown, whole, None, users)]
    if not users:
        return [Placement(views[0].unobserved(), whole, None, ())] if only is None else []
    return [Placement(v, f"net/{v.cluster}/{network.name}" if v.cluster else whole, v.cluster, (v,)) for v in users]


def _vteps(m: Manifests, network: Network) -> tuple[str, ...]:
    """An overlay network's hosts (every one with an endpoint on it) and their underlay addresses."""
    if overlay_of(network) is None:
        return ()
    used = {e.host for e in m.endpoints if e.interface_on(network.name) is not None}
    return tuple(f"VTEP {h.name} {h.address}" for h in m.hosts if h.name in used)


def _network_node(network: Network, p: Placement, extra: tuple[str, ...]) -> Node:
    v = p.view
    lines = [*_driver_lines(network, v), *_subnet_lines(network, v), *_option_lines(network, v),
             *(Line(t) for t in extra)]
    everything = v.pick(network.owner)
    return Node(p.node_id, "network", network.name, tuple(lines), v.state(everything, ("bridge", "dummy")), p.cluster,
                detail(everything))


def _driver_lines(network: Network, v: HostView) -> list[Line]:
    bridge, lower = bridge_of(network), lower_of(network)
    if bridge is not None:
        return _bridge_lines(network, bridge, overlay_of(network), v)
    return _lower_lines(network, lower, v) if lower is not None else []


def _bridge_lines(network: Network, bridge: BridgeOptions, overlay: OverlayOptions | None, v: HostView) -> list[Line]:
    """The bridge; for an overlay network, its VNI and VXLAN link too."""
    checks = v.pick(network.owner, place=(None, bridge.name))
    link = v.line(f"bridge {bridge.name}", [c for c in checks if c.kind == "bridge"])
    if overlay is None:
        return [link]
    vx = overlay.vxlan
    vxlan = v.line(f"vxlan {vx}  udp {overlay.port}", v.pick(network.owner, place=(None, vx)))
    return [Line(f"overlay  VNI {overlay.vni}"), link, vxlan]


def _lower_lines(network: Network, lower: LowerOptions, v: HostView) -> list[Line]:
    """The macvlan or ipvlan mode and parent; the host's shim into the network when it has host access."""
    parent = parent_of(network)
    shown = parent if lower.parent else f"{parent} (dummy)"
    lines = [v.line(f"{network.driver} {lower.mode} on {shown}", v.pick(network.owner, place=(None, parent)))]
    if lower.host_access:
        shim = shim_ifname(network.name)
        cidrs = ", ".join(str(a) for a in v.allocated(HOST_SHIM, network.name))
        lines.append(v.line(f"host shim {shim} {cidrs}".rstrip(), v.pick(network.owner, place=(None, shim))))
    return lines


def _subnet_lines(network: Network, v: HostView) -> list[Line]:
    """Each subnet with its gateway, range and auxiliary addresses; the bridge's gateway address checked."""
    bridge = bridge_of(network)
    on = bridge.name if bridge is not None else ""
    lines = []
    for sub in network.subnets:
        text = f"{sub.subnet}" + (f"  gw {sub.gateway}" if sub.gateway else "")
        text += f"  range {sub.ip_range}" if sub.ip_range else ""
        text += "".join(f"  {name}={address}" for name, address in sub.aux_addresses)
        checks = v.pick(network.owner, place=(None, on), address=str(sub.gateway)) if on and sub.gateway else []
        lines.append(v.line(text, checks))
    return lines


def _option_lines(network: Network, v: HostView) -> list[Line]:
    """Isolation and NAT (the network's firewall rules), and a declared MTU."""
    bridge = bridge_of(network)
    words = ["internal"] if network.internal else []
    if bridge is not None:
        words += [] if network.internal else ["NAT out" if bridge.masquerade else "no masquerade"]
        words += [] if bridge.icc else ["icc off"]
    words += [f"mtu {network.mtu}"] if network.mtu not in (None, 1500) else []
    words += ["IPv6"] if network.enable_ipv6 else []
    rules = v.pick(network.owner, rules=True) if bridge is not None else []
    return [v.line("  ".join(words), rules)] if words or rules else []
