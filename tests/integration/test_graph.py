"""`graph --live` on a real kernel: after an apply everything is in sync; then each thing broken by hand
(an endpoint's address, a bridge, the whole nftables ruleset) turns exactly its objects drifted or
missing, and nothing else; the CLI's DOT is the model's, byte for byte. Without --live, graph reads no
kernel: it runs as nobody and changes nothing."""

from __future__ import annotations

import base64
import pickle
import shlex
import sys

from builders import assert_unchanged, endpoint, iface, network, snapshot, write
from sandbox import Sandbox
from unit.helpers import FIXTURES
from unit.test_graph import svg_classes, svg_texts

from reconciler import graph
from reconciler.engine import State
from reconciler.graph import Line, Node, Topology
from reconciler.input.validate import load_manifests

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
IN_SYNC: dict[str, State | None] = {
    "net/front": State.IN_SYNC, "net/back": State.IN_SYNC, "ep/web1": State.IN_SYNC, "ep/web2": State.IN_SYNC,
    "ep/db": State.IN_SYNC, "svc/web": State.IN_SYNC, PORT_8080: State.IN_SYNC, PORT_8081: State.IN_SYNC}

LIVE = """import base64, pickle, sys
from reconciler import graph
from reconciler.input.validate import load_manifests
t = graph.live(load_manifests([sys.argv[1]]), sys.argv[2] or None)
print(base64.b64encode(pickle.dumps(t)).decode())"""


def live(sandbox: Sandbox, path: object, host: str | None = None) -> Topology:
    """What `graph PATH --live [--host host]` draws, as the model, from the sandbox's kernel."""
    out = sandbox.sh(" ".join(shlex.quote(a) for a in (sys.executable, "-c", LIVE, str(path), host or "")))
    topology = pickle.loads(base64.b64decode(out.stdout))
    assert isinstance(topology, Topology)
    return topology


def assert_cli_draws(sandbox: Sandbox, path: object, t: Topology) -> None:
    """`graph PATH --live -o dot` writes the model's DOT, byte for byte."""
    assert sandbox.nr("graph", str(path), "--live", "-o", "dot").stdout == graph.to_dot(t)


def by_id(t: Topology) -> dict[str, Node]:
    return {n.id: n for n in t.nodes}


def states(t: Topology) -> dict[str, State | None]:
    return {n.id: n.state for n in t.nodes}


def edge_states(t: Topology) -> dict[tuple[str, str], State | None]:
    return {(e.tail, e.head): e.state for e in t.edges}


def test_live_states_exactly_what_was_broken(sandbox: Sandbox) -> None:
    path = write(sandbox, *DOCS)
    sandbox.apply(path)
    t = live(sandbox, path)
    assert states(t) == IN_SYNC
    assert set(edge_states(t).values()) == {State.IN_SYNC}
    assert_cli_draws(sandbox, path, t)
    converged_edges = edge_states(t)

    sandbox.sh("ip -n web1 addr del 172.20.0.11/24 dev eth0")  # the route via the gateway goes with it
    t = live(sandbox, path)
    assert states(t) == IN_SYNC | {"ep/web1": State.DRIFTED}
    assert Line("eth0  172.20.0.11/24", State.DRIFTED,
                "address 172.20.0.11/24 missing, route 0.0.0.0/0 missing") in by_id(t)["ep/web1"].lines
    assert edge_states(t) == converged_edges | {("ep/web1", "net/front"): State.DRIFTED}

    sandbox.sh("ip link del br-back")
    t = live(sandbox, path)
    assert states(t) == IN_SYNC | {"ep/web1": State.DRIFTED, "net/back": State.MISSING, "ep/db": State.DRIFTED}
    back = by_id(t)["net/back"].lines
    assert Line("bridge br-back", State.MISSING, "bridge missing") in back
    assert Line("172.21.0.0/24  gw 172.21.0.1", State.MISSING, "address 172.21.0.1/24 missing") in back
    assert Line("eth0  172.21.0.10/24", State.DRIFTED, "veth drifted") in by_id(t)["ep/db"].lines  # its port lost its master

    sandbox.sh("nft flush ruleset")
    t = live(sandbox, path)
    assert states(t) == IN_SYNC | {"ep/web1": State.DRIFTED, "net/back": State.MISSING, "ep/db": State.DRIFTED,
                                   "net/front": State.DRIFTED, "svc/web": State.DRIFTED, PORT_8080: State.MISSING,
                                   PORT_8081: State.MISSING}
    nat = by_id(t)["net/front"].lines[-1]
    assert (nat.text, nat.state) == ("NAT out", State.MISSING) and nat.why.endswith("rules missing")
    web = by_id(t)["svc/web"].lines
    assert Line("80/tcp -> :8000", State.MISSING, "rule vip-tcp-80 missing") in web
    assert Line("VIP 172.20.0.250", State.IN_SYNC) in web  # the VIP address itself is still there
    assert edge_states(t)[(PORT_8080, "ep/web1")] is State.MISSING
    assert_cli_draws(sandbox, path, t)

    sandbox.apply(path)
    t = live(sandbox, write(sandbox, *(d for d in DOCS if d is not DB)))  # db no longer declared
    assert states(t) == {k: v for k, v in IN_SYNC.items() if k != "ep/db"} | {"extra/endpoint/db": State.EXTRA}
    assert Line("netns db") in by_id(t)["extra/endpoint/db"].lines


def test_live_svg_carries_the_states_as_classes(sandbox: Sandbox) -> None:
    path = write(sandbox, *DOCS)
    sandbox.apply(path)
    sandbox.sh("ip link del br-back")
    svg = sandbox.sh(" ".join(shlex.quote(a) for a in (sys.executable, "-m", "reconciler", "graph", str(path), "--live")))
    classes = svg_classes(svg.stdout.encode())
    assert (classes["net/front"], classes["net/back"]) == ("node network in-sync", "node network missing")
    assert "bridge br-back (bridge missing)" in svg_texts(svg.stdout.encode())


MOUNT = "/mnt"  # a private tmpfs in the sandbox's mount namespace: readable by nobody, gone with it
STATE = ("ip -d link show", "ip -all -d addr show", "ip netns list", "nft list ruleset", "ls -la /run/netns /etc/netns",
         f"ls -la /run/netreconcile {MOUNT}")


def test_without_live_graph_touches_no_kernel_and_needs_no_root(sandbox: Sandbox) -> None:
    path = write(sandbox, *DOCS)
    sandbox.sh(f"mount -t tmpfs none {MOUNT} && cp {path} {MOUNT}/m.yaml && chmod 755 {MOUNT} && chmod 644 {MOUNT}/m.yaml")
    before = snapshot(sandbox, *STATE)
    nobody = f"setpriv --reuid=65534 --regid=65534 --clear-groups {shlex.quote(sys.executable)} -m reconciler graph {MOUNT}/m.yaml"
    svg = sandbox.sh(f"cd / && {nobody}")
    assert {"web1", "web2", "db", "front", "back", "service web", "0.0.0.0:8080/tcp"} <= set(svg_texts(svg.stdout.encode()))
    planned = graph.planned(load_manifests([str(path)]), None)
    assert {n.id for n in planned.nodes} == set(IN_SYNC) and not planned.live  # nothing exists here, nothing checked
    assert sandbox.nr("graph", f"{MOUNT}/m.yaml", "-o", "dot").stdout == graph.to_dot(planned)
    assert_unchanged(sandbox, before)
    refused = sandbox.sh(f"cd / && {nobody} --live -o dot", check=False)
    assert refused.returncode == 1 and "root" in refused.stderr and "Traceback" not in refused.stderr
    assert_unchanged(sandbox, before)


def test_live_with_hosts_checks_this_host_only(sandbox: Sandbox) -> None:
    manifests = FIXTURES / "plans" / "overlay-endpoint-moved" / "manifests.yaml"
    unknown = sandbox.nr("graph", str(manifests), "--live", "-o", "dot", check=False)
    assert unknown.returncode == 1 and "pass --host NAME" in unknown.stderr  # no underlay address here
    t = live(sandbox, manifests, "node-a")
    assert states(t) == {"net/node-a/appnet": State.MISSING, "ep/api1": State.MISSING}  # nothing was applied here
    sandbox.sh("ip link add und0 type veth peer name und1 && ip addr add 10.10.0.13/24 dev und0")  # now node-c
    t = live(sandbox, manifests)
    assert states(t) == {"net/appnet": State.MISSING, "ep/api1": None, "ep/api2": State.MISSING}
    assert by_id(t)["ep/api2"].host == "node-c"
