"""`netreconcile graph`: the topology as a Graphviz picture.

First a small model (nodes made of lines, edges, each with the state of the kernel objects behind it)
is built from the manifests and the addresses the planner allocates; with --live the addresses and
the states come from one observation of the kernel (`engine.status_of`). Then the model is written as
DOT, every text escaped in HTML-like labels, and laid out by Graphviz's `dot` for svg and png.

Layout choices: each declared Host is a cluster holding what it builds (its endpoints, the bridge,
macvlan and ipvlan networks they use, one bridge each per host, the Services it balances and the
ports it publishes). An overlay network used by several of the drawn hosts is drawn once, outside the
clusters, spanning them: its label lists the hosts' VTEPs.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, replace
from typing import Callable, Iterable

from reconciler import engine
from reconciler.engine import ObjectStatus, State
from reconciler.errors import NetreconcileError
from reconciler.hosts import localize
from reconciler.ipam import AllocKey, allocate
from reconciler.kernel import Kernel
from reconciler.model import NftTable
from reconciler.plan import Observed
from reconciler.planners import build_context, context_for
from reconciler.planners.context import Context
from reconciler.planners.services import Exposure, backends
from reconciler.spec import (
    HOST_SHIM, Endpoint, Host, IPAddress, Manifests, Network, Service, shim_ifname,
)
from reconciler.validate import load_manifests

# --- the model ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One line of a node's label, with the state of the kernel objects behind it (None: not checked)."""

    text: str
    state: State | None = None
    why: str = ""  # which of its objects differ, and how


@dataclass(frozen=True)
class Node:
    """A network, endpoint, service, published port, or leftover object (kind `extra`)."""

    id: str
    kind: str
    title: str
    lines: tuple[Line, ...] = ()
    state: State | None = None
    host: str | None = None  # the Host cluster it is drawn in
    detail: str = ""         # what differs in the kernel (the tooltip)


@dataclass(frozen=True)
class Edge:
    """attach (endpoint to network), backend (service to endpoint), publish (port to target), vip."""

    tail: str
    head: str
    kind: str
    label: str = ""
    state: State | None = None


@dataclass(frozen=True)
class Topology:
    clusters: tuple[tuple[str, str], ...]  # (host name, label)
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    live: bool = False
    notes: tuple[str, ...] = ()  # states that no drawn object shows (host sysctls, the table's chains)


# --- what the kernel said (--live) --------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One thing compared with the kernel: an object of ours, or one nftables rule (by its comment)."""

    owners: tuple[str, ...]
    kind: str
    title: str
    state: State
    place: tuple[str | None, str] | None = None  # (netns, interface) it sits on
    address: str = ""  # an address: its IP, without the prefix length
    label: str = ""    # a rule: its label (`publish-tcp-all-8080`)
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.state.value}: {self.kind} {self.title}" + (f" ({self.detail})" if self.detail else "")


PLACES: dict[str, Callable] = {
    "veth": lambda o: (o.ns, o.peer),
    "macvlan": lambda o: (o.ns, o.name), "ipvlan": lambda o: (o.ns, o.name),
    "address": lambda o: (o.ns, o.ifname), "route": lambda o: (o.ns, o.ifname),
    "bridge": lambda o: (None, o.name), "vxlan": lambda o: (None, o.name),
    "dummy": lambda o: (None, o.name), "vlan": lambda o: (None, o.name),
    "fdb": lambda o: (None, o.ifname), "neigh": lambda o: (None, o.ifname), "bridge-fdb": lambda o: (None, o.ifname),
}


def checks_of(m: Manifests, rows: list[ObjectStatus], observed: Observed) -> tuple[Check, ...]:
    """The status rows as checks; the nftables table split into one check per rule comment."""
    netns_owner = {e.netns: e.owner for e in m.endpoints}
    out = [_check(r, netns_owner) for r in rows if r.obj.kind != "nft"]
    table = next((r for r in rows if r.obj.kind == "nft"), None)
    rules = _rule_checks(table, observed.objects.get(NftTable().key))
    if table is not None and all(c.state is State.IN_SYNC for c in rules):
        out.append(_check(table, netns_owner))  # the chains differ: shown in the notes
    return tuple(out + rules)


def _check(row: ObjectStatus, netns_owner: dict[str, str]) -> Check:
    obj = row.obj
    owners = tuple(obj.owner.split()) or ((netns_owner[obj.netns],) if obj.netns in netns_owner else ())
    place = PLACES[obj.kind](obj) if obj.kind in PLACES else None
    address = obj.address.split("/")[0] if obj.kind == "address" else ""
    return Check(owners, obj.kind, obj.title, row.state, place, address, "", row.detail)


def _rule_checks(table: ObjectStatus | None, observed: NftTable | None) -> list[Check]:
    want = _by_comment(table.obj.rules if table is not None and table.state is not State.EXTRA else ())
    have = _by_comment(observed.rules if observed is not None else ())
    out = []
    for comment in sorted(want.keys() | have.keys()):
        state = (State.EXTRA if comment not in want else State.MISSING if comment not in have
                 else State.IN_SYNC if want[comment] == have[comment] else State.DRIFTED)
        owner, _, label = comment.partition(" ")
        out.append(Check((owner,) if owner else (), "rule", comment or "(no comment)", state, label=label))
    return out


def _by_comment(rules: Iterable) -> dict[str, list[tuple[str, str]]]:
    grouped: dict[str, list[tuple[str, str]]] = {}
    for r in rules:
        grouped.setdefault(r.comment or "", []).append((r.chain, r.expr))
    return {c: sorted(v) for c, v in grouped.items()}


def combined(checks: list[Check], principal: tuple[str, ...] = ()) -> State:
    """Missing when its principal object (or everything) is missing; drifted when anything differs."""
    states = [c.state for c in checks]
    if states and (all(s is State.MISSING for s in states)
                   or any(c.state is State.MISSING and c.kind in principal for c in checks)):
        return State.MISSING
    return State.IN_SYNC if all(s is State.IN_SYNC for s in states) else State.DRIFTED


class Ledger:
    """The checks of one host's kernel, picked by owner, place, address or rule label."""

    def __init__(self, checks: tuple[Check, ...]) -> None:
        self.checks = checks
        self.claimed: set[str] = set()  # owners whose node shows their checks

    def pick(self, owner: str, *, place=None, address: str | None = None, labels: Callable[[str], bool] | None = None,
             rules: bool | None = None) -> list[Check]:
        """The owner's checks; narrowed to a place, an address, rules (or not), rule labels."""
        self.claimed.add(owner)
        out = [c for c in self.checks if owner in c.owners]
        if place is not None:
            out = [c for c in out if c.place == place]
        if address is not None:
            out = [c for c in out if c.address == address]
        if rules is not None:
            out = [c for c in out if (c.kind == "rule") == rules]
        if labels is not None:
            out = [c for c in out if c.kind == "rule" and labels(c.label)]
        return out

    def unclaimed(self) -> list[Check]:
        return [c for c in self.checks if not set(c.owners) & self.claimed]


# --- building the model --------------------------------------------------------------------------


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
    scopes = [Scope(h, build_context(replace(m, host=h.name if h else None), addresses),
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
    chosen = dict.fromkeys(name for v in (4, 6) for name, _ in backends(service, s.m, s.ctx.addresses, v))
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


# --- DOT and rendering ---------------------------------------------------------------------------


COLOURS = {  # state: (fill, outline)
    State.IN_SYNC: ("#c8e6c9", "#2e7d32"),
    State.DRIFTED: ("#ffe0b2", "#e65100"),
    State.MISSING: ("#ffcdd2", "#c62828"),
    State.EXTRA: ("#eeeeee", "#9e9e9e"),
    None: ("#ffffff", "#444444"),
}
LEGEND = ((State.IN_SYNC, "in sync"), (State.DRIFTED, "drifted: differs from the manifests"),
          (State.MISSING, "missing from the kernel"), (State.EXTRA, "extra: ours, not in these manifests"),
          (None, "not checked (another host)"))
SHAPES = {"network": "box3d", "endpoint": "box", "service": "hexagon", "port": "cds", "extra": "box"}


def slug(state: State | None) -> str:
    """The state as a class name in the DOT and SVG: in-sync, drifted, missing, extra, unchecked."""
    return state.value.replace(" ", "-") if state is not None else "unchecked"


def text(value: str) -> str:
    """Text for an HTML-like label: escaped, control characters made visible (XML forbids them)."""
    visible = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in value)
    return visible.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def plain(value: str, newline: str = "\\n") -> str:
    """Text for a quoted DOT attribute: never taken as HTML, backslashes literal, lines broken by
    `newline` (\\n centred, \\l left-justified); the graphviz package escapes the quotes."""
    import graphviz

    printable = "".join(c if c.isprintable() or c == "\n" else "?" for c in value)
    return graphviz.nohtml(printable.replace("\\", "\\\\").replace("\n", newline))


def to_dot(t: Topology) -> str:
    import graphviz

    g = graphviz.Digraph("netreconcile", graph_attr={"rankdir": "LR", "fontname": "Helvetica", "compound": "true",
                                                     "nodesep": "0.3", "ranksep": "0.8"},
                         node_attr={"fontname": "Helvetica", "fontsize": "10", "style": "filled"},
                         edge_attr={"fontname": "Helvetica", "fontsize": "9"})
    for name, label in t.clusters:
        with g.subgraph(name=f"cluster_{name}") as c:
            c.attr(label=plain(label), style="rounded", color="#607d8b")
            _add_nodes(c, [n for n in t.nodes if n.host == name], t.live)
    _add_nodes(g, [n for n in t.nodes if n.host is None or n.host not in dict(t.clusters)], t.live)
    for e in t.edges:
        _add_edge(g, e, t.live)
    if t.live:
        shown = [(s, words) for s, words in LEGEND if s is not None or any(n.state is None for n in t.nodes)]
        g.node("legend", _legend(shown), shape="plaintext", style="", **{"class": "legend"})
    if t.notes:
        g.attr(label=plain("".join(f"{n}\n" for n in t.notes), "\\l"), labelloc="b", labeljust="l", fontsize="9")
    return g.source


def _add_nodes(g, nodes: list[Node], live: bool) -> None:
    for n in nodes:
        fill, pen = COLOURS[n.state if live else None]
        style = "filled,dashed" if n.kind == "extra" else "filled,rounded" if n.kind == "endpoint" else "filled"
        attrs = {"class": f"{n.kind} {slug(n.state)}" if live else n.kind, "tooltip": plain(n.detail or n.title)}
        g.node(n.id, _label(n, live), shape=SHAPES[n.kind], fillcolor=fill, color=pen, style=style, **attrs)


def _label(n: Node, live: bool) -> str:
    rows = [f"<TR><TD><B>{text(n.title)}</B></TD></TR>"]
    for line in n.lines:
        differs = live and line.state not in (None, State.IN_SYNC)
        colour = f' BGCOLOR="{COLOURS[line.state][0]}"' if differs else ""
        why = f"  ({line.why or line.state.value})" if differs else ""
        rows.append(f"<TR><TD{colour}>{text(line.text + why)}</TD></TR>")
    return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">{"".join(rows)}</TABLE>>'


def _add_edge(g, e: Edge, live: bool) -> None:
    colour = COLOURS[e.state][1] if live else "#444444"
    style = {"backend": "dashed", "vip": "dotted"}.get(e.kind, "solid")
    attrs = {"class": f"{e.kind} {slug(e.state)}" if live else e.kind}
    g.edge(e.tail, e.head, label=plain(e.label), color=colour, fontcolor=colour, style=style,
           arrowhead="none" if e.kind in ("attach", "vip") else "normal", **attrs)


def _legend(shown: list[tuple[State | None, str]]) -> str:
    rows = "".join(f'<TR><TD BGCOLOR="{COLOURS[s][0]}" COLOR="{COLOURS[s][1]}" BORDER="1">{text(words)}</TD></TR>'
                   for s, words in shown)
    return f'<<TABLE BORDER="0" CELLSPACING="2" CELLPADDING="3"><TR><TD><B>state</B></TD></TR>{rows}</TABLE>>'


def render(dot: str, fmt: str) -> bytes:
    """svg or png from DOT source, through Graphviz's `dot` program."""
    import graphviz

    try:
        return graphviz.Source(dot).pipe(format=fmt)
    except graphviz.ExecutableNotFound as err:
        raise NetreconcileError(f"-o {fmt} needs Graphviz's `dot` program, which is not installed: install the "
                                "Debian package graphviz (apt-get install graphviz), or use -o dot") from err
    except graphviz.CalledProcessError as err:
        said = err.stderr.decode(errors="replace").strip() if isinstance(err.stderr, bytes) else err.stderr
        raise NetreconcileError(f"Graphviz's dot failed: {said}") from err


# --- the command ---------------------------------------------------------------------------------


def planned(m: Manifests, only: str | None) -> Topology:
    """From the manifests alone: no kernel is read (works as any user)."""
    if only is not None:
        localize(replace(m, host=only), Observed({}))  # refuses a --host that is not declared
    return topology(m, allocate(m), only)


def live(m: Manifests, only: str | None) -> Topology:
    """From one observation of the kernel: the addresses it really holds, each object's state."""
    m = replace(m, host=only)
    with Kernel() as kernel:
        observed = engine.observe_for(m, kernel)
    here = localize(m, observed)
    rows, findings = engine.status_of(here, observed)
    ledger = Ledger(checks_of(here, rows, observed))
    drawn = topology(m, context_for(here, observed).addresses, only, here.host, ledger)
    return replace(drawn, notes=findings + drawn.notes)  # the preflight's, e.g. a parent that is not there


def run(args: argparse.Namespace) -> int:
    m = load_manifests(args.paths)
    dot = to_dot(live(m, args.host) if args.live else planned(m, args.host))
    if args.output == "dot":
        sys.stdout.write(dot)
    else:
        sys.stdout.buffer.write(render(dot, args.output))
    sys.stdout.flush()
    return 0
