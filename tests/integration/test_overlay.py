"""The overlay driver across three simulated hosts (tests/cluster.py): each its own network and mount
namespaces, joined by the bridge `ul0` of an `underlay` namespace; every host applies the same
manifests directory, and real traffic crosses hosts as VXLAN (UDP 4789 counted on the underlay).
"""

import time
from pathlib import Path

from builders import text

UNDERLAY_GW = "10.10.0.1"  # an "outside" address on the underlay: it knows no route to the overlay


def host(name: str, address: str, interface: str | None = None) -> dict:
    underlay = {"address": address, **({"interface": interface} if interface else {})}
    return {"apiVersion": "netreconcile/v1", "kind": "Host", "metadata": {"name": name}, "spec": {"underlay": underlay}}


def overlay(name: str, subnet: str, vni: int | None = None, internal: bool = False) -> dict:
    spec = {"driver": "overlay", "ipam": {"subnet": subnet}}
    if vni is not None:
        spec["overlay"] = {"vni": vni}
    if internal:
        spec["internal"] = True
    return {"apiVersion": "netreconcile/v1", "kind": "Network", "metadata": {"name": name}, "spec": spec}


def placed(name: str, on: str, network: str, address: str) -> dict:
    return {"apiVersion": "netreconcile/v1", "kind": "Endpoint", "metadata": {"name": name},
            "spec": {"host": on, "interfaces": [{"network": network, "ipv4Address": address}]}}


HOSTS = [host("node-a", "10.10.0.11"), host("node-b", "10.10.0.12", "eth1"), host("node-c", "10.10.0.13")]
API1, API2, DB1 = "10.200.0.10", "10.200.0.20", "10.200.0.30"


def manifests(cluster, *docs: dict) -> Path:
    """One manifests directory, the same for every host (as a git checkout on each would be)."""
    return cluster.sandbox.write("m/net.yaml", text(*HOSTS, *docs))


def apply_everywhere(cluster, path: Path, *flags: str, order=("node-a", "node-b", "node-c")) -> dict[str, str]:
    """`netreconcile apply` on each host (it finds itself by its underlay address), then assert idempotency."""
    reports = {name: cluster[name].nr("apply", str(path), *flags).stdout for name in order}
    for name in order:
        result = cluster[name].nr("plan", str(path), "--detailed-exitcode", check=False)
        assert result.returncode == 0, f"{name} not converged:\n{result.stdout}{result.stderr}"
    return reports


def app(network=None) -> list[dict]:
    return [network or overlay("appnet", "10.200.0.0/24"), placed("api1", "node-a", "appnet", API1),
            placed("api2", "node-b", "appnet", API2), placed("db1", "node-c", "appnet", DB1)]


def tcp_across(cluster, server: str, server_ns: str, address: str, client: str, client_ns: str) -> str:
    """A TCP echo server on one host, a client on another: what came back ('' when it failed)."""
    cluster[server].sh(
        f"ip netns exec {server_ns} timeout 10 python3 -c \"import socket;s=socket.socket();"
        f"s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(('{address}',7777));s.listen();"
        "c,_=s.accept();c.sendall(c.recv(64))\" >/dev/null 2>&1 & sleep 0.3")
    result = cluster[client].sh(
        f"ip netns exec {client_ns} python3 -c \"import socket;c=socket.create_connection(('{address}',7777),timeout=3);"
        "c.sendall(b'over-vxlan');print(c.recv(64).decode())\"", check=False)
    return result.stdout.strip()


def fdb(cluster, name: str) -> str:
    return cluster[name].sh("for d in $(ip -o link show type vxlan | awk -F': ' '{print $2}' | cut -d@ -f1); "
                            "do bridge fdb show dev $d; ip neigh show dev $d nud permanent; done").stdout


def test_endpoints_on_three_hosts_talk_over_vxlan_and_each_host_builds_only_its_own(cluster):
    path = manifests(cluster, *app())
    before = cluster.udp_counter()
    reports = apply_everywhere(cluster, path)
    assert "+ netns api1" in reports["node-a"] and "api2" not in cluster["node-a"].sh("ip netns list").stdout
    assert [cluster[n].sh("ip netns list").stdout.split()[0] for n in ("node-a", "node-b", "node-c")] == ["api1", "api2", "db1"]
    a = cluster["node-a"]
    assert a.ping("api1", API2) and a.ping("api1", DB1)
    assert cluster["node-c"].ping("db1", API1) and cluster["node-b"].ping("api2", DB1)
    assert tcp_across(cluster, "node-c", "db1", DB1, "node-a", "api1") == "over-vxlan"
    assert cluster.udp_counter() - before >= 6  # the pings and the TCP exchange travelled as VXLAN
    vxlan = a.sh("ip -d link show type vxlan").stdout
    assert "local 10.10.0.11" in vxlan and "dstport 4789" in vxlan and "nolearning" in vxlan and "proxy" in vxlan
    assert "mtu 1450" in vxlan  # the underlay's 1500 minus VXLAN's 50
    entries = fdb(cluster, "node-a")
    assert "00:00:00:00:00:00 dst 10.10.0.12 self permanent" in entries
    assert "00:00:00:00:00:00 dst 10.10.0.13 self permanent" in entries
    assert f"{DB1} lladdr 02:42:0a:c8:00:1e PERMANENT" in entries
    assert "02:42:0a:c8:00:1e dst 10.10.0.13 self permanent" in entries


def test_endpoints_leave_through_their_own_hosts_nat_unless_the_overlay_is_internal(cluster):
    cluster.sandbox.sh(f"ip -n underlay addr add {UNDERLAY_GW}/24 dev ul0")
    path = manifests(cluster, *app())
    apply_everywhere(cluster, path)
    # The underlay's 10.10.0.1 has no route to 10.200.0.0/24: replies come back only to a rewritten source.
    assert cluster["node-a"].ping("api1", UNDERLAY_GW) and cluster["node-c"].ping("db1", UNDERLAY_GW)
    path = manifests(cluster, *app(overlay("appnet", "10.200.0.0/24", internal=True)))
    apply_everywhere(cluster, path)
    assert cluster["node-a"].unreachable("api1", UNDERLAY_GW)
    assert cluster["node-a"].ping("api1", DB1)  # inside the overlay all is well


def test_an_endpoint_moved_to_another_host_keeps_working_and_leaves_nothing_stale(cluster):
    path = manifests(cluster, *app())
    apply_everywhere(cluster, path)
    net, api1, _, db1 = app()
    moved = placed("api2", "node-c", "appnet", API2)
    path = manifests(cluster, net, api1, moved, db1)
    apply_everywhere(cluster, path, "--force", order=("node-b", "node-c", "node-a"))
    assert "api2" not in cluster["node-b"].sh("ip netns list").stdout
    assert sorted(cluster["node-c"].sh("ip netns list | cut -d' ' -f1").stdout.split()) == ["api2", "db1"]
    assert cluster["node-a"].ping("api1", API2) and cluster["node-c"].ping("api2", API1)
    # node-b has no endpoint of appnet left: no bridge, no VXLAN, no entries at all.
    assert cluster["node-b"].sh("ip -o link show type vxlan; ip -o link show type bridge").stdout == ""
    entries = fdb(cluster, "node-a")
    assert "10.10.0.12" not in entries  # neither api2's MAC nor the flooding list points at node-b
    assert "02:42:0a:c8:00:14 dst 10.10.0.13 self permanent" in entries


def test_an_endpoint_moved_to_a_host_whose_bridge_saw_it_through_the_tunnel_is_reached_from_a_third_host(cluster):
    f1, f2, f3 = "10.200.0.51", "10.200.0.52", "10.200.0.53"
    net, on_a, on_b = overlay("appnet", "10.200.0.0/24"), placed("f1", "node-a", "appnet", f1), placed("f2", "node-b", "appnet", f2)
    apply_everywhere(cluster, manifests(cluster, net, on_a, on_b, placed("f3", "node-c", "appnet", f3)))
    assert cluster["node-c"].ping("f3", f2)   # f3's frames reach node-b's bridge through its VXLAN port
    # f3 moves to node-b with the same MAC (derived from its address): node-b's bridge must not keep
    # sending f3's frames back towards the tunnel they came from.
    path = manifests(cluster, net, on_a, on_b, placed("f3", "node-b", "appnet", f3))
    apply_everywhere(cluster, path, "--force", order=("node-c", "node-b", "node-a"))
    # (a stale entry would keep dropping them for the bridge's ageing time, 300 s)
    assert cluster["node-a"].ping("f1", f3, within=5) and cluster["node-a"].ping("f1", f2)
    b = cluster["node-b"]
    assert "learning off" in b.sh("bridge -d link show | grep -A1 ': vx-'").stdout
    assert "02:42:0a:c8:00:35 dev vx-" not in b.sh("bridge fdb show").stdout   # nothing places f3 behind the tunnel
    a = cluster["node-a"]
    assert "02:42:0a:c8:00:35 dev vx-" in a.sh("bridge fdb show | grep ' master ov-.* static'").stdout
    # Either half undone by hand is drift, and apply restores it.
    vx = a.sh("ip -o link show type vxlan | cut -d: -f2 | cut -d@ -f1").stdout.strip()
    a.sh(f"bridge link set dev {vx} learning on && bridge fdb del 02:42:0a:c8:00:35 dev {vx} master && "
         f"bridge fdb add 02:00:00:00:00:99 dev {vx} master dynamic")   # as if learned meanwhile
    drift = a.nr("plan", str(path), "--detailed-exitcode", check=False)
    assert drift.returncode == 2 and "learning: True -> False" in drift.stdout
    assert f"+ bridge-fdb 02:42:0a:c8:00:35 -> {vx}" in drift.stdout
    apply_everywhere(cluster, path, order=("node-a",))
    assert "02:00:00:00:00:99" not in a.sh("bridge fdb show").stdout   # what it learned is forgotten


def test_a_vni_change_is_a_replace_with_its_reason_and_traffic_resumes(cluster):
    path = manifests(cluster, *app(overlay("appnet", "10.200.0.0/24", vni=4097)))
    apply_everywhere(cluster, path)
    path = manifests(cluster, *app(overlay("appnet", "10.200.0.0/24", vni=4098)))
    plan = cluster["node-a"].nr("plan", str(path)).stdout
    assert "(vni cannot change in place: 4097 -> 4098)" in plan
    apply_everywhere(cluster, path)
    assert "vxlan id 4098" in cluster["node-b"].sh("ip -d link show type vxlan").stdout
    assert cluster["node-a"].ping("api1", API2) and cluster["node-a"].ping("api1", DB1)


def test_a_host_added_and_removed_converges_everywhere(cluster):
    net, api1, api2, _ = app()
    path = manifests(cluster, net, api1, api2)   # node-c takes no part yet
    apply_everywhere(cluster, path)
    assert "10.10.0.13" not in fdb(cluster, "node-a") and cluster["node-c"].sh("ip netns list").stdout == ""
    path = manifests(cluster, *app())            # db1 on node-c joins
    apply_everywhere(cluster, path)
    assert cluster["node-a"].ping("api1", DB1)
    path = manifests(cluster, net, api1, api2)   # and leaves again: node-c keeps nothing
    apply_everywhere(cluster, path, "--force")
    assert cluster["node-c"].sh("ip netns list; ip -o link show type vxlan; nft list ruleset").stdout == ""
    assert "10.10.0.13" not in fdb(cluster, "node-a")


def test_the_host_is_found_by_its_underlay_address_or_named_and_errors_are_clear(cluster):
    path = manifests(cluster, *app())
    a = cluster["node-a"]
    assert "+ netns api1" in a.nr("plan", str(path)).stdout
    assert "+ netns api2" in a.nr("plan", str(path), "--host", "node-b").stdout
    err = a.nr("plan", str(path), "--host", "node-x", check=False)
    assert err.returncode == 1 and "--host node-x: no such Host (declared: node-a (10.10.0.11)" in err.stderr
    a.sh("ip addr del 10.10.0.11/24 dev eth1")
    err = a.nr("apply", str(path), check=False)
    assert err.returncode == 1 and "no declared Host has its underlay address on this machine" in err.stderr
    assert a.sh("ip netns list").stdout == ""


def test_destroy_on_each_host_removes_its_share_and_nothing_else(cluster):
    before = {h.name: h.sh("ip -o link; ip -o -4 addr; ip route; nft list ruleset; ip netns list").stdout for h in cluster}
    path = manifests(cluster, *app())
    apply_everywhere(cluster, path)
    for h in cluster:
        h.nr("destroy", str(path))
    after = {h.name: h.sh("ip -o link; ip -o -4 addr; ip route; nft list ruleset; ip netns list").stdout for h in cluster}
    assert after == before


def test_a_declared_mtu_too_large_for_the_underlay_is_refused_before_any_change(cluster):
    net = overlay("appnet", "10.200.0.0/24")
    net["spec"]["mtu"] = 1480
    path = manifests(cluster, net, placed("api1", "node-a", "appnet", API1))
    result = cluster["node-a"].nr("apply", str(path), check=False)
    assert result.returncode == 1
    assert "network appnet: mtu 1480 is too large for the underlay eth1 (mtu 1500; VXLAN needs 50 bytes: at most 1450)" in result.stderr
    assert cluster["node-a"].sh("ip netns list; ip -o link show type vxlan").stdout == ""


def test_published_ports_and_services_on_an_overlay_network(cluster):
    from test_services import ask, serve

    net = overlay("appnet", "10.200.0.0/24")
    web = [placed(f"web{n}", "node-a", "appnet", f"10.200.0.1{n}") for n in (1, 2)]
    for doc in web:
        doc["metadata"]["labels"] = {"app": "web"}
    web[0]["spec"]["ports"] = [{"hostPort": 8080, "containerPort": 8000}]
    service = {"apiVersion": "netreconcile/v1", "kind": "Service", "metadata": {"name": "web"},
               "spec": {"network": "appnet", "selector": {"app": "web"}, "vip": "10.200.0.250",
                        "ports": [{"port": 80, "targetPort": 8000}]}}
    path = manifests(cluster, net, *web, placed("client", "node-a", "appnet", "10.200.0.20"),
                     placed("db1", "node-c", "appnet", DB1), service)
    apply_everywhere(cluster, path)
    a = cluster["node-a"]
    for n in (1, 2):
        serve(a, f"web{n}", 8000, f"web{n}")
    assert set(ask(a, "client", "10.200.0.250", 80, times=20)) == {"web1", "web2"}
    assert ask(cluster["node-b"], None, "10.10.0.11", 8080) == ["web1"]   # another host, to node-a's port
    assert cluster["node-c"].sh("ip netns exec db1 getent hosts web").stdout.split() == ["10.200.0.250", "web"]


def test_a_watch_on_one_host_builds_its_own_endpoints_and_learns_the_others(cluster):
    from test_watch import converges, watching

    from reconciler.watch.gate import QUIET

    b = cluster["node-b"]
    folder = cluster.sandbox.workdir / "repo"
    folder.mkdir()
    (folder / "base.yaml").write_text(text(*HOSTS, overlay("appnet", "10.200.0.0/24"),
                                           placed("api2", "node-b", "appnet", API2)))
    with watching(b, folder, "--host", "node-b"):
        converges(b, folder, lambda: "api2" in b.sh("ip netns list").stdout)
        (folder / "api1.yaml").write_text(text(placed("api1", "node-a", "appnet", API1)))   # another host's
        converges(b, folder, lambda: "02:42:0a:c8:00:0a dst 10.10.0.11" in fdb(cluster, "node-b"))
        assert "api1" not in b.sh("ip netns list").stdout
        vx = b.sh("ip -o link show type vxlan | cut -d: -f2 | cut -d@ -f1").stdout.strip()
        time.sleep(QUIET + 0.1)  # past the window in which the watch takes kernel events as its own apply's
        b.sh(f"bridge link set dev {vx} learning on")   # kernel drift, heard of as bridge port news
        converges(b, folder, lambda: "learning off" in b.sh(f"bridge -d link show dev {vx}").stdout)
        (folder / "api3.yaml").write_text(text(placed("api3", "node-b", "appnet", "10.200.0.40")))  # its own
        converges(b, folder, lambda: "api3" in b.sh("ip netns list").stdout)
    cluster["node-a"].nr("apply", str(folder))
    assert cluster["node-a"].ping("api1", "10.200.0.40")
