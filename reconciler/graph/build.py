"""The topology model built from the manifests and the addresses the planner allocates (or the kernel holds).

Layout choices: each declared Host is a cluster holding what it builds (its endpoints, the bridge,
macvlan and ipvlan networks they use, one bridge each per host, the Services it balances and the
ports it publishes). An overlay network used by several of the drawn hosts is drawn once, outside the
clusters, spanning them: its label lists the hosts' VTEPs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from reconciler.engine import State
from reconciler.graph.ledger import Check, Ledger, combined
from reconciler.graph.model import Edge, Line, Node, Topology
from reconciler.ipam import AllocKey
from reconciler.planners.context import Context
from reconciler.planners.services import Exposure, backends
from reconciler.spec import (
    HOST_SHIM,
    Endpoint,
    Host,
    IPAddress,
    Manifests,
    Network,
    Service,
    shim_ifname,
)


@dataclass(frozen=True)
class Scope:
    """What one host builds (`ctx.manifests.host` set), and its kernel's checks (None: not observed)."""

    host: Host | None
    ctx: Context
    ledger: Ledger | None

    @property
    def cluster(self) -> str | None:
        return self.host.name if self.host else None

    @property
    def m(self) -> Manifests:
        return self.ctx.manifests

    def state(self, checks: list[Check], principal: tuple[str, ...] = ()) -> State | None:
        return combined(checks, principal) if self.ledger is not None else None

    def pick(self, owner: str, **narrow) -> list[Check]:
        return self.ledger.pick(owner, **narrow) if self.ledger is not None else []

    def line(self, text: str, checks: list[Check], principal: tuple[str, ...] = ()) -> Line:
        return Line(text, self.state(checks, principal), _why(checks))


def _why(checks: list[Check]) -> str:
    """What differs, briefly: `address 172.20.0.10/24 missing`, `veth drifted`, `12 rules missing`."""
    differ = [c for c in checks if c.state is not State.IN_SYNC]
    said = [f"{_short(c)} {c.state.value}" for c in differ if c.kind != "rule"]
    for state in dict.fromkeys(c.state for c in differ if c.kind == "rule"):
        rules = [c for c in differ if c.kind == "rule" and c.state is state]
        said.append(f"rule {rules[0].label} {state.value}" if len(rules) == 1 else f"{len(rules)} rules {state.value}")
    return ", ".join(said)


def _short(c: Check) -> str:
    """A check named briefly inside its line: `address 172.20.0.10/24`, `route 0.0.0.0/0`, `veth`."""
    if c.kind == "address":
        return f"address {c.title.split(' on ')[0]}"
    return f"route {c.title.split(' ')[0]}" if c.kind == "route" else c.kind


def topology(m: Manifests, addresses: dict[AllocKey, IPAddress], only: str | None = None,
             local: str | None = None, ledger: Ledger | None = None) -> Topology:
    """The picture of what the drawn hosts build (all, or `only`); `ledger` holds the checks of `local`."""
    hosts = [h for h in m.hosts if only in (None, h.name)] or [None]
    scopes = [Scope(h, Context(replace(m, host=h.name if h else None), addresses),
                    ledger if (h.name if h else None) == local else None) for h in hosts]
    nodes: list[Node] = []
    edges: list[Edge] = []
    net_ids = _networks(m, scopes, only, nodes)
    for scope in scopes:
        for ep in scope.m.local_endpoints:
            nodes.append(_endpoint_node(ep, scope))
            edges += _attach_edges(ep, scope, net_ids)
        for service in (s for s in m.services if (scope.cluster, s.network) in net_ids):
            nodes.append(_service_node(service, scope))
            edges += _service_edges(nodes[-1], service, scope, net_ids[(scope.cluster, service.network)])
        for exposure in (e for e in scope.ctx.exposures if e.label.startswith("publish-")):
            node = _port_node(exposure, scope)
            nodes.append(node)
            edges.append(_publish_edge(exposure, node, scope))
    notes: tuple[str, ...] = ()
    if ledger is not None:
        nodes += _extra_nodes(ledger.unclaimed(), local)
        notes = tuple(str(c) for c in ledger.unclaimed()
                      if c.state is not State.IN_SYNC and (c.state is not State.EXTRA or not c.owners))
    clusters = tuple((h.name, _host_label(h)) for h in hosts if h is not None)
    return Topology(clusters, tuple(nodes), tuple(edges), ledger is not None, notes)


def _host_label(h: Host) -> str:
    return f"Host {h.name}  underlay {h.address}" + (f" ({h.interface})" if h.interface else "")


def _networks(m: Manifests, scopes: list[Scope], only: str | None, nodes: list[Node]) -> dict[tuple, str]:
    """Draw each network where it is built; the node id of (cluster, network) for the edges."""
    ids: dict[tuple, str] = {}
    for network in m.networks:
        for s, node_id, cluster, users in _placements(network, scopes, only):
            extra = _vteps(m, network) if users else ("built by no host",)
            nodes.append(_network_node(network, s, node_id, cluster, extra))
            ids.update({(u.cluster, network.name): node_id for u in users})
    return ids


def _placements(network: Network, scopes: list[Scope], only: str | None) -> list[tuple]:
    """(scope whose kernel it shows, node id, cluster, hosts it serves) for each node of the network:
    one per host that builds it; one spanning them for an overlay; one outside for a network that
    no host builds (no endpoint on it)."""
    users = [s for s in scopes if network in s.m.local_networks]
    if network.overlay is not None and len(users) > 1:
        shown = next((s for s in users if s.ledger is not None), replace(users[0], ledger=None))
        return [(shown, f"net/{network.name}", None, users)]
    if not users:
        return [(replace(scopes[0], ledger=None), f"net/{network.name}", None, [])] if only is None else []
    return [(s, f"net/{s.cluster}/{network.name}" if s.cluster else f"net/{network.name}", s.cluster, [s])
            for s in users]


def _vteps(m: Manifests, network: Network) -> tuple[str, ...]:
    """An overlay network's hosts (every one with an endpoint on it) and their underlay addresses."""
    if network.overlay is None:
        return ()
    used = {e.host for e in m.endpoints if e.interface_on(network.name) is not None}
    return tuple(f"VTEP {h.name} {h.address}" for h in m.hosts if h.name in used)


def _network_node(network: Network, s: Scope, node_id: str, cluster: str | None, extra: tuple[str, ...]) -> Node:
    lines = [*_driver_lines(network, s), *_subnet_lines(network, s), *_option_lines(network, s),
             *(Line(t) for t in extra)]
    everything = s.pick(network.owner)
    return Node(node_id, "network", network.name, tuple(lines), s.state(everything, ("bridge", "dummy")), cluster,
                _detail(everything))


def _driver_lines(network: Network, s: Scope) -> list[Line]:
    owner = network.owner
    if network.bridge is not None:
        br = network.bridge.name
        link = s.line(f"bridge {br}", [c for c in s.pick(owner, place=(None, br)) if c.kind == "bridge"])
        if network.overlay is None:
            return [link]
        vx, vni, port = network.overlay.vxlan, network.overlay.vni, network.overlay.port
        return [Line(f"overlay  VNI {vni}"), link, s.line(f"vxlan {vx}  udp {port}", s.pick(owner, place=(None, vx)))]
    mode = network.lower.mode
    parent = network.parent if network.lower.parent else f"{network.parent} (dummy)"
    lines = [s.line(f"{network.driver} {mode} on {parent}", s.pick(owner, place=(None, network.parent)))]
    if network.lower.host_access:
        shim = shim_ifname(network.name)
        cidrs = ", ".join(str(a) for a in _allocated(s, HOST_SHIM, network.name))
        lines.append(s.line(f"host shim {shim} {cidrs}".rstrip(), s.pick(owner, place=(None, shim))))
    return lines


def _subnet_lines(network: Network, s: Scope) -> list[Line]:
    lines = []
    on = network.bridge.name if network.bridge else None
    for sub in network.subnets:
        text = f"{sub.subnet}" + (f"  gw {sub.gateway}" if sub.gateway else "")
        text += f"  range {sub.ip_range}" if sub.ip_range else ""
        text += "".join(f"  {name}={address}" for name, address in sub.aux_addresses)
        checks = s.pick(network.owner, place=(None, on), address=str(sub.gateway)) if on and sub.gateway else []
        lines.append(s.line(text, checks))
    return lines


def _option_lines(network: Network, s: Scope) -> list[Line]:
    """Isolation and NAT (the network's firewall rules), and a declared MTU."""
    words = ["internal"] if network.internal else []
    if network.bridge is not None:
        words += [] if network.internal else ["NAT out" if network.bridge.masquerade else "no masquerade"]
        words += [] if network.bridge.icc else ["icc off"]
    words += [f"mtu {network.mtu}"] if network.mtu not in (None, 1500) else []
    words += ["IPv6"] if network.enable_ipv6 else []
    rules = s.pick(network.owner, rules=True) if network.bridge is not None else []
    return [s.line("  ".join(words), rules)] if words or rules else []


def _allocated(s: Scope, name: str, network: str) -> list[IPAddress]:
    return [a for a in (s.ctx.addresses.get((name, network, v)) for v in (4, 6)) if a is not None]


def _endpoint_node(ep: Endpoint, s: Scope) -> Node:
    lines = [Line(f"netns {ep.netns}")] if ep.netns != ep.name else []
    lines += [Line("  ".join(f"{k}={v}" for k, v in ep.labels))] if ep.labels else []
    lines += [_iface_line(ep, i, s) for i in ep.interfaces]
    everything = s.pick(ep.owner, rules=False)
    return Node(f"ep/{ep.name}", "endpoint", ep.name, tuple(lines), s.state(everything, ("netns",)), s.cluster,
                _detail(everything))


def _iface_line(ep: Endpoint, iface, s: Scope) -> Line:
    text = "  ".join([iface.name, *s.ctx.cidrs(ep, iface)])
    return s.line(text, s.pick(ep.owner, place=(ep.netns, iface.name)), ("veth", "macvlan", "ipvlan"))


def _attach_edges(ep: Endpoint, s: Scope, net_ids: dict[tuple, str]) -> list[Edge]:
    return [Edge(f"ep/{ep.name}", net_ids[(s.cluster, i.network)], "attach", i.name, _iface_line(ep, i, s).state)
            for i in ep.interfaces if (s.cluster, i.network) in net_ids]


def _service_node(service: Service, s: Scope) -> Node:
    owner = service.owner
    vips = _allocated(s, f"@service/{service.name}", service.network)
    lines = [s.line(f"VIP {a}", s.pick(owner, address=str(a))) for a in vips]
    lines += [Line("selector " + "  ".join(f"{k}={v}" for k, v in service.selector))]
    for p in service.ports:
        label = f"vip-{p.protocol}-{p.port}"
        checks = s.pick(owner, labels=lambda lb: lb in (label, label + "-v6"))
        lines.append(s.line(f"{p.port}/{p.protocol} -> :{p.target_port}", checks))
    everything = [c for c in s.pick(owner) if not c.label.startswith("publish-")]
    return Node(_service_id(service, s), "service", f"service {service.name}", tuple(lines), s.state(everything),
                s.cluster, _detail(everything))


def _service_id(service: Service, s: Scope) -> str:
    return f"svc/{s.cluster}/{service.name}" if s.cluster else f"svc/{service.name}"


def _service_edges(node: Node, service: Service, s: Scope, network_id: str) -> list[Edge]:
    """To its network (where the VIP is) and to each backend, in the service's state."""
    targets = ",".join(sorted({f":{p.target_port}" for p in service.ports}))
    chosen = dict.fromkeys(name for v in (4, 6) for name, _ in backends(service, s.m, s.ctx, v))
    return ([Edge(node.id, network_id, "vip", "", node.state)]
            + [Edge(node.id, f"ep/{name}", "backend", targets, node.state) for name in chosen])


def _port_node(e: Exposure, s: Scope) -> Node:
    shown = e.text.removeprefix("publishes ").partition(" -> ")[0]
    checks = s.pick(e.owner, labels=lambda label: label == e.label)
    where = f"{s.cluster}/" if s.cluster else ""
    node_id = f"port/{where}{e.owner}/{e.label}".replace(":", "_")  # a colon in an edge's end names a port
    return Node(node_id, "port", shown, (), s.state(checks), s.cluster,
                e.text + "".join(f"\n{c}" for c in checks if c.state is not State.IN_SYNC))


def _publish_edge(e: Exposure, node: Node, s: Scope) -> Edge:
    kind, _, name = e.owner.partition("/")
    target = f"ep/{name}" if kind == "endpoint" else _service_id(next(x for x in s.m.services if x.name == name), s)
    return Edge(node.id, target, "publish", f":{e.target}", node.state)


def _extra_nodes(checks: list[Check], host: str | None) -> list[Node]:
    """Objects of ours that these manifests do not declare here, one node per owner, greyed."""
    by_owner: dict[str, list[Check]] = {}
    for c in (c for c in checks if c.state is State.EXTRA and c.owners):
        by_owner.setdefault(" ".join(c.owners), []).append(c)
    return [Node(f"extra/{owner}", "extra", owner, tuple(Line(f"{c.kind} {c.title}") for c in found[:8])
                 + ((Line(f"... {len(found) - 8} more"),) if len(found) > 8 else ()), State.EXTRA, host)
            for owner, found in sorted(by_owner.items())]


def _detail(checks: list[Check]) -> str:
    return "\n".join(str(c) for c in checks if c.state is not State.IN_SYNC)
