"""The routing mesh (issue 18) across three simulated hosts (tests/cluster.py): a Service on an overlay
network answers on its VIP and its ingress hostPort from every host, spreading over backends on all
hosts, with real TCP and UDP traffic. node-a holds no backend; api1 lives on node-b, api2 on node-c."""

from test_overlay import apply_everywhere, manifests, overlay, placed

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


SERVER = """\
import socket, sys, threading
name, port = sys.argv[1], int(sys.argv[2])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("0.0.0.0", port))   # before the TCP port listens: a test waits for that one
def udp():
    while True:
        data, peer = u.recvfrom(64)
        u.sendto(name.encode(), peer)
threading.Thread(target=udp, daemon=True).start()
s = socket.create_server(("0.0.0.0", port), backlog=64)
def talk(c, peer):
    c.sendall(f"{name}/{peer[0]}\\n".encode())
    while data := c.recv(64):
        c.sendall(data)
    c.close()
while True:
    c, peer = s.accept()
    threading.Thread(target=talk, args=(c, peer), daemon=True).start()
"""
CLIENT = """\
import socket, sys, time
address, port, times = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for _ in range(times):
    started = time.monotonic()
    try:
        c = socket.create_connection((address, port), timeout=3)
        print(c.makefile().readline().strip())
        c.close()
    except OSError as error:
        print(f"{type(error).__name__}:{time.monotonic() - started:.2f}")
"""
UDP_CLIENT = """\
import socket, sys
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("0.0.0.0", 40000))   # the same source port every time: the same conntrack entry
u.settimeout(1)
u.connect((sys.argv[1], int(sys.argv[2])))   # connected: an ICMP port unreachable is reported
u.send(b"ping")
try:
    print(u.recv(64).decode())
except OSError as error:
    print(type(error).__name__)
"""


def serve(host, ns: str) -> None:
    """A server in endpoint `ns` on port 8000, TCP and UDP: it answers its name and the client's address
    as it sees it (`api1/10.10.0.99`), then echoes; over UDP its name. Two minutes at most. Waits up to
    20 s for it to listen (Python's start alone took over the 2.5 s first allowed on a busy machine)."""
    script = host.write("mesh_server.py", SERVER)
    host.sh(f"ip netns exec {ns} timeout 120 python3 {script} {ns} 8000 >/dev/null 2>&1 & "
            f"for i in $(seq 400); do ip netns exec {ns} ss -ltn | grep -q :8000 && break; sleep 0.05; done")


def ask(host, ns: str | None, address: str, port: int, times: int = 1) -> list[str]:
    """Connect `times` times from endpoint `ns` (None: the host; "outside": the underlay client): each
    answer's first line, or `ErrorName:seconds`."""
    script = host.write("mesh_client.py", CLIENT)
    prefix = f"ip netns exec {ns} " if ns else ""
    return host.sh(f"{prefix}python3 {script} {address} {port} {times}", check=False).stdout.split()


def names(answers: list[str]) -> list[str]:
    return [a.split("/")[0] for a in answers]


def spread(answers: list[str], expected: list[str], total: int) -> dict[str, float]:
    assert len(answers) == total and all("/" in a for a in answers), answers[-3:]
    return {n: names(answers).count(n) / total for n in expected}


def outside(cluster) -> None:
    """A namespace `outside` on the underlay bridge: a client outside every host."""
    cluster.sandbox.sh(f"ip netns add outside && ip link add out0 type veth peer name ul-out netns underlay && "
                       f"ip link set out0 netns outside && ip -n outside addr add {UNDERLAY_CLIENT}/24 dev out0 && "
                       "ip -n outside link set out0 up && ip -n outside link set lo up && "
                       "ip -n underlay link set ul-out master ul0 up")


def test_the_vip_spreads_from_a_host_without_backends_over_both_other_hosts(cluster):
    reports = apply_everywhere(cluster, manifests(cluster, *app()))
    assert f"balances web {VIP}:80/tcp -> api1@node-b, api2@node-c :8000 (remote: snat {MESH_A})" in reports["node-a"]
    serve(cluster["node-b"], "api1")
    serve(cluster["node-c"], "api2")
    got = spread(ask(cluster["node-a"], "client", VIP, 80, times=300), ["api1", "api2"], 300)
    assert all(share > 0.2 for share in got.values()), got


def test_an_ingress_port_on_a_host_without_endpoints_spreads_over_the_other_hosts(cluster):
    docs = app()
    path = manifests(cluster, *[d for d in docs if d["metadata"]["name"] != "client"])  # node-a: nothing of appnet
    apply_everywhere(cluster, path)
    a = cluster["node-a"]
    assert "nr-m" in a.sh("ip -o link show type macvlan").stdout and MESH_A in a.sh("ip -4 -o addr").stdout
    serve(cluster["node-b"], "api1")
    serve(cluster["node-c"], "api2")
    outside(cluster)
    answers = ask(cluster.sandbox, "outside", "10.10.0.11", 8080, times=300)
    got = spread(answers, ["api1", "api2"], 300)
    assert all(share > 0.2 for share in got.values()), got
    assert {a.split("/")[1] for a in answers} == {MESH_A}   # remote backends: the reply must come back through node-a


def test_traffic_policy_local_keeps_the_client_address_and_a_host_without_backends_refuses_at_once(cluster):
    svc = service(trafficPolicy="local")
    svc["spec"]["ports"].append({"port": 53, "targetPort": 8000, "protocol": "udp"})
    path = manifests(cluster, *app(svc=svc))
    reports = apply_everywhere(cluster, path)
    assert f"balances web {VIP}:80/tcp -> nothing on this host: refused (trafficPolicy local)" in reports["node-a"]
    serve(cluster["node-b"], "api1")
    serve(cluster["node-c"], "api2")
    outside(cluster)
    assert ask(cluster.sandbox, "outside", "10.10.0.12", 8080, times=5) == [f"api1/{UNDERLAY_CLIENT}"] * 5
    assert ask(cluster.sandbox, "outside", "10.10.0.13", 8080, times=5) == [f"api2/{UNDERLAY_CLIENT}"] * 5
    for who, address, port in (("outside", "10.10.0.11", 8080), ("client", VIP, 80)):
        host = cluster.sandbox if who == "outside" else cluster["node-a"]
        (refused,) = ask(host, who, address, port)
        error, seconds = refused.split(":")
        assert error == "ConnectionRefusedError" and float(seconds) < 0.5, refused
    script = cluster["node-a"].write("udp_client.py", UDP_CLIENT)
    assert cluster["node-a"].sh(f"ip netns exec client python3 {script} {VIP} 53").stdout.split() == ["ConnectionRefusedError"]
    assert cluster["node-b"].sh(f"ip netns exec api1 true && python3 {script} {VIP} 53").stdout.split() == ["api1"]


def test_publish_host_opens_the_port_only_where_backends_live_each_over_its_own(cluster):
    path = manifests(cluster, *app(backend("api3", "node-b", "10.200.0.30"), svc=service(port={"publish": "host"})))
    apply_everywhere(cluster, path)
    for n in ("api1", "api3"):
        serve(cluster["node-b"], n)
    serve(cluster["node-c"], "api2")
    outside(cluster)
    (closed,) = ask(cluster.sandbox, "outside", "10.10.0.11", 8080)
    assert closed.startswith("ConnectionRefusedError:"), closed
    assert set(names(ask(cluster.sandbox, "outside", "10.10.0.12", 8080, times=20))) == {"api1", "api3"}
    assert set(names(ask(cluster.sandbox, "outside", "10.10.0.13", 8080, times=10))) == {"api2"}
    # the VIP still spreads over every backend
    assert set(names(ask(cluster["node-a"], "client", VIP, 80, times=30))) == {"api1", "api2", "api3"}


def test_client_ip_affinity_sends_one_client_to_one_backend(cluster):
    path = manifests(cluster, *app(backend("api3", "node-b", "10.200.0.30"), svc=service(affinity="clientIP")))
    apply_everywhere(cluster, path)
    for host, n in (("node-b", "api1"), ("node-b", "api3"), ("node-c", "api2")):
        serve(cluster[host], n)
    assert len(set(names(ask(cluster["node-a"], "client", VIP, 80, times=40)))) == 1
    outside(cluster)
    assert len(set(names(ask(cluster.sandbox, "outside", "10.10.0.11", 8080, times=40)))) == 1


def test_a_backend_moved_to_another_host_takes_traffic_there(cluster):
    apply_everywhere(cluster, manifests(cluster, *app()))
    moved = app(backend("api2", "node-a", "10.200.0.20"))
    moved = [d for i, d in enumerate(moved) if not (d["metadata"]["name"] == "api2" and d["spec"]["host"] == "node-c")]
    reports = apply_everywhere(cluster, manifests(cluster, *moved), "--force", order=("node-c", "node-a", "node-b"))
    assert f"balances web {VIP}:80/tcp -> api1@node-b, api2@node-a :8000 (remote: snat {MESH_A})" in reports["node-a"]
    serve(cluster["node-b"], "api1")
    serve(cluster["node-a"], "api2")
    assert set(names(ask(cluster["node-a"], "client", VIP, 80, times=20))) == {"api1", "api2"}
    assert set(names(ask(cluster["node-c"], None, "10.10.0.13", 8080, times=20))) == {"api1", "api2"}


def test_a_udp_flow_moves_when_its_backend_is_replaced(cluster):
    udp = service(port={"protocol": "udp", "port": 53, "hostPort": 5353})
    apply_everywhere(cluster, manifests(cluster, *_only_api1(udp)))
    serve(cluster["node-b"], "api1")
    a, script = cluster["node-a"], cluster["node-a"].write("udp_client.py", UDP_CLIENT)
    assert a.sh(f"ip netns exec client python3 {script} {VIP} 53").stdout.split() == ["api1"]
    # api1 goes, api3 on node-c replaces it; the client keeps its source port (the same conntrack tuple)
    docs = [d for d in _only_api1(udp) if d["metadata"]["name"] != "api1"] + [backend("api3", "node-c", "10.200.0.30")]
    apply_everywhere(cluster, manifests(cluster, *docs), "--force")
    serve(cluster["node-c"], "api3")
    assert a.sh(f"ip netns exec client python3 {script} {VIP} 53").stdout.split() == ["api3"]


def _only_api1(svc: dict) -> list[dict]:
    return [d for d in app(svc=svc) if d["metadata"]["name"] != "api2"]


def test_an_idle_tcp_connection_through_the_vip_still_works_after_60_seconds(cluster):
    apply_everywhere(cluster, manifests(cluster, *app()))
    serve(cluster["node-b"], "api1")
    serve(cluster["node-c"], "api2")
    script = cluster["node-a"].write("idle.py", (
        "import socket, time\n"
        f"c = socket.create_connection(('{VIP}', 80), timeout=5)\n"
        "first = c.makefile().readline().strip()\n"
        "time.sleep(60)\n"
        "c.sendall(b'still-there')\n"
        "print(first, c.recv(64).decode())\n"))
    answer = cluster["node-a"].sh(f"ip netns exec client python3 {script}", timeout=90).stdout.split()
    assert answer[1] == "still-there" and answer[0].startswith(("api1/", "api2/")), answer


def test_apply_is_idempotent_and_prunes_the_mesh_on_each_host_and_repairs_a_flush(cluster):
    docs = [d for d in app() if d["metadata"]["name"] != "client"]
    path = manifests(cluster, *docs)
    apply_everywhere(cluster, path)   # (asserts that a second plan is empty on each host)
    a = cluster["node-a"]
    serve(cluster["node-b"], "api1")
    serve(cluster["node-c"], "api2")
    a.sh("nft flush ruleset")
    drift = a.nr("plan", str(path), "--detailed-exitcode", check=False)
    assert drift.returncode == 2
    assert set(names(ask(a, None, "127.0.0.1", 8080, times=10))) != {"api1", "api2"}
    apply_everywhere(cluster, path, order=("node-a",))
    assert set(names(ask(a, None, "127.0.0.1", 8080, times=10))) == {"api1", "api2"}
    # The Service goes: node-a, which took part in appnet for it alone, keeps nothing at all.
    apply_everywhere(cluster, manifests(cluster, *docs[:-1]), "--force")
    assert a.sh("ip -o link show type macvlan; ip -o link show type vxlan; nft list ruleset").stdout == ""
    b = cluster["node-b"].sh("ip -o link show type macvlan; ip neigh show nud permanent; nft list ruleset").stdout
    assert "nr-m" not in b and MESH_A not in b and "10.200.0.253" not in b and VIP not in b
