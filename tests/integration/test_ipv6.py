"""IPv6 and dual stack on the drivers this kernel has (bridge, macvlan, overlay), with real traffic.
The outside world uses the documentation prefix 2001:db8::/32."""

import json

from builders import (
    PARENT,
    converge,
    endpoint,
    make_lan,
    out,
    run_fails_cleanly,
    text,
    write,
)
from test_overlay import HOSTS, apply_everywhere, placed

OUT6_HOST, OUT6_PEER = "2001:db8:100::1", "2001:db8:100::2"


def dual(name="ds", mode: str | None = None, v4: bool = True, internal: bool = False) -> dict:
    subnets = ([{"subnet": "172.22.0.0/24"}] if v4 else []) + [{"subnet": "fd00:22::/64"}]
    spec = {"driver": "bridge", "enableIPv6": True, "ipam": {"subnets": subnets}}
    if not v4:
        spec["enableIPv4"] = False
    if mode:
        spec["bridge"] = {"ipv6Mode": mode}
    if internal:
        spec["internal"] = True
    return {"apiVersion": "netreconcile/v1", "kind": "Network", "metadata": {"name": name}, "spec": spec}


def v6_endpoint(name: str, address: str, network: str = "ds", v4: str | None = None) -> dict:
    iface = {"network": network, "ipv6Address": address, **({"ipv4Address": v4} if v4 else {})}
    return endpoint(name, iface)


def make_outside6(sandbox) -> None:
    """An IPv6 host outside, behind an uplink: it knows no route to fd00:22::/64 unless told, and counts
    the echo requests it gets from the host's address and from anything else."""
    sandbox.sh(
        "ip netns add out6 && ip -n out6 link set lo up && ip link add up6 type veth peer name eth0 netns out6 && "
        f"ip addr add {OUT6_HOST}/64 dev up6 nodad && ip link set up6 up && "
        f"ip -n out6 addr add {OUT6_PEER}/64 dev eth0 nodad && ip -n out6 link set eth0 up && "
        "ip netns exec out6 nft -f - <<'EOF'\n"
        "table ip6 seen {\n  chain input {\n    type filter hook input priority 0; policy accept;\n"
        f"    icmpv6 type echo-request ip6 saddr {OUT6_HOST} counter comment \"from-host\"\n"
        f"    icmpv6 type echo-request ip6 saddr != {OUT6_HOST} counter comment \"from-other\"\n  }}\n}}\nEOF"
    )


def ping6(sandbox, ns: str, address: str) -> bool:
    """Up to three echoes (the first may wait for neighbour discovery): True when one comes back."""
    return sandbox.sh(f"ip netns exec {ns} ping -6 -c3 -i0.2 -W1 {address}", check=False).returncode == 0


def seen6(sandbox) -> dict[str, int]:
    listing = json.loads(out(sandbox, "ip netns exec out6 nft -j list table ip6 seen"))
    return {i["rule"]["comment"]: next(e["counter"]["packets"] for e in i["rule"]["expr"] if "counter" in e)
            for i in listing["nftables"] if "rule" in i}


def test_dual_stack_bridge_endpoints_reach_each_other_and_the_gateway_over_ipv6(sandbox):
    path = write(sandbox, dual(), v6_endpoint("a", "fd00:22::a"), v6_endpoint("b", "fd00:22::b"))
    converge(sandbox, path)
    assert sandbox.sh("ip netns exec a ping -6 -c1 -W1 fd00:22::b").returncode == 0
    assert sandbox.sh("ip netns exec b ping -6 -c1 -W1 fd00:22::1").returncode == 0
    assert sandbox.ping("a", out(sandbox, "ip -n b -4 -o addr show eth0").split()[3].split("/")[0])
    assert out(sandbox, "ip -n a -6 route show default").split()[:3] == ["default", "via", "fd00:22::1"]
    assert out(sandbox, "ip netns exec a sysctl -n net.ipv6.conf.eth0.accept_ra net.ipv6.conf.eth0.autoconf").split() == ["0", "0"]
    assert out(sandbox, "ip netns exec a getent ahostsv6 b").split()[0] == "fd00:22::b"   # the AAAA side of the names, from the resolver
    rows = json.loads(sandbox.nr("status", str(path), "-o", "json").stdout)["objects"]
    shown = {r["title"] for r in rows if r["kind"] == "address"}
    assert {"fd00:22::a/64 on a/eth0", "fd00:22::1/64 on br-ds"} <= shown and any("172.22.0." in t for t in shown)


def test_a_network_without_ipv6_has_it_disabled_but_loopback_keeps_it(sandbox):
    v4only = {"apiVersion": "netreconcile/v1", "kind": "Network", "metadata": {"name": "v4"},
              "spec": {"driver": "bridge", "ipam": {"subnet": "172.23.0.0/24"}}}
    path = write(sandbox, v4only, endpoint("a", "v4"))
    converge(sandbox, path)
    assert out(sandbox, "ip netns exec a sysctl -n net.ipv6.conf.eth0.disable_ipv6").strip() == "1"
    assert "::1/128" in out(sandbox, "ip -n a -6 addr show lo")
    assert out(sandbox, "ip -n a -6 route show default") == ""


def test_ipv6_nat_reaches_the_outside_as_the_host_and_routed_mode_does_not_nat(sandbox):
    make_outside6(sandbox)
    path = write(sandbox, dual(), v6_endpoint("a", "fd00:22::a"))
    converge(sandbox, path)
    assert ping6(sandbox, "a", OUT6_PEER)
    seen = seen6(sandbox)
    assert seen["from-host"] >= 1 and seen["from-other"] == 0
    # routed: no NAT; the outside sees the endpoint's own address, and with a route back it answers.
    write(sandbox, dual(mode="routed"), v6_endpoint("a", "fd00:22::a"))
    report = converge(sandbox, path)
    assert "ip -6 route add fd00:22::/64 via <this host's IPv6 address>" in report
    table = out(sandbox, "nft list table inet netreconcile")
    assert "ip6 saddr fd00:22::/64" not in table and "ip saddr 172.22.0.0/24" in table  # IPv4 still NATed
    assert not ping6(sandbox, "a", OUT6_PEER)  # the outside has no way back to fd00:22::/64
    assert seen6(sandbox)["from-other"] >= 1   # but it did see the endpoint's own address
    sandbox.sh(f"ip -n out6 -6 route add fd00:22::/64 via {OUT6_HOST}")
    assert ping6(sandbox, "a", OUT6_PEER)


def test_an_ipv6_only_network(sandbox):
    path = write(sandbox, dual("v6only", v4=False), v6_endpoint("a", "fd00:22::a", "v6only"),
                 v6_endpoint("b", "fd00:22::b", "v6only"))
    converge(sandbox, path)
    assert out(sandbox, "ip -n a -4 addr show eth0") == ""
    assert sandbox.sh("ip netns exec a ping -6 -c1 -W1 fd00:22::b").returncode == 0
    bad = write(sandbox, dual("v6only", v4=False) | {"spec": {**dual("v6only", v4=False)["spec"], "enableIPv6": False}},
                name="bad/m.yaml")
    assert "enableIPv4 and enableIPv6 are both false" in run_fails_cleanly(sandbox, "validate", str(bad))


def test_dual_stack_macvlan_with_a_v6_gateway(sandbox):
    make_lan(sandbox)
    sandbox.sh("ip -n lan addr add fd00:60::1/64 dev lanbr nodad && ip -n pc addr add fd00:60::50/64 dev eth0 nodad")
    net = {"apiVersion": "netreconcile/v1", "kind": "Network", "metadata": {"name": "lan60"},
           "spec": {"driver": "macvlan", "enableIPv6": True, "macvlan": {"parent": PARENT},
                    "ipam": {"subnets": [{"subnet": "192.168.60.0/24", "gateway": "192.168.60.1"},
                                         {"subnet": "fd00:60::/64", "gateway": "fd00:60::1"}]}}}
    path = write(sandbox, net, endpoint("a", {"network": "lan60", "ipv6Address": "fd00:60::21"}))
    converge(sandbox, path)
    assert sandbox.sh("ip netns exec a ping -6 -c1 -W1 fd00:60::50").returncode == 0
    assert out(sandbox, "ip -n a -6 route show default").split()[:3] == ["default", "via", "fd00:60::1"]


def test_dual_stack_overlay_across_hosts(cluster):
    net = {"apiVersion": "netreconcile/v1", "kind": "Network", "metadata": {"name": "appnet"},
           "spec": {"driver": "overlay", "enableIPv6": True,
                    "ipam": {"subnets": [{"subnet": "10.200.0.0/24"}, {"subnet": "fd00:200::/64"}]}}}
    a = placed("api1", "node-a", "appnet", "10.200.0.10")
    a["spec"]["interfaces"][0]["ipv6Address"] = "fd00:200::10"
    c = placed("db1", "node-c", "appnet", "10.200.0.30")
    c["spec"]["interfaces"][0]["ipv6Address"] = "fd00:200::30"
    path = cluster.sandbox.write("m/net.yaml", text(*HOSTS, net, a, c))
    apply_everywhere(cluster, path, order=("node-a", "node-c"))
    assert cluster["node-a"].sh("ip netns exec api1 ping -6 -c1 -W2 fd00:200::30").returncode == 0
    assert "fd00:200::30 dev vx-" in cluster["node-a"].sh("ip -6 neigh show nud permanent").stdout


def test_published_ports_and_services_answer_over_ipv6_too(sandbox):
    from test_services import ask, serve

    make_outside6(sandbox)
    web1 = v6_endpoint("web1", "fd00:22::11", v4="172.22.0.11")
    web1["metadata"]["labels"] = {"app": "web"}
    web1["spec"]["ports"] = [{"hostPort": 8080, "containerPort": 80}]
    web2 = v6_endpoint("web2", "fd00:22::12", v4="172.22.0.12")
    web2["metadata"]["labels"] = {"app": "web"}
    service = {"apiVersion": "netreconcile/v1", "kind": "Service", "metadata": {"name": "web"},
               "spec": {"network": "ds", "selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8000}]}}
    path = write(sandbox, dual(), web1, web2, v6_endpoint("client", "fd00:22::20"), service)
    report = converge(sandbox, path)
    assert "publishes [::]:8080/tcp -> web1:80" in report and "publishes 0.0.0.0:8080/tcp -> web1:80" in report
    serve(sandbox, "web1", 80, "v6-published")
    for n in (1, 2):
        serve(sandbox, f"web{n}", 8000, f"web{n}")
    sandbox.sh(f"ip -n out6 -6 route add default via {OUT6_HOST}")
    assert ask(sandbox, "out6", OUT6_HOST, 8080) == ["v6-published"]              # from outside, over IPv6
    vip6 = out(sandbox, "ip netns exec client getent ahosts web | grep fd00 | head -1").split()[0]
    assert set(ask(sandbox, "client", vip6, 80, times=20)) == {"web1", "web2"}    # an IPv6 VIP, IPv6 backends


def test_an_overlay_over_an_ipv6_underlay(cluster):
    from test_overlay import host as host_doc

    for n, h in zip((11, 12, 13), cluster):
        h.sh(f"ip addr add fd00:10::{n}/64 dev eth1 nodad")
    hosts = [host_doc("node-a", "fd00:10::11"), host_doc("node-b", "fd00:10::12"), host_doc("node-c", "fd00:10::13")]
    net = {"apiVersion": "netreconcile/v1", "kind": "Network", "metadata": {"name": "appnet"},
           "spec": {"driver": "overlay", "ipam": {"subnet": "10.200.0.0/24"}}}
    eps = [placed("api1", "node-a", "appnet", "10.200.0.10"), placed("db1", "node-c", "appnet", "10.200.0.30")]
    path = cluster.sandbox.write("m/net.yaml", text(*hosts, net, *eps))
    before = cluster.udp_counter()
    for name in ("node-a", "node-c"):
        cluster[name].nr("apply", str(path))   # each finds itself by its IPv6 underlay address
    assert cluster["node-a"].ping("api1", "10.200.0.30")
    assert "local fd00:10::11" in cluster["node-a"].sh("ip -d link show type vxlan").stdout
    assert "dst fd00:10::13" in cluster["node-a"].sh("bridge fdb show | grep 00:00:00:00:00:00").stdout
    assert cluster.udp_counter() > before
    assert "mtu 1430" in cluster["node-a"].sh("ip link show type vxlan").stdout  # 1500 - 70 over IPv6
