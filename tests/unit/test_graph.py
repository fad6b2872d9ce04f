"""`netreconcile graph`: the DOT drawn from manifests (every node kind with its labels, --host, escaping),
svg and png through Graphviz, and the --live colouring from an observed kernel given as a fixture."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace
from ipaddress import ip_interface
from pathlib import Path

import pytest

from reconciler import engine, graph
from reconciler.errors import NetreconcileError
from reconciler.ipam import allocate
from reconciler.model import Address, NftRule, NftTable, Sysctl
from reconciler.planners import context_for
from reconciler.spec import derived_vni, shim_ifname
from reconciler.validate import load_manifests

from unit.helpers import FIXTURES
from unit.observed_yaml import load_observed

REPO = FIXTURES.parent.parent
PLANS = FIXTURES / "plans"

# --- reading the DOT back ------------------------------------------------------------------------

ID = r'"(?:[^"\\]|\\.)*"|[^\s\[\]"]+'
NODE = re.compile(rf"^\t+({ID}) \[(.*)\]$")
EDGE = re.compile(rf"^\t+({ID}) -> ({ID}) \[(.*)\]$")


@dataclass
class Drawn:
    id: str
    cluster: str | None
    attrs: str

    @property
    def lines(self) -> list[str]:
        """The label's text lines (HTML-like label: one table cell per line), unescaped."""
        cells = re.findall(r"<TD[^>]*>(.*?)</TD>", self.attrs)
        return [html.unescape(re.sub(r"</?B>", "", c)) for c in cells]

    @property
    def classes(self) -> list[str]:
        found = re.search(r'class=("[^"]*"|\S+)', self.attrs)
        return found.group(1).strip('"').split() if found else []

    @property
    def state(self) -> str:
        return self.classes[-1]

    def attr(self, name: str) -> str:
        found = re.search(rf'\b{name}=("(?:[^"\\]|\\.)*"|\S+)', self.attrs)
        return found.group(1).strip('"') if found else ""


@dataclass
class Parsed:
    nodes: dict[str, Drawn]
    edges: list[tuple[str, str, Drawn]]
    source: str

    def edge(self, tail: str, head: str) -> Drawn:
        found = [d for t, h, d in self.edges if (t, h) == (tail, head)]
        assert len(found) == 1, (tail, head, [(t, h) for t, h, _ in self.edges])
        return found[0]

    def of_kind(self, kind: str) -> dict[str, Drawn]:
        return {i: n for i, n in self.nodes.items() if kind in n.classes}


def unquote(identifier: str) -> str:
    return identifier[1:-1].replace('\\"', '"') if identifier.startswith('"') else identifier


def parse(dot: str) -> Parsed:
    nodes, edges, cluster = {}, [], None
    for line in dot.splitlines():
        start = re.match(rf"^\tsubgraph ({ID}) {{$", line)
        if start:
            cluster = unquote(start.group(1)).removeprefix("cluster_")
        elif line == "\t}":
            cluster = None
        elif edge := EDGE.match(line):
            edges.append((unquote(edge.group(1)), unquote(edge.group(2)), Drawn("", cluster, edge.group(3))))
        elif node := NODE.match(line):
            ident = unquote(node.group(1))
            if ident not in ("graph", "node", "edge"):
                nodes[ident] = Drawn(ident, cluster, node.group(2))
    return Parsed(nodes, edges, dot)


def drawn(*paths: Path | str, host: str | None = None) -> Parsed:
    m = load_manifests([str(p) for p in paths])
    return parse(graph.to_dot(graph.planned(m, host)))


def svg_texts(svg: bytes) -> list[str]:
    """Every text of the picture, runs of spaces as one (Graphviz writes no-break spaces)."""
    return [" ".join("".join(t.itertext()).split()) for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")]


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reconciler", "graph", *args], capture_output=True, cwd=REPO,
                          env=env, timeout=60)


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


# --- the picture from the manifests --------------------------------------------------------------


def test_bridge_networks_and_endpoints_with_their_allocated_addresses():
    m = load_manifests([str(REPO / "manifests")])
    g = drawn(REPO / "manifests")
    assert set(g.of_kind("network")) == {"net/frontend", "net/backend", "net/storage"}
    assert g.nodes["net/frontend"].lines == ["frontend", "bridge br-frontend",
                                             "172.29.1.0/24  gw 172.29.1.1  range 172.29.1.128/25", "NAT out"]
    assert g.nodes["net/storage"].lines == ["storage", "bridge br-storage", "172.29.3.0/24  gw 172.29.3.1", "internal"]
    addresses = allocate(m)
    for ep in m.endpoints:
        node = g.nodes[f"ep/{ep.name}"]
        for iface in ep.interfaces:
            prefix = m.network(iface.network).subnets[0].subnet.prefixlen
            assert f"{iface.name}  {addresses[(ep.name, iface.network, 4)]}/{prefix}" in node.lines
            assert g.edge(f"ep/{ep.name}", f"net/{iface.network}").attr("label") == iface.name
    assert "eth0  172.29.1.10/24" in g.nodes["ep/web1"].lines  # the static one, as declared
    assert "app=web" in g.nodes["ep/web1"].lines
    assert not g.edges[0][2].classes[1:], "without --live nothing is coloured"
    assert "legend" not in g.nodes and "cluster" not in g.source


def test_published_ports_and_a_service_with_its_vip_and_backends(tmp_path):
    g = drawn(write(tmp_path, SERVICES))
    assert g.nodes["net/front"].lines[-1] == "NAT out  icc off"
    assert g.nodes["net/back"].lines[-1] == "internal"
    ports = {n.lines[0]: i for i, n in g.of_kind("port").items()}
    assert set(ports) == {"0.0.0.0:8080/tcp", "127.0.0.1:5353/udp", "0.0.0.0:8081/tcp"}
    assert g.edge(ports["0.0.0.0:8080/tcp"], "ep/web1").attr("label") == ":80"
    assert g.edge(ports["127.0.0.1:5353/udp"], "ep/web1").attr("label") == ":53"
    assert g.edge(ports["0.0.0.0:8081/tcp"], "svc/web").attr("label") == ":8000"
    assert g.nodes["svc/web"].lines == ["service web", "VIP 172.20.0.250", "selector app=web", "80/tcp -> :8000"]
    backends = sorted(h for t, h, d in g.edges if t == "svc/web" and "backend" in d.classes)
    assert backends == ["ep/web1", "ep/web2"]  # not `other`: the selector does not match it
    assert "vip" in g.edge("svc/web", "net/front").classes
    assert g.edge("ep/web1", "net/back").attr("label") == "data"


def test_hosts_are_clusters_and_an_overlay_used_by_several_is_drawn_once_outside_them():
    case = PLANS / "overlay-endpoint-moved"
    g = drawn(case / "manifests.yaml")
    assert re.findall(r'subgraph "?cluster_([\w-]+)', g.source) == ["node-a", "node-b", "node-c"]
    assert 'label="Host node-a  underlay 10.10.0.11"' in g.source
    appnet = g.nodes["net/appnet"]
    assert appnet.cluster is None
    assert appnet.lines == ["appnet", f"overlay  VNI {derived_vni('appnet')}", "bridge ov-412638a1fdc8",
                            "vxlan vx-412638a1fdc8  udp 4789", "10.200.0.0/24  gw 10.200.0.1", "internal  mtu 1400",
                            "VTEP node-a 10.10.0.11", "VTEP node-c 10.10.0.13"]
    assert (g.nodes["ep/api1"].cluster, g.nodes["ep/api2"].cluster) == ("node-a", "node-c")
    assert g.edge("ep/api1", "net/appnet") and g.edge("ep/api2", "net/appnet")


def test_host_draws_only_what_that_host_builds():
    case = PLANS / "overlay-endpoint-moved"
    g = drawn(case / "manifests.yaml", host="node-a")
    assert re.findall(r'subgraph "?cluster_([\w-]+)', g.source) == ["node-a"]
    assert set(g.nodes) == {"net/node-a/appnet", "ep/api1"}
    assert all(n.cluster == "node-a" for n in g.nodes.values())
    assert "VTEP node-c 10.10.0.13" in g.nodes["net/node-a/appnet"].lines  # where the others are, still said
    assert drawn(case / "manifests.yaml", host="node-b").nodes == {}  # node-b has nothing to build


def test_host_per_host_bridges_and_services_balance_their_own_backends(tmp_path):
    hosts = "".join(f"apiVersion: netreconcile/v1\nkind: Host\nmetadata: {{name: {h}}}\nspec: {{underlay: {{address: {a}}}}}\n---\n"
                    for h, a in (("h1", "10.10.0.1"), ("h2", "10.10.0.2")))
    text = hosts + SERVICES.replace("spec:\n  interfaces", "spec:\n  host: h1\n  interfaces").replace(
        "spec: {interfaces", "spec: {host: h2, interfaces")
    g = drawn(write(tmp_path, text))
    assert {i for i in g.of_kind("network")} == {"net/h1/front", "net/h1/back", "net/h2/front"}
    assert sorted(h for t, h, d in g.edges if t == "svc/h1/web" and "backend" in d.classes) == ["ep/web1"]
    assert sorted(h for t, h, d in g.edges if t == "svc/h2/web" and "backend" in d.classes) == ["ep/web2"]
    assert g.nodes["ep/other"].cluster == "h2" and g.nodes["svc/h1/web"].cluster == "h1"
    assert set(drawn(write(tmp_path, text), host="h2").nodes) == {
        "net/h2/front", "ep/web2", "ep/other", "svc/h2/web", "port/h2/service/web/publish-tcp-all-8081"}


def test_macvlan_with_host_access_and_ipvlan_l3():
    m = load_manifests([str(PLANS / "macvlan-host-access" / "manifests.yaml")])
    g = drawn(PLANS / "macvlan-host-access" / "manifests.yaml")
    shim = allocate(m)[("@host", "lan60", 4)]
    assert g.nodes["net/lan60"].lines == ["lan60", "macvlan bridge on eth1", f"host shim {shim_ifname('lan60')} {shim}",
                                          "192.168.60.0/24  gw 192.168.60.1"]
    assert g.edge("ep/b", "net/lan60").attr("label") == "foobar"
    assert g.nodes["ep/a"].lines == ["a", "eth0  192.168.60.21/24"]
    ipvlan = drawn(PLANS / "ipvlan-mode-change" / "manifests.yaml").nodes["net/lan"]
    assert ipvlan.lines == ["lan", "ipvlan l3 on eth0", "192.168.70.0/24"]


def test_odd_names_and_label_values_are_escaped(tmp_path):
    m = load_manifests([str(write(tmp_path, ODD))])
    (ep,) = m.endpoints  # a control character, which validation refuses, is escaped all the same
    m = replace(m, endpoints=(replace(ep, labels=(*ep.labels, ("bell", "ring\x07"))),))
    g = parse(graph.to_dot(graph.planned(m, None)))
    ep = g.nodes["ep/e.1"]
    assert ep.lines == ["e.1", 'netns we<b>&"x" y', '<b>tier=a<b & "c" \\ d>  bell=ring\\x07', "eth0  172.20.0.10/24"]
    assert "<b>tier" not in g.source and "\x07" not in g.source
    assert g.nodes["svc/s.1"].lines[2] == 'selector <b>tier=a<b & "c" \\ d>'
    svg = graph.render(g.source, "svg")
    texts = svg_texts(svg)
    assert 'netns we<b>&"x" y' in texts and "n.1_x-y" in texts and "service s.1" in texts


def test_svg_is_valid_xml_with_every_name_and_png_has_the_magic():
    svg = cli(str(REPO / "manifests"))
    assert svg.returncode == 0, svg.stderr
    root = ET.fromstring(svg.stdout)
    assert {"frontend", "backend", "storage", "web1", "web2", "api", "db", "eth0 172.29.1.10/24"} <= set(svg_texts(svg.stdout))
    classes = {g.get("class") for g in root.iter("{http://www.w3.org/2000/svg}g")}
    assert {"node network", "node endpoint", "edge attach"} <= classes
    png = cli(str(REPO / "manifests"), "-o", "png")
    assert png.returncode == 0 and png.stdout.startswith(b"\x89PNG\r\n\x1a\n"), png.stderr
    dot = cli(str(REPO / "manifests"), "-o", "dot")
    assert dot.stdout.decode() == graph.to_dot(graph.planned(load_manifests([str(REPO / "manifests")]), None))


def test_without_dot_svg_fails_naming_the_debian_package_and_dot_source_still_works(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path)}  # no `dot` there
    result = cli(str(REPO / "manifests"), "-o", "svg", env=env)
    assert result.returncode == 1 and result.stdout == b""
    assert "install the Debian package graphviz" in result.stderr.decode()
    assert b"Traceback" not in result.stderr
    assert cli(str(REPO / "manifests"), "-o", "dot", env=env).returncode == 0


def test_an_undeclared_host_is_refused():
    result = cli(str(PLANS / "overlay-endpoint-moved" / "manifests.yaml"), "--host", "node-z", "-o", "dot")
    assert result.returncode == 1 and b"--host node-z: no such Host" in result.stderr
    with pytest.raises(NetreconcileError, match="declare no Host"):
        graph.planned(load_manifests([str(REPO / "manifests")]), "node-a")


def test_without_live_the_kernel_is_never_opened(monkeypatch, capsys):
    def refuse(*args, **kwargs):
        raise AssertionError("the kernel was read")

    monkeypatch.setattr("reconciler.kernel.Kernel.__init__", refuse)
    monkeypatch.setattr(engine, "observe_for", refuse)
    args = type("Args", (), {"paths": [str(REPO / "manifests")], "host": None, "output": "dot", "live": False})()
    assert graph.run(args) == 0
    assert "ep/web1" in capsys.readouterr().out
    args.live = True
    with pytest.raises(AssertionError, match="the kernel was read"):  # the guard above does catch a read
        graph.run(args)


# --- the --live colouring, from observed kernel state written as fixtures -------------------------


def live(case: Path, observed=None, only: str | None = None) -> Parsed:
    """What `graph --live [--host only]` draws when the kernel holds `observed` (default: the case's
    current.yaml) on the case's Host (its `host` file)."""
    m = load_manifests([str(case / "manifests.yaml")])
    here = (case / "host").read_text().strip() if (case / "host").exists() else None
    m = replace(m, host=here)
    observed = observed or load_observed(case / "current.yaml")
    rows, _ = engine.status_of(m, observed)
    ledger = graph.Ledger(graph.checks_of(m, rows, observed))
    return parse(graph.to_dot(graph.topology(m, context_for(m, observed).addresses, only, here, ledger)))


def test_live_converged_is_all_in_sync_with_a_legend():
    g = live(PLANS / "converged")
    assert {i: n.state for i, n in g.nodes.items() if i != "legend"} == {
        "net/front": "in-sync", "ep/a": "in-sync", "ep/b": "in-sync"}
    assert all(d.state == "in-sync" for _, _, d in g.edges)
    legend = g.nodes["legend"].lines
    assert legend[:5] == ["state", "in sync", "drifted: differs from the manifests", "missing from the kernel",
                          "extra: ours, not in these manifests"]
    assert "not checked (another host)" not in legend  # nothing here is on another host


def test_live_shows_the_addresses_the_kernel_holds():
    case = PLANS / "converged"
    observed = load_observed(case / "current.yaml")
    held = next(o for o in observed.objects.values() if isinstance(o, Address) and o.ns == "b")
    moved = replace(held, address="172.20.0.77/24")
    objects = {k: v for k, v in observed.objects.items() if v is not held} | {moved.key: moved}
    g = live(case, replace(observed, objects=objects))
    # sticky: the kernel's address, not a fresh allocation (the veth's MAC, derived from it, differs)
    assert g.nodes["ep/b"].lines[1] == "eth0  172.20.0.77/24  (veth drifted)"
    assert str(ip_interface(held.address)) != "172.20.0.77/24"
    assert f"eth0  {held.address}" in drawn(case / "manifests.yaml").nodes["ep/b"].lines


def test_live_a_drifted_bridge_colours_its_network_and_names_the_change():
    g = live(PLANS / "bridge-mtu-drift")
    assert g.nodes["net/front"].state == "drifted"
    assert "bridge br-front  (bridge drifted)" in g.nodes["net/front"].lines
    assert "mtu: 9000 -> 1500" in g.nodes["net/front"].attr("tooltip")


def test_live_a_removed_endpoint_is_an_extra_grey_node():
    g = live(PLANS / "endpoint-removed")
    extra = g.nodes["extra/endpoint/b"]
    assert extra.classes == ["extra", "extra"]
    assert "netns b" in extra.lines and "style=\"filled,dashed\"" in extra.attrs
    assert "ep/b" not in g.nodes and g.nodes["net/front"].state == "in-sync"


def test_live_on_one_host_leaves_the_others_unchecked():
    case = PLANS / "overlay-endpoint-moved"
    g = live(case)  # on node-a (the case's host file)
    assert g.nodes["ep/api1"].state == "drifted"  # its hosts file was never written in this fixture
    assert g.nodes["ep/api1"].attr("tooltip") == "missing: hosts /etc/netns/api1/hosts"
    assert g.nodes["ep/api2"].state == "unchecked"  # lives on node-c: not this kernel
    assert g.nodes["net/appnet"].state == "drifted"  # node-a still floods to node-b, api2's entry points there
    assert "not checked (another host)" in g.nodes["legend"].lines
    only = live(case, only="node-a")
    assert set(only.nodes) == {"net/node-a/appnet", "ep/api1", "legend"}
    assert "not checked (another host)" not in only.nodes["legend"].lines


def test_live_what_no_object_shows_is_written_under_the_picture():
    case = PLANS / "converged"
    observed = load_observed(case / "current.yaml")
    table = next(o for o in observed.objects.values() if isinstance(o, NftTable))
    by_hand = NftTable.of(table.chains, (*table.rules, NftRule("filter-FORWARD", "", '[{"accept":null}]')))
    forwarding = Sysctl(None, "net.ipv4.ip_forward", "0")
    g = live(case, replace(observed, objects=observed.objects | {table.key: by_hand, forwarding.key: forwarding}))
    assert {n.state for i, n in g.nodes.items() if i != "legend"} == {"in-sync"}  # none of the objects drawn
    graph_label = next(line for line in g.source.splitlines() if line.startswith("\t") and "[" not in line)
    notes = re.search(r'\blabel="(.*?)"', graph_label).group(1).split("\\l")
    assert notes == ["drifted: sysctl net.ipv4.ip_forward=1 (host) (value: 0 -> 1)", "extra: rule (no comment)", ""]
