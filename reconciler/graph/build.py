"""The topology model built from the manifests and the addresses the planner allocates (or the kernel holds).

Layout choices: each declared Host is a cluster holding what it builds (its endpoints, the bridge,
macvlan and ipvlan networks they use, one bridge each per host, the Services it balances and the
ports it publishes); a Service across hosts (the routing mesh) has an edge to each backend on another
drawn host too. An overlay network used by several of the drawn hosts is drawn once, outside the
clusters, spanning them: its label lists the hosts' VTEPs.
"""

from __future__ import annotations

import reconciler.planners.mesh as mesh
from reconciler.engine import State
from reconciler.graph.ledger import Check, Ledger
from reconciler.graph.model import Edge, Line, Node, Topology
from reconciler.graph.networks import NetIds, network_nodes
from reconciler.graph.view import Addresses, HostView, detail
from reconciler.input.spec import (
    Endpoint,
    Host,
    Interface,
    Manifests,
    Service,
    ServicePort,
)
from reconciler.planners.services import Exposure, backends

Drawn = tuple[list[Node], list[Edge]]


def topology(m: Manifests, addresses: Addresses, only: str | None = None,
             local: str | None = None, ledger: Ledger | None = None) -> Topology:
    """The picture of what the drawn hosts build (all, or `only`); `ledger` holds the checks of `local`."""
    hosts: list[Host | None] = [h for h in m.hosts if only in (None, h.name)] or [None]
    views = [HostView.of(m, h, addresses, ledger if (h.name if h else None) == local else None) for h in hosts]
    nodes, net_ids = network_nodes(m, views, only)
    edges: list[Edge] = []
    drawn = frozenset(e.name for view in views for e in view.m.local_endpoints)
    for view in views:
        for more_nodes, more_edges in (_endpoints(view, net_ids), _services(view, net_ids, drawn), _ports(view)):
            nodes += more_nodes
            edges += more_edges
    clusters = tuple((h.name, _host_label(h)) for h in hosts if h is not None)
    if ledger is None:
        return Topology(clusters, tuple(nodes), tuple(edges))
    nodes += _extra_nodes(ledger.unclaimed(), local)
    return Topology(clusters, tuple(nodes), tuple(edges), True, _notes(ledger))


def _host_label(h: Host) -> str:
    return f"Host {h.name}  underlay {h.address}" + (f" ({h.interface})" if h.interface else "")


def _notes(ledger: Ledger) -> tuple[str, ...]:
    """What differs in the kernel that no drawn object shows (host sysctls, the table's chains)."""
    return tuple(str(c) for c in ledger.unclaimed()
                 if c.state is not State.IN_SYNC and (c.state is not State.EXTRA or not c.owners))


def _endpoints(v: HostView, net_ids: NetIds) -> Drawn:
    """The endpoints this host builds, each attached to its networks."""
    nodes, edges = [], []
    for ep in v.m.local_endpoints:
        nodes.append(_endpoint_node(ep, v))
        edges += _attach_edges(ep, v, net_ids)
    return nodes, edges


def _endpoint_node(ep: Endpoint, v: HostView) -> Node:
    lines = [Line(f"netns {ep.netns}")] if ep.netns != ep.name else []
    lines += [Line("  ".join(f"{k}={val}" for k, val in ep.labels))] if ep.labels else []
    lines += [_iface_line(ep, i, v) for i in ep.interfaces]
    everything = v.pick(ep.owner, rules=False)
    return Node(f"ep/{ep.name}", "endpoint", ep.name, tuple(lines), v.state(everything, ("netns",)), v.cluster,
                detail(everything))


def _iface_line(ep: Endpoint, iface: Interface, v: HostView) -> Line:
    text = "  ".join([iface.name, *v.ctx.cidrs(ep, iface)])
    return v.line(text, v.pick(ep.owner, place=(ep.netns, iface.name)), ("veth", "macvlan", "ipvlan"))


def _attach_edges(ep: Endpoint, v: HostView, net_ids: NetIds) -> list[Edge]:
    return [Edge(f"ep/{ep.name}", net_ids[(v.cluster, i.network)], "attach", i.name, _iface_line(ep, i, v).state)
            for i in ep.interfaces if (v.cluster, i.network) in net_ids]


def _services(v: HostView, net_ids: NetIds, drawn: frozenset[str]) -> Drawn:
    """The Services on networks this host builds, each to its network and its backends here, and
    (the routing mesh) to those on other drawn hosts."""
    nodes, edges = [], []
    for service in (s for s in v.m.services if (v.cluster, s.network) in net_ids):
        node = _service_node(service, v)
        nodes.append(node)
        edges += _service_edges(node, service, v, net_ids[(v.cluster, service.network)])
        edges += _remote_edges(node, service, v, drawn)
    return nodes, edges


def _service_node(service: Service, v: HostView) -> Node:
    owner = service.owner
    vips = v.allocated(f"@service/{service.name}", service.network)
    lines = [v.line(f"VIP {a}", v.pick(owner, address=str(a))) for a in vips]
    lines += [Line("selector " + "  ".join(f"{k}={val}" for k, val in service.selector))]
    lines += [_service_port_line(owner, p, v) for p in service.ports]
    everything = [c for c in v.pick(owner) if not c.label.startswith("publish-")]
    return Node(_service_id(service, v), "service", f"service {service.name}", tuple(lines), v.state(everything),
                v.cluster, detail(everything))


def _service_port_line(owner: str, p: ServicePort, v: HostView) -> Line:
    label = f"vip-{p.protocol}-{p.port}"
    checks = v.pick(owner, labels=lambda lb: lb in (label, label + "-v6"))
    return v.line(f"{p.port}/{p.protocol} -> :{p.target_port}", checks)


def _service_id(service: Service, v: HostView) -> str:
    return f"svc/{v.cluster}/{service.name}" if v.cluster else f"svc/{service.name}"


def _service_edges(node: Node, service: Service, v: HostView, network_id: str) -> list[Edge]:
    """To its network (where the VIP is) and to each backend, in the service's state."""
    targets = ",".join(sorted({f":{p.target_port}" for p in service.ports}))
    chosen = dict.fromkeys(name for version in (4, 6) for name, _ in backends(service, v.m, v.ctx.addresses, version))
    return ([Edge(node.id, network_id, "vip", "", node.state)]
            + [Edge(node.id, f"ep/{name}", "backend", targets, node.state) for name in chosen])


def _remote_edges(node: Node, service: Service, v: HostView, drawn: frozenset[str]) -> list[Edge]:
    """To each backend on another drawn host this host spreads over, labelled with its mesh address."""
    if not mesh.meshed(v.m, service) or service.traffic_policy == "local":
        return []
    snat = mesh.own_address(v.m, service.network, v.ctx.addresses)
    remote = [b for b in mesh.selected(service, v.m, v.ctx.addresses, 4, False) if b.remote and b.name in drawn]
    targets = ",".join(sorted({f":{p.target_port}" for p in service.ports}))
    return [Edge(node.id, f"ep/{b.name}", "backend", f"{targets} via {snat}", node.state) for b in remote if snat]


def _ports(v: HostView) -> Drawn:
    """The ports this host publishes, each to the endpoint or Service it leads to."""
    nodes, edges = [], []
    for exposure in (e for e in v.ctx.exposures if e.label.startswith("publish-")):
        node = _port_node(exposure, v)
        nodes.append(node)
        edges.append(_publish_edge(exposure, node, v))
    return nodes, edges


def _port_node(e: Exposure, v: HostView) -> Node:
    shown = e.text.removeprefix("publishes ").partition(" -> ")[0]
    checks = v.pick(e.owner, labels=lambda label: label == e.label)
    where = f"{v.cluster}/" if v.cluster else ""
    node_id = f"port/{where}{e.owner}/{e.label}".replace(":", "_")  # a colon in an edge's end names a port
    return Node(node_id, "port", shown, (), v.state(checks), v.cluster,
                e.text + "".join(f"\n{c}" for c in checks if c.state is not State.IN_SYNC))


def _publish_edge(e: Exposure, node: Node, v: HostView) -> Edge:
    kind, _, name = e.owner.partition("/")
    target = f"ep/{name}" if kind == "endpoint" else _service_id(next(x for x in v.m.services if x.name == name), v)
    return Edge(node.id, target, "publish", f":{e.target}", node.state)


def _extra_nodes(checks: list[Check], host: str | None) -> list[Node]:
    """Objects of ours that these manifests do not declare here, one node per owner, greyed."""
    by_owner: dict[str, list[Check]] = {}
    for c in (c for c in checks if c.state is State.EXTRA and c.owners):
        by_owner.setdefault(" ".join(c.owners), []).append(c)
    return [Node(f"extra/{owner}", "extra", owner, _extra_lines(found), State.EXTRA, host)
            for owner, found in sorted(by_owner.items())]


def _extra_lines(found: list[Check]) -> tuple[Line, ...]:
    """The first eight of an owner's leftover objects, and how many more."""
    more = (Line(f"... {len(found) - 8} more"),) if len(found) > 8 else ()
    return tuple(Line(f"{c.kind} {c.title}") for c in found[:8]) + more
