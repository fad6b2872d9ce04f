"""`graph --live` on a real kernel: after an apply everything is in sync; then each thing broken by hand
(an endpoint's address, a bridge, the whole nftables ruleset) turns exactly its objects drifted or
missing, and nothing else. Without --live, graph reads no kernel: it runs as nobody and changes nothing."""

from __future__ import annotations

import shlex
import sys
import xml.etree.ElementTree as ET

from builders import assert_unchanged, endpoint, iface, network, snapshot, write

from unit.test_graph import Parsed, parse, svg_texts

WEB1 = endpoint("web1", iface("front", "172.20.0.11"))
WEB1["metadata"]["labels"] = {"app": "web"}
WEB1["spec"]["ports"] = [{"hostPort": 8080, "containerPort": 80}]
WEB2 = endpoint("web2", iface("front", "172.20.0.12"))
WEB2["metadata"]["labels"] = {"app": "web"}
DB = endpoint("db", iface("back", "172.21.0.10"))
SERVICE = {"apiVersion": "netreconcile/v1", "kind": "Service", "metadata": {"name": "web"},
           "spec": {"network": "front", "vip": "172.20.0.250", "selector": {"app": "web"},
                    "ports": [{"port": 80, "targetPort": 8000, "hostPort": 8081}]}}
DOCS = (network("front", "172.20.0.0/24"), network("back", "172.21.0.0/24"), WEB1, WEB2, DB, SERVICE)
PORT_8080, PORT_8081 = "port/endpoint/web1/publish-tcp-all-8080", "port/service/web/publish-tcp-all-8081"
IN_SYNC = {"net/front": "in-sync", "net/back": "in-sync", "ep/web1": "in-sync", "ep/web2": "in-sync",
           "ep/db": "in-sync", "svc/web": "in-sync", PORT_8080: "in-sync", PORT_8081: "in-sync"}


def live(sandbox, path, *args: str) -> Parsed:
    """`graph PATH --live -o dot ARGS` in the sandbox, read back."""
    return parse(sandbox.nr("graph", str(path), "--live", "-o", "dot", *args).stdout)


def states(g: Parsed) -> dict[str, str]:
    return {i: n.state for i, n in g.nodes.items() if i != "legend"}


def edge_states(g: Parsed) -> dict[tuple[str, str], str]:
    return {(t, h): d.state for t, h, d in g.edges}


def test_live_colours_exactly_what_was_broken(sandbox):
    path = write(sandbox, *DOCS)
    sandbox.apply(path)
    g = live(sandbox, path)
    assert states(g) == IN_SYNC
    assert set(edge_states(g).values()) == {"in-sync"}
    converged_edges = edge_states(g)

    sandbox.sh("ip -n web1 addr del 172.20.0.11/24 dev eth0")  # the route via the gateway goes with it
    g = live(sandbox, path)
    assert states(g) == IN_SYNC | {"ep/web1": "drifted"}
    assert "eth0  172.20.0.11/24  (address 172.20.0.11/24 missing, route 0.0.0.0/0 missing)" in g.nodes["ep/web1"].lines
    assert edge_states(g) == converged_edges | {("ep/web1", "net/front"): "drifted"}

    sandbox.sh("ip link del br-back")
    g = live(sandbox, path)
    assert states(g) == IN_SYNC | {"ep/web1": "drifted", "net/back": "missing", "ep/db": "drifted"}
    back = g.nodes["net/back"].lines
    assert "bridge br-back  (bridge missing)" in back and "172.21.0.0/24  gw 172.21.0.1  (address 172.21.0.1/24 missing)" in back
    assert "eth0  172.21.0.10/24  (veth drifted)" in g.nodes["ep/db"].lines  # its port lost its master

    sandbox.sh("nft flush ruleset")
    g = live(sandbox, path)
    assert states(g) == IN_SYNC | {"ep/web1": "drifted", "net/back": "missing", "ep/db": "drifted",
                                   "net/front": "drifted", "svc/web": "drifted", PORT_8080: "missing", PORT_8081: "missing"}
    assert g.nodes["net/front"].lines[-1].startswith("NAT out  (") and g.nodes["net/front"].lines[-1].endswith("rules missing)")
    assert "80/tcp -> :8000  (rule vip-tcp-80 missing)" in g.nodes["svc/web"].lines
    assert "VIP 172.20.0.250" in g.nodes["svc/web"].lines  # the VIP address itself is still there
    assert edge_states(g)[(PORT_8080, "ep/web1")] == "missing"

    sandbox.apply(path)
    g = live(sandbox, write(sandbox, *(d for d in DOCS if d is not DB)))  # db no longer declared
    assert states(g) == {k: v for k, v in IN_SYNC.items() if k != "ep/db"} | {"extra/endpoint/db": "extra"}
    assert "netns db" in g.nodes["extra/endpoint/db"].lines


def test_live_svg_carries_the_states_as_classes(sandbox):
    path = write(sandbox, *DOCS)
    sandbox.apply(path)
    sandbox.sh("ip link del br-back")
    svg = sandbox.sh(" ".join(shlex.quote(a) for a in (sys.executable, "-m", "reconciler", "graph", str(path), "--live")))
    classes = [g.get("class") for g in ET.fromstring(svg.stdout.encode()).iter("{http://www.w3.org/2000/svg}g")]
    assert sorted(c for c in classes if c and c.startswith("node network")) == ["node network in-sync", "node network missing"]
    assert "bridge br-back (bridge missing)" in svg_texts(svg.stdout.encode())


MOUNT = "/mnt"  # a private tmpfs in the sandbox's mount namespace: readable by nobody, gone with it
STATE = ("ip -d link show", "ip -all -d addr show", "ip netns list", "nft list ruleset", "ls -la /run/netns /etc/netns",
         f"ls -la /run/netreconcile {MOUNT}")


def test_without_live_graph_touches_no_kernel_and_needs_no_root(sandbox):
    path = write(sandbox, *DOCS)
    sandbox.sh(f"mount -t tmpfs none {MOUNT} && cp {path} {MOUNT}/m.yaml && chmod 755 {MOUNT} && chmod 644 {MOUNT}/m.yaml")
    before = snapshot(sandbox, *STATE)
    nobody = f"setpriv --reuid=65534 --regid=65534 --clear-groups {shlex.quote(sys.executable)} -m reconciler graph {MOUNT}/m.yaml"
    svg = sandbox.sh(f"cd / && {nobody}")
    assert {"web1", "web2", "db", "front", "back", "service web", "0.0.0.0:8080/tcp"} <= set(svg_texts(svg.stdout.encode()))
    root = sandbox.nr("graph", f"{MOUNT}/m.yaml", "-o", "dot")
    assert set(parse(root.stdout).nodes) == set(IN_SYNC)  # nothing exists here, and nothing is coloured
    assert_unchanged(sandbox, before)
    refused = sandbox.sh(f"cd / && {nobody} --live -o dot", check=False)
    assert refused.returncode == 1 and "root" in refused.stderr and "Traceback" not in refused.stderr
    assert_unchanged(sandbox, before)


def test_live_with_hosts_checks_this_host_only(sandbox):
    from unit.helpers import FIXTURES

    manifests = FIXTURES / "plans" / "overlay-endpoint-moved" / "manifests.yaml"
    unknown = sandbox.nr("graph", str(manifests), "--live", "-o", "dot", check=False)
    assert unknown.returncode == 1 and "pass --host NAME" in unknown.stderr  # no underlay address here
    g = live(sandbox, manifests, "--host", "node-a")
    assert states(g) == {"net/node-a/appnet": "missing", "ep/api1": "missing"}  # nothing was applied here
    assert "missing from the kernel" in g.nodes["legend"].lines
    sandbox.sh("ip link add und0 type veth peer name und1 && ip addr add 10.10.0.13/24 dev und0")  # now node-c
    g = live(sandbox, manifests)
    assert states(g) == {"net/appnet": "missing", "ep/api1": "unchecked", "ep/api2": "missing"}
    assert g.nodes["ep/api2"].cluster == "node-c"
