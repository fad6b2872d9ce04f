"""The routing mesh (issue 18) across three simulated hosts (tests/cluster.py): a Service on an overlay
network answers on its VIP and its ingress hostPort from every host, spreading over backends on all
hosts, with real TCP and UDP traffic. node-a holds no backend; api1 lives on node-b, api2 on node-c."""

import time

from test_overlay import apply_everywhere, manifests, overlay, placed
from test_services import ask, serve

VIP, MESH_A = "10.200.0.250", "10.200.0.254"
UNDERLAY_CLIENT = "10.10.0.99"   # a namespace on the underlay bridge: outside every host


def backend(name: str, on: str, address: str, labels: dict | None = None) -> dict:
    doc = placed(name, on, "appnet", address)
    doc["metadata"]["labels"] = labels if labels is not None else {"app": "api"}
    return doc


def service(**spec) -> dict:
    port = {"port": 80, "targetPort": 8000, "hostPort": 8080, **spec.pop("port", {})}
    body = {"network": "appnet", "selector": {"app": "api"}, "vip": VIP, "ports": [port], **spec}
    return {"apiVersion": "netreconcile/v1", "kind": "Service", "metadata": {"name": "web"}, "spec": body}


def app(*extra: dict, svc: dict | None = None) -> list[dict]:
    return [overlay("appnet", "10.200.0.0/24"), placed("client", "node-a", "appnet", "10.200.0.5"),
            backend("api1", "node-b", "10.200.0.10"), backend("api2", "node-c", "10.200.0.20"),
            *extra, svc or service()]


def serve_all(cluster, *where: tuple[str, str]) -> None:
    for host, name in where:
        serve(cluster[host], name, 8000, name)


def shares(answers: list[str], names: list[str], total: int) -> dict[str, float]:
    assert len(answers) == total, answers[-3:]
    return {n: answers.count(n) / total for n in names}


def outside(cluster) -> None:
    """A namespace on the underlay bridge, as a client outside every host."""
    cluster.sandbox.sh(f"ip netns add outside && ip link add out0 type veth peer name ul-out netns underlay && "
                       f"ip link set out0 netns outside && ip -n outside addr add {UNDERLAY_CLIENT}/24 dev out0 && "
                       "ip -n outside link set out0 up && ip -n outside link set lo up && "
                       "ip -n underlay link set ul-out master ul0 up")


def test_the_vip_spreads_from_a_host_without_backends_over_both_other_hosts(cluster):
    reports = apply_everywhere(cluster, manifests(cluster, *app()))
    assert f"balances web {VIP}:80/tcp -> api1@node-b, api2@node-c :8000 (remote: snat {MESH_A})" in reports["node-a"]
    serve_all(cluster, ("node-b", "api1"), ("node-c", "api2"))
    got = shares(ask(cluster["node-a"], "client", VIP, 80, times=300), ["api1", "api2"], 300)
    assert all(share > 0.2 for share in got.values()), got
