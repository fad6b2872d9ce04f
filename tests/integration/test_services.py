"""Network services with real clients: published ports, load-balanced Services, name resolution,
and the firewall's repair after an external flush. TCP servers are small Python loops in endpoints."""


from builders import (
    OUTSIDE,
    UPLINK_HOST,
    converge,
    endpoint,
    iface,
    make_outside,
    network,
    out,
    plan,
    run_fails_cleanly,
    status,
    write,
)

SERVER = """\
import socket, sys
s = socket.create_server(("::", int(sys.argv[1])), family=socket.AF_INET6, dualstack_ipv6=True, backlog=64)
while True:
    c, _ = s.accept()
    c.sendall(sys.argv[2].encode())
    c.close()
"""
CLIENT = """\
import socket, sys
for _ in range(int(sys.argv[3])):
    try:
        c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2)
        print(c.recv(64).decode() or "(nothing)")
        c.close()
    except OSError as error:
        print(f"({type(error).__name__})", file=sys.stderr)
"""


def serve(sandbox, ns: str, port: int, answer: str) -> None:
    """A TCP server in `ns` answering `answer` to every connection, for two minutes at most (a process
    inside would outlive the sandbox)."""
    script = sandbox.write("server.py", SERVER)
    sandbox.sh(f"ip netns exec {ns} timeout 120 python3 {script} {port} {answer} >/dev/null 2>&1 & sleep 0.3")


def ask(sandbox, ns: str | None, address: str, port: int, times: int = 1) -> list[str]:
    """Connect `times` times from `ns` (None: the host); the answers (failed connections give none)."""
    script = sandbox.write("client.py", CLIENT)
    prefix = f"ip netns exec {ns} " if ns else ""
    return sandbox.sh(f"{prefix}python3 {script} {address} {port} {times}", check=False).stdout.split()


def web(n: int, labels: dict | None = None, ports: list | None = None) -> dict:
    doc = endpoint(f"web{n}", iface("frontend", f"172.20.0.1{n}"))
    doc["metadata"]["labels"] = labels if labels is not None else {"app": "web"}
    if ports:
        doc["spec"]["ports"] = ports
    return doc


def service(vip: str | None = "172.20.0.250", host_port: int | None = 8081, selector: dict | None = None) -> dict:
    port = {"port": 80, "targetPort": 8000, **({"hostPort": host_port} if host_port else {})}
    spec = {"network": "frontend", "selector": selector or {"app": "web"}, "ports": [port]}
    if vip:
        spec["vip"] = vip
    return {"apiVersion": "netreconcile/v1", "kind": "Service", "metadata": {"name": "web"}, "spec": spec}


FRONT = network("frontend", "172.20.0.0/24")
CLIENT_EP = endpoint("client", iface("frontend", "172.20.0.20"))


def test_a_published_port_is_reached_from_outside_from_the_host_and_from_another_endpoint(sandbox):
    make_outside(sandbox)
    path = write(sandbox, FRONT, web(1, ports=[{"hostPort": 8080, "containerPort": 80}]), CLIENT_EP)
    report = converge(sandbox, path)
    assert "publishes 0.0.0.0:8080/tcp -> web1:80" in report
    serve(sandbox, "web1", 80, "hello-from-web1")
    assert ask(sandbox, OUTSIDE, UPLINK_HOST, 8080) == ["hello-from-web1"]      # from outside, via the uplink
    assert ask(sandbox, None, "127.0.0.1", 8080) == ["hello-from-web1"]         # the host, localhost (output path)
    assert ask(sandbox, None, UPLINK_HOST, 8080) == ["hello-from-web1"]         # the host, its own address
    assert ask(sandbox, "client", "172.20.0.1", 8080) == ["hello-from-web1"]    # hairpin through the gateway
    assert ask(sandbox, "web1", UPLINK_HOST, 8080) == ["hello-from-web1"]       # itself, through the host
    assert ask(sandbox, OUTSIDE, UPLINK_HOST, 8081) == []                       # only what is declared
    # Unpublished: the port goes, and nothing reaches web1 from outside any more.
    write(sandbox, FRONT, web(1), CLIENT_EP)
    converge(sandbox, path)
    assert ask(sandbox, OUTSIDE, UPLINK_HOST, 8080) == []
    assert "8080" not in out(sandbox, "nft list table inet netreconcile")


def test_a_service_spreads_connections_over_its_backends_from_everywhere(sandbox):
    make_outside(sandbox)
    path = write(sandbox, FRONT, web(1), web(2), web(3), CLIENT_EP, service())
    report = converge(sandbox, path)
    assert "balances 172.20.0.250:80/tcp -> web1, web2, web3 :8000" in report
    for n in (1, 2, 3):
        serve(sandbox, f"web{n}", 8000, f"web{n}")
    for who, address, port in (("client", "172.20.0.250", 80), (None, "172.20.0.250", 80), (OUTSIDE, UPLINK_HOST, 8081)):
        answers = ask(sandbox, who, address, port, times=210)
        assert len(answers) == 210, (who, answers[-3:])
        shares = {n: answers.count(f"web{n}") / len(answers) for n in (1, 2, 3)}
        assert all(share > 0.2 for share in shares.values()), (who, shares)
    # web3's label stops matching: it leaves the map on the next apply.
    write(sandbox, FRONT, web(1), web(2), web(3, labels={"app": "old"}), CLIENT_EP, service())
    converge(sandbox, path)
    assert set(ask(sandbox, "client", "172.20.0.250", 80, times=30)) == {"web1", "web2"}
    # web2 is removed from the manifests: gone from the map too. Its server runs inside it, so the
    # prune names that process and needs --force.
    write(sandbox, FRONT, web(1), web(3, labels={"app": "old"}), CLIENT_EP, service())
    refused = sandbox.nr("apply", str(path), check=False)
    assert refused.returncode == 1 and "netns web2 holds what netreconcile did not create: process" in refused.stderr
    converge(sandbox, path, "--force")
    assert set(ask(sandbox, "client", "172.20.0.250", 80, times=10)) == {"web1"}


def test_names_resolve_to_addresses_on_shared_networks_only(sandbox):
    back = network("backend", "172.21.0.0/24")
    db = endpoint("db", iface("backend", "172.21.0.5", name="eth0"))
    app = endpoint("app", iface("frontend", "172.20.0.30"), iface("backend", "172.21.0.30"))
    aliased = endpoint("cache", {"network": "frontend", "ipv4Address": "172.20.0.40", "aliases": ["redis"]})
    path = write(sandbox, FRONT, back, web(1), db, app, aliased, service(host_port=None))
    converge(sandbox, path)
    assert out(sandbox, "ip netns exec app getent hosts db").split() == ["172.21.0.5", "db"]
    assert out(sandbox, "ip netns exec app getent hosts web1").split() == ["172.20.0.11", "web1"]
    assert out(sandbox, "ip netns exec web1 getent hosts redis").split()[0] == "172.20.0.40"
    assert out(sandbox, "ip netns exec web1 getent hosts web").split()[0] == "172.20.0.250"   # the service's VIP
    assert sandbox.ping("app", "db") and sandbox.ping("web1", "app")
    # web1 and db share no network: neither name resolves in the other.
    assert sandbox.sh("ip netns exec web1 getent hosts db", check=False).returncode != 0
    assert sandbox.sh("ip netns exec db getent hosts web1", check=False).returncode != 0
    # The file is ours and goes with its endpoint.
    write(sandbox, FRONT, back, web(1), app, aliased, service(host_port=None))
    converge(sandbox, path)
    assert sandbox.sh("test -e /etc/netns/db", check=False).returncode != 0
    assert sandbox.sh("ip netns exec app getent hosts db", check=False).returncode != 0


def test_publishing_one_port_twice_or_a_port_a_process_holds_is_refused(sandbox):
    twice = write(sandbox, FRONT, web(1, ports=[{"hostPort": 8080, "containerPort": 80}]),
                  web(2, ports=[{"hostPort": 8080, "containerPort": 80, "hostIp": "127.0.0.1"}]), name="twice/m.yaml")
    err = run_fails_cleanly(sandbox, "validate", str(twice))
    assert "Endpoint/web2: 0.0.0.0:8080/tcp" not in err and "127.0.0.1:8080/tcp is already published by endpoint web1" in err
    held = write(sandbox, FRONT, web(1, ports=[{"hostPort": 9090, "containerPort": 80}]), name="held/m.yaml")
    sandbox.sh("python3 -c \"import socket,time;s=socket.socket();s.bind(('0.0.0.0',9090));s.listen();time.sleep(30)\" "
               ">/dev/null 2>&1 & sleep 0.3")
    err = run_fails_cleanly(sandbox, "apply", str(held))
    assert "endpoint web1: 0.0.0.0:9090/tcp is already bound by a process on this host (on 0.0.0.0)" in err
    assert out(sandbox, "ip netns list") == ""


def test_an_external_flush_of_the_ruleset_shows_as_drift_and_apply_restores_it(sandbox):
    make_outside(sandbox)
    path = write(sandbox, FRONT, web(1, ports=[{"hostPort": 8080, "containerPort": 80}]), web(2), CLIENT_EP, service())
    converge(sandbox, path)
    serve(sandbox, "web1", 80, "up")
    assert ask(sandbox, OUTSIDE, UPLINK_HOST, 8080) == ["up"]
    sandbox.sh("nft flush ruleset")   # a firewall reload
    assert ask(sandbox, OUTSIDE, UPLINK_HOST, 8080) == []
    code, text = plan(sandbox, path)
    assert code == 2 and "+ nft table inet netreconcile" in text
    states = {(o["kind"], o["state"]) for o in status(sandbox, path)}
    assert ("nft", "missing") in states
    converge(sandbox, path)
    assert ask(sandbox, OUTSIDE, UPLINK_HOST, 8080) == ["up"]
