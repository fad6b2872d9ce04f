"""Names through the embedded resolver, as `apply` leaves it: glibc and dig inside endpoints, the
resolver part of the converged state (plan shows it missing, apply repairs it), its namespaces let go
of before they are deleted, and stopped with the last endpoint."""

from __future__ import annotations

import json
import time

import pytest
from builders import converge, endpoint, iface, network, out, write
from sandbox import Sandbox, processes_in

pytestmark = pytest.mark.kernel


def service(name: str, network_name: str, selector: dict, mode: str | None = None) -> dict:
    spec: dict = {"network": network_name, "selector": selector, "ports": [{"port": 80}]}
    if mode:
        spec["endpointMode"] = mode
    return {"apiVersion": "netreconcile/v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


def labelled(doc: dict, **labels: str) -> dict:
    doc["metadata"]["labels"] = labels
    return doc


def docs(*extra: dict) -> list[dict]:
    front, back = network("front", "172.20.0.0/24"), network("back", "172.21.0.0/24", internal=True)
    return [front, back,
            labelled(endpoint("web1", iface("front", "172.20.0.11")), app="web"),
            labelled(endpoint("web2", iface("front", "172.20.0.12")), app="web"),
            endpoint("app", iface("front", "172.20.0.30"), iface("back", "172.21.0.30")),
            endpoint("db", iface("back", "172.21.0.5")),
            service("web", "front", {"app": "web"}), service("webrr", "front", {"app": "web"}, "dnsrr"), *extra]


def dig(sandbox: Sandbox, ns: str, *query: str) -> list[str]:
    return out(sandbox, f"ip netns exec {ns} dig +time=2 +tries=1 +short @127.0.0.11 {' '.join(query)}").split()


def resolver_pid(sandbox: Sandbox) -> int:
    return json.loads(out(sandbox, "cat /run/netreconcile/resolver/status.json"))["pid"]


def test_glibc_and_dig_resolve_names_of_shared_networks_through_the_resolver(sandbox):
    path = write(sandbox, *docs())
    converge(sandbox, path)
    assert out(sandbox, "cat /etc/netns/app/resolv.conf").splitlines()[1:] == ["nameserver 127.0.0.11", "options ndots:0"]
    assert "web1" not in out(sandbox, "cat /etc/netns/app/hosts")  # peers come from the resolver, not the file
    assert out(sandbox, "ip netns exec app getent hosts db").split() == ["172.21.0.5", "db"]
    assert out(sandbox, "ip netns exec app getent hosts WEB1.front").split()[0] == "172.20.0.11"
    assert sandbox.sh("ip netns exec web1 getent hosts db", check=False).returncode == 2  # shares no network
    vip = dig(sandbox, "app", "web")
    assert len(vip) == 1 and vip[0].startswith("172.20.0.")
    assert sorted(dig(sandbox, "app", "tasks.web")) == ["172.20.0.11", "172.20.0.12"]
    assert sorted(dig(sandbox, "app", "webrr")) == ["172.20.0.11", "172.20.0.12"]  # dnsrr: the backends, no VIP
    assert dig(sandbox, "app", "db", "AAAA") == []
    assert dig(sandbox, "app", "-x", "172.21.0.5") == ["db.back."]
    status = out(sandbox, "ip netns exec web1 dig +time=2 +tries=1 @127.0.0.11 db")
    assert "status: NXDOMAIN" in status


def test_a_killed_resolver_shows_in_plan_and_apply_restores_it(sandbox):
    path = write(sandbox, *docs())
    converge(sandbox, path)
    sandbox.sh(f"kill -9 {resolver_pid(sandbox)}")
    plan = sandbox.nr("plan", str(path), "--detailed-exitcode", check=False)
    assert plan.returncode == 2 and "+ resolver dns 127.0.0.11 in 4 namespaces" in plan.stdout, plan.stdout
    converge(sandbox, path)
    assert out(sandbox, "ip netns exec web2 getent hosts web1").split() == ["172.20.0.11", "web1"]


def test_a_namespace_made_again_by_hand_is_served_again_after_apply(sandbox):
    path = write(sandbox, *docs())
    converge(sandbox, path)
    # the endpoint's namespace removed behind our back: the resolver's socket stays in the old one
    sandbox.sh("ip netns delete db")
    assert sandbox.plan_exitcode(path) == 2
    converge(sandbox, path)
    assert out(sandbox, "ip netns exec db getent hosts app").split() == ["172.21.0.30", "app"]


def test_removed_endpoints_are_let_go_before_their_namespaces_go_and_the_last_stops_it(sandbox):
    path = write(sandbox, *docs())
    converge(sandbox, path)
    pid = resolver_pid(sandbox)
    fewer = write(sandbox, *[d for d in docs() if d["metadata"]["name"] not in ("db", "web2")])
    apply = sandbox.nr("apply", str(fewer)).stdout
    assert "first: lets go of the namespaces that go" in apply, apply
    assert resolver_pid(sandbox) == pid  # reloaded, not restarted
    assert sandbox.plan_exitcode(fewer) == 0
    # nothing of the removed endpoints survives in the kernel: their veths went with their namespaces
    assert "db" not in out(sandbox, "ip netns list") and out(sandbox, "ip -o link show type veth").count("@") == 3
    assert sorted(dig(sandbox, "app", "tasks.web")) == ["172.20.0.11"]
    converge(sandbox, write(sandbox, network("front", "172.20.0.0/24"), name="m/net.yaml"), "--force")  # the last endpoint goes
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _resolvers(sandbox):
        time.sleep(0.1)
    assert _resolvers(sandbox) == []
    assert out(sandbox, "ls -A /run/netreconcile/resolver 2>/dev/null || true").split() in ([], ["resolver.log"],
                                                                                                 ["resolver.lock", "resolver.log"],
                                                                                                 ["resolver.lock"])


def _resolvers(sandbox: Sandbox) -> list[int]:
    netns = int(out(sandbox, "stat -L -c %i /proc/self/ns/net"))
    found = []
    for pid in processes_in(netns):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"reconciler.resolver" in f.read().split(b"\0"):
                    found.append(pid)
        except OSError:
            continue
    return found


def test_an_internal_endpoint_gets_our_names_only_and_nothing_leaves(sandbox):
    path = write(sandbox, *docs())
    converge(sandbox, path)
    # db is only on an internal network: another name is not forwarded (Docker: SERVFAIL, no packet out)
    answer = out(sandbox, "ip netns exec db dig +time=2 +tries=1 @127.0.0.11 example.com")
    assert "status: SERVFAIL" in answer or "status: REFUSED" in answer, answer
    assert dig(sandbox, "db", "app") == ["172.21.0.30"]


def test_an_endpoint_added_later_resolves_for_its_peers_and_their_hosts_files_stay_the_same(sandbox):
    path = write(sandbox, *docs())
    converge(sandbox, path)
    before = out(sandbox, "cat /etc/netns/web1/hosts")
    grown = write(sandbox, *docs(labelled(endpoint("web3", iface("front", "172.20.0.13")), app="web")))
    converge(sandbox, grown)
    assert out(sandbox, "cat /etc/netns/web1/hosts") == before
    assert out(sandbox, "ip netns exec web1 getent hosts web3").split() == ["172.20.0.13", "web3"]
    assert sorted(dig(sandbox, "web1", "tasks.web")) == ["172.20.0.11", "172.20.0.12", "172.20.0.13"]
