"""`netreconcile graph`: the topology model built from manifests (every node kind with its lines, the
edges, Host clusters, --host) and, with --live, from an observed kernel given as a fixture (the state of
every node, line and edge); then end-to-end: the DOT says exactly what the model says (read back by
Graphviz itself), hostile labels stay text, and svg and png render."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, replace
from ipaddress import ip_interface
from pathlib import Path
from typing import Any, NoReturn

import pytest

from reconciler import engine, graph
from reconciler.engine import State
from reconciler.errors import NetreconcileError
from reconciler.graph import Edge, Line, Node, Topology
from reconciler.input.ipam import allocate
from reconciler.input.spec import Manifests, derived_vni, shim_ifname
from reconciler.input.validate import load_manifests
from reconciler.model import Address, NftRule, NftTable, Sysctl
from reconciler.planners import context_for
from reconciler.planning.plan import Observed
from unit.helpers import FIXTURES
from unit.observed_yaml import load_observed

REPO = FIXTURES.parent.parent
PLANS = FIXTURES / "plans"

# --- reading the model ----------------------------------------------------------------------------


def planned(*paths: Path | str, host: str | None = None) -> Topology:
    """What `graph PATHS [--host host]` draws."""
    return graph.planned(load_manifests([str(p) for p in paths]), host)


def by_id(t: Topology) -> dict[str, Node]:
    return {n.id: n for n in t.nodes}


def ids(t: Topology, kind: str) -> set[str]:
    return {n.id for n in t.nodes if n.kind == kind}


def texts(node: Node) -> list[str]:
    return [line.text for line in node.lines]


def edge(t: Topology, tail: str, head: str) -> Edge:
    found = [e for e in t.edges if (e.tail, e.head) == (tail, head)]
    assert len(found) == 1, (tail, head, [(e.tail, e.head) for e in t.edges])
    return found[0]


def heads(t: Topology, tail: str, kind: str) -> list[str]:
    return sorted(e.head for e in t.edges if e.tail == tail and e.kind == kind)


def states(t: Topology) -> dict[str, State | None]:
    return {n.id: n.state for n in t.nodes}


# --- reading the DOT back, through Graphviz ------------------------------------------------------


@dataclass
class Read:
    """A node or edge as Graphviz read it from the DOT: its attributes, and the cluster it is in."""

    attrs: dict[str, Any]
    cluster: str | None = None

    @property
    def cells(self) -> list[str]:
        """An HTML-like label's cells, one per line, as text (the label must be well-formed)."""
        return ["".join(td.itertext()) for td in ET.fromstring(self.attrs["label"]).iter("TD")]

    def text(self, name: str) -> str:
        """A plain attribute (tooltip, label) with DOT's escapes undone: \\n and \\l end a line."""
        out, chars = [], iter(self.attrs.get(name, ""))
        for c in chars:
            out.append({"n": "\n", "l": "\n"}.get(after := next(chars, ""), after) if c == "\\" else c)
        return "".join(out)


@dataclass
class ReadBack:
    graph: Read
    nodes: dict[str, Read]
    edges: list[tuple[str, str, Read]]


def read_back(dot: str) -> ReadBack:
    """The DOT as Graphviz's own parser reads it (`dot -Tjson0`)."""
    doc = json.loads(graph.render(dot, "json0"))
    objects = doc.get("objects", [])
    clusters = objects[: doc["_subgraph_cnt"]]
    cluster_of = {gvid: c["name"].removeprefix("cluster_") for c in clusters for gvid in c.get("nodes", [])}
    nodes = {o["_gvid"]: o for o in objects[doc["_subgraph_cnt"]:]}
    return ReadBack(Read(doc), {o["name"]: Read(o, cluster_of.get(i)) for i, o in nodes.items()},
                    [(nodes[e["tail"]]["name"], nodes[e["head"]]["name"], Read(e)) for e in doc.get("edges", [])])


SLUG = {None: "unchecked", State.IN_SYNC: "in-sync", State.DRIFTED: "drifted", State.MISSING: "missing",
        State.EXTRA: "extra"}
LEGEND = ["state", "in sync", "drifted: differs from the manifests", "missing from the kernel",
          "extra: ours, not in these manifests"]


def shown(line: Line, live: bool) -> str:
    """A line as its label cell says it: with --live, one that differs says how."""
    state = line.state if live else None
    if state is None or state is State.IN_SYNC:
        return line.text
    return f"{line.text}  ({line.why or state.value})"


def assert_dot_says(t: Topology) -> ReadBack:
    """Every node (in its cluster, with its kind and state, its lines, its tooltip) and every edge of
    the model, and nothing else, is in the DOT; with --live, a legend; the notes under the picture."""
    g = read_back(graph.to_dot(t))
    clusters = dict(t.clusters)
    assert set(g.nodes) == {n.id for n in t.nodes} | ({"legend"} if t.live else set())
    for n in t.nodes:
        read = g.nodes[n.id]
        assert read.cluster == (n.host if n.host in clusters else None), n.id
        assert read.attrs["class"] == (f"{n.kind} {SLUG[n.state]}" if t.live else n.kind), n.id
        assert read.cells == [n.title, *(shown(line, t.live) for line in n.lines)], n.id
        assert read.text("tooltip") == (n.detail or n.title), n.id
    assert [(tail, head, read.attrs["class"], read.attrs["label"]) for tail, head, read in g.edges] == [
        (e.tail, e.head, f"{e.kind} {SLUG[e.state]}" if t.live else e.kind, e.label) for e in t.edges]
    if t.live:
        unchecked = any(n.state is None for n in t.nodes)
        assert g.nodes["legend"].cells == LEGEND + (["not checked (another host)"] if unchecked else [])
    assert g.graph.text("label") == "".join(f"{note}\n" for note in t.notes)
    return g


def svg_texts(svg: bytes) -> list[str]:
    """Every text of the picture, runs of spaces as one (Graphviz writes no-break spaces)."""
    return [" ".join("".join(t.itertext()).split()) for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")]


def svg_classes(svg: bytes) -> dict[str, str]:
    """The class of each node and edge of the picture, by its title (a node's id, `tail->head`)."""
    ns = "{http://www.w3.org/2000/svg}"
    return {g.findtext(f"{ns}title", ""): g.get("class", "") for g in ET.fromstring(svg).iter(f"{ns}g")
            if g.get("class", "").split()[:1] in (["node"], ["edge"])}


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "reconciler", "graph", *args], capture_output=True, cwd=REPO,
                          env=env, timeout=60, check=False)


# --- manifests for the cases the fixtures do not cover -------------------------------------------

SERVICES = """\
apiVersion: netreconcile/v1
kind: Network
metadata: {name: front}
spec: {driver: bridge, ipam: {subnet: 172.20.0.0/24}, bridge: {icc: false}}
---
apiVersion: netreconcile/v1
kind: Network
metadata: {name: back}
spec: {driver: bridge, internal: true, ipam: {subnet: 172.21.0.0/24}}
---
apiVersion: netreconcile/v1
kind: Endpoint
metadata: {name: web1, labels: {app: web}}
spec:
  interfaces: [{network: front, ipv4Address: 172.20.0.11}, {network: back, name: data}]
  ports: [{hostPort: 8080, containerPort: 80}, {hostPort: 5353, containerPort: 53, protocol: udp, hostIp: 127.0.0.1}]
---
apiVersion: netreconcile/v1
kind: Endpoint
metadata: {name: web2, labels: {app: web}}
spec: {interfaces: [{network: front}]}
---
apiVersion: netreconcile/v1
kind: Endpoint
metadata: {name: other, labels: {app: other}}
spec: {interfaces: [{network: front}]}
---
apiVersion: netreconcile/v1
kind: Service
metadata: {name: web}
spec:
  network: front
  vip: 172.20.0.250
  selector: {app: web}
  ports: [{port: 80, targetPort: 8000, hostPort: 8081}]
"""

ODD = """\
apiVersion: netreconcile/v1
kind: Network
metadata: {name: n.1_x-y}
spec: {driver: bridge, bridge: {name: br-odd}, ipam: {subnet: 172.20.0.0/24}}
---
apiVersion: netreconcile/v1
kind: Endpoint
metadata: {name: e.1, labels: {"<b>tier": "a<b & \\"c\\" \\\\ d>"}}
spec:
  netns: "we<b>&\\"x\\" y"
  interfaces: [{network: n.1_x-y, ipv4Address: 172.20.0.10}]
---
apiVersion: netreconcile/v1
kind: Service
metadata: {name: s.1}
spec: {network: n.1_x-y, selector: {"<b>tier": "a<b & \\"c\\" \\\\ d>"}, ports: [{port: 80}]}
"""


def write(tmp_path: Path, text: str, name: str = "m.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def with_hosts(text: str) -> str:
    """SERVICES on two Hosts: web1 on h1, the others on h2."""
    hosts = "".join(f"apiVersion: netreconcile/v1\nkind: Host\nmetadata: {{name: {h}}}\nspec: {{underlay: {{address: {a}}}}}\n---\n"
                    for h, a in (("h1", "10.10.0.1"), ("h2", "10.10.0.2")))
    return hosts + text.replace("spec:\n  interfaces", "spec:\n  host: h1\n  interfaces").replace(
        "spec: {interfaces", "spec: {host: h2, interfaces")


def hostile(tmp_path: Path) -> Manifests:
    """ODD, plus a label value with a control character (which validation refuses)."""
    m = load_manifests([str(write(tmp_path, ODD))])
    (ep,) = m.endpoints
    return replace(m, endpoints=(replace(ep, labels=(*ep.labels, ("bell", "ring\x07"))),))


# --- the model from the manifests -----------------------------------------------------------------


def test_bridge_networks_and_endpoints_with_their_allocated_addresses() -> None:
    m = load_manifests([str(REPO / "manifests")])
    t = graph.planned(m, None)
    nodes = by_id(t)
    assert ids(t, "network") == {"net/frontend", "net/backend", "net/storage"}
    assert nodes["net/frontend"].title == "frontend"
    assert texts(nodes["net/frontend"]) == ["bridge br-frontend", "172.29.1.0/24  gw 172.29.1.1  range 172.29.1.128/25",
                                            "NAT out"]
    assert texts(nodes["net/storage"]) == ["bridge br-storage", "172.29.3.0/24  gw 172.29.3.1", "internal"]
    addresses = allocate(m)
    for ep in m.endpoints:
        node = nodes[f"ep/{ep.name}"]
        assert (node.kind, node.title) == ("endpoint", ep.name)
        for iface in ep.interfaces:
            prefix = m.network(iface.network).subnets[0].subnet.prefixlen
            assert f"{iface.name}  {addresses[(ep.name, iface.network, 4)]}/{prefix}" in texts(node)
            attach = edge(t, f"ep/{ep.name}", f"net/{iface.network}")
            assert (attach.kind, attach.label) == ("attach", iface.name)
    assert "eth0  172.29.1.10/24" in texts(nodes["ep/web1"])  # the static one, as declared
    assert "app=web" in texts(nodes["ep/web1"])
    assert not t.live and t.clusters == () and t.notes == ()
    assert {n.state for n in t.nodes} | {line.state for n in t.nodes for line in n.lines} == {None}
    assert {e.state for e in t.edges} == {None}, "without --live nothing is checked"


def test_published_ports_and_a_service_with_its_vip_and_backends(tmp_path: Path) -> None:
    t = planned(write(tmp_path, SERVICES))
    nodes = by_id(t)
    assert texts(nodes["net/front"])[-1] == "NAT out  icc off"
    unmasked = planned(write(tmp_path, SERVICES.replace("icc: false", "icc: false, masquerade: false"), "b.yaml"))
    assert texts(by_id(unmasked)["net/front"])[-1] == "no masquerade  icc off"
    assert texts(nodes["net/back"])[-1] == "internal"
    ports = {n.title: n.id for n in t.nodes if n.kind == "port"}
    assert set(ports) == {"0.0.0.0:8080/tcp", "127.0.0.1:5353/udp", "0.0.0.0:8081/tcp"}
    assert edge(t, ports["0.0.0.0:8080/tcp"], "ep/web1") == Edge(ports["0.0.0.0:8080/tcp"], "ep/web1", "publish", ":80")
    assert edge(t, ports["127.0.0.1:5353/udp"], "ep/web1").label == ":53"
    assert edge(t, ports["0.0.0.0:8081/tcp"], "svc/web").label == ":8000"
    assert ports["0.0.0.0:8080/tcp"] == "port/endpoint/web1/publish-tcp-all-8080"
    web = nodes["svc/web"]
    assert (web.kind, web.title) == ("service", "service web")
    assert texts(web) == ["VIP 172.20.0.250", "selector app=web", "80/tcp -> :8000"]
    assert heads(t, "svc/web", "backend") == ["ep/web1", "ep/web2"]  # not `other`: the selector does not match it
    assert {e.label for e in t.edges if e.tail == "svc/web" and e.kind == "backend"} == {":8000"}
    assert edge(t, "svc/web", "net/front").kind == "vip"
    assert edge(t, "ep/web1", "net/back").label == "data"


def test_hosts_are_clusters_and_an_overlay_used_by_several_is_drawn_once_outside_them() -> None:
    t = planned(PLANS / "overlay-endpoint-moved" / "manifests.yaml")
    assert t.clusters == (("node-a", "Host node-a  underlay 10.10.0.11"), ("node-b", "Host node-b  underlay 10.10.0.12"),
                          ("node-c", "Host node-c  underlay 10.10.0.13"))
    appnet = by_id(t)["net/appnet"]
    assert appnet.host is None
    assert texts(appnet) == [f"overlay  VNI {derived_vni('appnet')}", "bridge ov-412638a1fdc8",
                             "vxlan vx-412638a1fdc8  udp 4789", "10.200.0.0/24  gw 10.200.0.1", "internal  mtu 1400",
                             "VTEP node-a 10.10.0.11", "VTEP node-c 10.10.0.13"]
    assert (by_id(t)["ep/api1"].host, by_id(t)["ep/api2"].host) == ("node-a", "node-c")
    assert edge(t, "ep/api1", "net/appnet") and edge(t, "ep/api2", "net/appnet")


def test_host_draws_only_what_that_host_builds() -> None:
    case = PLANS / "overlay-endpoint-moved"
    t = planned(case / "manifests.yaml", host="node-a")
    assert [name for name, _ in t.clusters] == ["node-a"]
    assert set(by_id(t)) == {"net/node-a/appnet", "ep/api1"}
    assert {n.host for n in t.nodes} == {"node-a"}
    assert "VTEP node-c 10.10.0.13" in texts(by_id(t)["net/node-a/appnet"])  # where the others are, still said
    assert planned(case / "manifests.yaml", host="node-b").nodes == ()  # node-b has nothing to build


def test_host_per_host_bridges_and_services_balance_their_own_backends(tmp_path: Path) -> None:
    path = write(tmp_path, with_hosts(SERVICES))
    t = planned(path)
    assert ids(t, "network") == {"net/h1/front", "net/h1/back", "net/h2/front"}
    assert heads(t, "svc/h1/web", "backend") == ["ep/web1"]
    assert heads(t, "svc/h2/web", "backend") == ["ep/web2"]
    assert by_id(t)["ep/other"].host == "h2" and by_id(t)["svc/h1/web"].host == "h1"
    assert set(by_id(planned(path, host="h2"))) == {
        "net/h2/front", "ep/web2", "ep/other", "svc/h2/web", "port/h2/service/web/publish-tcp-all-8081"}


def test_macvlan_with_host_access_and_ipvlan_l3() -> None:
    m = load_manifests([str(PLANS / "macvlan-host-access" / "manifests.yaml")])
    t = graph.planned(m, None)
    shim = allocate(m)[("@host", "lan60", 4)]
    assert texts(by_id(t)["net/lan60"]) == ["macvlan bridge on eth1", f"host shim {shim_ifname('lan60')} {shim}",
                                            "192.168.60.0/24  gw 192.168.60.1"]
    assert edge(t, "ep/b", "net/lan60").label == "foobar"
    assert texts(by_id(t)["ep/a"]) == ["eth0  192.168.60.21/24"]
    ipvlan = by_id(planned(PLANS / "ipvlan-mode-change" / "manifests.yaml"))["net/lan"]
    assert texts(ipvlan) == ["ipvlan l3 on eth0", "192.168.70.0/24"]


def test_odd_names_and_label_values_are_kept_as_they_are_in_the_model(tmp_path: Path) -> None:
    t = graph.planned(hostile(tmp_path), None)
    ep = by_id(t)["ep/e.1"]
    assert texts(ep) == ['netns we<b>&"x" y', '<b>tier=a<b & "c" \\ d>  bell=ring\x07', "eth0  172.20.0.10/24"]
    assert texts(by_id(t)["svc/s.1"])[1] == 'selector <b>tier=a<b & "c" \\ d>'
    assert ids(t, "network") == {"net/n.1_x-y"}


def test_an_undeclared_host_is_refused() -> None:
    result = cli(str(PLANS / "overlay-endpoint-moved" / "manifests.yaml"), "--host", "node-z", "-o", "dot")
    assert result.returncode == 1 and b"--host node-z: no such Host" in result.stderr
    with pytest.raises(NetreconcileError, match="declare no Host"):
        graph.planned(load_manifests([str(REPO / "manifests")]), "node-a")


def test_without_live_the_kernel_is_never_opened(monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    def refuse(*args: object, **kwargs: object) -> NoReturn:
        raise AssertionError("the kernel was read")

    monkeypatch.setattr("reconciler.kernel.session.Kernel.__init__", refuse)
    monkeypatch.setattr(engine, "observe_for", refuse)
    args = type("Args", (), {"paths": [str(REPO / "manifests")], "host": None, "output": "dot", "live": False})()
    assert graph.run(args) == 0
    assert "ep/web1" in capsys.readouterr().out
    args.live = True
    with pytest.raises(AssertionError, match="the kernel was read"):  # the guard above does catch a read
        graph.run(args)


# --- the --live model, from observed kernel state written as fixtures ------------------------------


def live(case: Path, observed: Observed | None = None, only: str | None = None) -> Topology:
    """What `graph --live [--host only]` draws when the kernel holds `observed` (default: the case's
    current.yaml) on the case's Host (its `host` file)."""
    m = load_manifests([str(case / "manifests.yaml")])
    here = (case / "host").read_text().strip() if (case / "host").exists() else None
    m = replace(m, host=here)
    observed = observed or load_observed(case / "current.yaml")
    rows, _ = engine.status_of(m, observed)
    ledger = graph.Ledger(graph.checks_of(m, rows, observed))
    return graph.topology(m, context_for(m, observed).addresses, only, here, ledger)


def test_live_converged_is_all_in_sync() -> None:
    t = live(PLANS / "converged")
    assert t.live
    assert states(t) == {"net/front": State.IN_SYNC, "ep/a": State.IN_SYNC, "ep/b": State.IN_SYNC}
    assert {line.state for n in t.nodes for line in n.lines} == {State.IN_SYNC}
    assert {e.state for e in t.edges} == {State.IN_SYNC}
    assert t.notes == ()


def test_live_shows_the_addresses_the_kernel_holds() -> None:
    case = PLANS / "converged"
    observed = load_observed(case / "current.yaml")
    held = next(o for o in observed.objects.values() if isinstance(o, Address) and o.ns == "b")
    moved = replace(held, address="172.20.0.77/24")
    objects = {k: v for k, v in observed.objects.items() if v is not held} | {moved.key: moved}
    t = live(case, replace(observed, objects=objects))
    # sticky: the kernel's address, not a fresh allocation (the veth's MAC, derived from it, differs)
    assert by_id(t)["ep/b"].lines == (Line("eth0  172.20.0.77/24", State.DRIFTED, "veth drifted"),)
    assert edge(t, "ep/b", "net/front").state is State.DRIFTED
    assert str(ip_interface(held.address)) != "172.20.0.77/24"
    assert f"eth0  {held.address}" in texts(by_id(planned(case / "manifests.yaml"))["ep/b"])


def test_live_a_drifted_bridge_colours_its_network_and_names_the_change() -> None:
    front = by_id(live(PLANS / "bridge-mtu-drift"))["net/front"]
    assert front.state is State.DRIFTED
    assert Line("bridge br-front", State.DRIFTED, "bridge drifted") in front.lines
    assert "mtu: 9000 -> 1500" in front.detail


def test_live_a_removed_endpoint_is_an_extra_node() -> None:
    t = live(PLANS / "endpoint-removed")
    extra = by_id(t)["extra/endpoint/b"]
    assert (extra.kind, extra.title, extra.state) == ("extra", "endpoint/b", State.EXTRA)
    assert "netns b" in texts(extra)
    assert "ep/b" not in by_id(t) and by_id(t)["net/front"].state is State.IN_SYNC


def test_live_on_one_host_leaves_the_others_unchecked() -> None:
    case = PLANS / "overlay-endpoint-moved"
    t = live(case)  # on node-a (the case's host file)
    nodes = by_id(t)
    assert nodes["ep/api1"].state is State.DRIFTED  # its hosts file was never written in this fixture
    assert nodes["ep/api1"].detail == "missing: hosts /etc/netns/api1/hosts\nmissing: resolvconf /etc/netns/api1/resolv.conf"
    assert nodes["ep/api2"].state is None  # lives on node-c: not this kernel
    assert {line.state for line in nodes["ep/api2"].lines} == {None}
    assert nodes["net/appnet"].state is State.DRIFTED  # node-a still floods to node-b, api2's entry points there
    only = live(case, only="node-a")
    assert set(by_id(only)) == {"net/node-a/appnet", "ep/api1"}
    assert None not in states(only).values()


def by_hand(case: Path) -> Observed:
    """The case's kernel with a rule added by hand to our table (no comment) and IPv4 forwarding off."""
    observed = load_observed(case / "current.yaml")
    table = next(o for o in observed.objects.values() if isinstance(o, NftTable))
    added = NftTable.of(table.chains, (*table.rules, NftRule("filter-FORWARD", "", '[{"accept":null}]')))
    forwarding = Sysctl(None, "net.ipv4.ip_forward", "0")
    return replace(observed, objects=observed.objects | {table.key: added, forwarding.key: forwarding})


def test_live_what_no_object_shows_is_in_the_notes() -> None:
    t = live(PLANS / "converged", by_hand(PLANS / "converged"))
    assert set(states(t).values()) == {State.IN_SYNC}  # none of the objects drawn
    assert t.notes == ("drifted: sysctl net.ipv4.ip_forward=1 (host) (value: 0 -> 1)", "extra: rule (no comment)")


# --- end to end: the DOT, read back by Graphviz, and the pictures ---------------------------------


@pytest.mark.parametrize("drawn", [
    lambda tmp: planned(REPO / "manifests"),
    lambda tmp: planned(write(tmp, SERVICES)),
    lambda tmp: planned(write(tmp, with_hosts(SERVICES))),
    lambda tmp: planned(PLANS / "overlay-endpoint-moved" / "manifests.yaml", host="node-a"),
    lambda tmp: planned(PLANS / "macvlan-host-access" / "manifests.yaml"),
    lambda tmp: planned(write(tmp, ODD)),
    lambda tmp: live(PLANS / "overlay-endpoint-moved"),
    lambda tmp: live(PLANS / "overlay-endpoint-moved", only="node-a"),
    lambda tmp: live(PLANS / "endpoint-removed"),
    lambda tmp: live(PLANS / "bridge-mtu-drift"),
    lambda tmp: live(PLANS / "converged", by_hand(PLANS / "converged")),
], ids=["manifests", "services", "two-hosts", "one-host", "macvlan", "odd-names", "live-one-kernel-of-three",
        "live-host", "live-extra", "live-drifted", "live-notes"])
def test_the_dot_says_what_the_model_says(drawn: Callable[[Path], Topology], tmp_path: Path) -> None:
    assert_dot_says(drawn(tmp_path))


def test_the_dot_colours_states_dashes_leftovers_and_draws_nothing_coloured_without_live() -> None:
    g = read_back(graph.to_dot(live(PLANS / "endpoint-removed")))
    assert g.nodes["extra/endpoint/b"].attrs["style"] == "filled,dashed"
    assert (g.nodes["extra/endpoint/b"].attrs["fillcolor"], g.nodes["net/front"].attrs["fillcolor"]) == ("#eeeeee",
                                                                                                        "#c8e6c9")
    drifted = read_back(graph.to_dot(live(PLANS / "bridge-mtu-drift"))).nodes["net/front"]
    assert drifted.attrs["fillcolor"] == "#ffe0b2" and "bridge br-front  (bridge drifted)" in drifted.cells
    plain = read_back(graph.to_dot(planned(PLANS / "bridge-mtu-drift" / "manifests.yaml")))
    assert {n.attrs["fillcolor"] for n in plain.nodes.values()} == {"#ffffff"}


def test_hostile_names_and_label_values_stay_text_in_the_dot_and_the_picture(tmp_path: Path) -> None:
    dot = graph.to_dot(graph.planned(hostile(tmp_path), None))
    assert "<b>tier" not in dot and "\x07" not in dot
    g = read_back(dot)  # every label parses as the table it should be: nothing in it was taken as markup
    assert g.nodes["ep/e.1"].cells == ["e.1", 'netns we<b>&"x" y', '<b>tier=a<b & "c" \\ d>  bell=ring\\x07',
                                       "eth0  172.20.0.10/24"]
    assert g.nodes["svc/s.1"].cells[2] == 'selector <b>tier=a<b & "c" \\ d>'
    texts = svg_texts(graph.render(dot, "svg"))
    assert 'netns we<b>&"x" y' in texts and "n.1_x-y" in texts and "service s.1" in texts


def test_text_and_plain_escape_what_graphviz_would_read_as_markup_or_escapes() -> None:
    assert graph.text('<b>&"x"\x07') == "&lt;b&gt;&amp;&quot;x&quot;\\x07"
    assert graph.plain("a\\nb\nc\x07<i>") == "a\\\\nb\\nc?<i>"
    assert graph.plain("one\ntwo\n", "\\l") == "one\\ltwo\\l"
    assert Read({"tooltip": graph.plain("a\\nb\nc")}).text("tooltip") == "a\\nb\nc"


def test_svg_is_valid_xml_with_every_name_and_states_as_classes_and_png_has_the_magic() -> None:
    svg = cli(str(REPO / "manifests"))
    assert svg.returncode == 0, svg.stderr
    assert {"frontend", "backend", "storage", "web1", "web2", "api", "db", "eth0 172.29.1.10/24"} <= set(svg_texts(svg.stdout))
    classes = svg_classes(svg.stdout)
    assert classes["net/frontend"] == "node network" and classes["ep/web1->net/frontend"] == "edge attach"
    drifted = svg_classes(graph.render(graph.to_dot(live(PLANS / "bridge-mtu-drift")), "svg"))
    assert drifted["net/front"] == "node network drifted" and drifted["ep/a->net/front"] == "edge attach in-sync"
    png = cli(str(REPO / "manifests"), "-o", "png")
    assert png.returncode == 0 and png.stdout.startswith(b"\x89PNG\r\n\x1a\n"), png.stderr
    dot = cli(str(REPO / "manifests"), "-o", "dot")
    assert dot.stdout.decode() == graph.to_dot(planned(REPO / "manifests"))


def test_without_dot_svg_fails_naming_the_debian_package_and_dot_source_still_works(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(tmp_path)}  # no `dot` there
    result = cli(str(REPO / "manifests"), "-o", "svg", env=env)
    assert result.returncode == 1 and result.stdout == b""
    assert "install the Debian package graphviz" in result.stderr.decode()
    assert b"Traceback" not in result.stderr
    assert cli(str(REPO / "manifests"), "-o", "dot", env=env).returncode == 0
