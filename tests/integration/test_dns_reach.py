"""The embedded resolver on every driver and towards the outside: names on macvlan and across an
overlay's hosts, forwarding to a real upstream (dnsmasq) from the host's resolv.conf or from a
network's or endpoint's `dns.servers`, the TTL of `dns.ttl`, nothing sent out for an internal
endpoint, and an endpoint added by the watch resolving within its reconcile."""

from __future__ import annotations

import time

import pytest
from builders import (
    OUTSIDE,
    PARENT,
    ROUTER,
    UPLINK_OUT,
    converge,
    endpoint,
    iface,
    lower_network,
    make_lan,
    make_outside,
    network,
    out,
    write,
)
from test_overlay import API1, DB1, app, apply_everywhere, manifests
from test_watch import base, converges, watching

pytestmark = pytest.mark.kernel

EXAMPLE = "192.0.2.7"  # what the upstream answers for www.example.test
DEAD = "198.51.100.99"  # on the uplink's subnet, answered by no one


def dig(sandbox, ns: str, *query: str) -> str:
    return out(sandbox, f"ip netns exec {ns} dig +time=3 +tries=1 @127.0.0.11 {' '.join(query)}")


def short(sandbox, ns: str, *query: str) -> list[str]:
    return dig(sandbox, ns, "+short", *query).split()


def start_upstream(sandbox) -> None:
    """dnsmasq in the outside namespace: one record of its own, nothing else (no upstream of its own)."""
    make_outside(sandbox)
    sandbox.sh(f"ip netns exec {OUTSIDE} dnsmasq --no-resolv --no-hosts --bind-interfaces "
               f"--listen-address={UPLINK_OUT} --local=/example.test/ --address=/www.example.test/{EXAMPLE} --pid-file= "
               "--user=root --group=root")
    sandbox.sh(f"ip netns exec {OUTSIDE} nft add table ip dns && ip netns exec {OUTSIDE} nft add chain ip dns in "
               "'{ type filter hook input priority 0; }' && "
               f"ip netns exec {OUTSIDE} nft add rule ip dns in udp dport 53 counter")


def queries_seen(sandbox) -> int:
    listing = out(sandbox, f"ip netns exec {OUTSIDE} nft list chain ip dns in")
    return int(listing.split("counter packets ")[1].split()[0])


def with_dns(doc: dict, **dns) -> dict:
    doc["spec"]["dns"] = dns
    return doc


def host_resolv_conf(sandbox, text: str) -> None:
    """The sandbox's own /etc/resolv.conf (its mount namespace is private): what the host would have."""
    conf = sandbox.write("etc-resolv.conf", text)
    sandbox.sh(f"mount --bind {conf} /etc/resolv.conf")


def test_names_on_a_macvlan_lan_resolve_as_on_a_bridge(sandbox):
    make_lan(sandbox)
    lan = lower_network("lan60", "macvlan", "192.168.60.0/24", gateway=ROUTER, parent=PARENT)
    converge(sandbox, write(sandbox, lan, endpoint("a", iface("lan60", "192.168.60.21")),
                            endpoint("b", iface("lan60", "192.168.60.22"))))
    assert out(sandbox, "ip netns exec a getent hosts b").split() == ["192.168.60.22", "b"]
    assert short(sandbox, "b", "a.lan60") == ["192.168.60.21"]


def test_an_overlays_endpoints_on_other_hosts_resolve(cluster):
    apply_everywhere(cluster, manifests(cluster, *app()))
    a = cluster["node-a"]
    assert out(a, "ip netns exec api1 getent hosts db1").split() == [DB1, "db1"]  # db1 lives on node-c
    assert out(cluster["node-c"], "ip netns exec db1 getent hosts api1").split() == [API1, "api1"]
    assert a.sh("ip netns exec api1 ping -c1 -W2 db1", check=False).returncode == 0


def test_other_names_go_to_the_hosts_servers_and_endpoints_keep_its_search_domains(sandbox):
    start_upstream(sandbox)
    host_resolv_conf(sandbox, f"nameserver {UPLINK_OUT}\nsearch corp.example\n")
    converge(sandbox, write(sandbox, network("front", "172.20.0.0/24"), endpoint("a", "front")))
    assert "search corp.example" in out(sandbox, "cat /etc/netns/a/resolv.conf")
    before = queries_seen(sandbox)
    assert short(sandbox, "a", "www.example.test") == [EXAMPLE]
    assert "status: NXDOMAIN" in dig(sandbox, "a", "nothing.example.test")  # the upstream's NXDOMAIN, passed on
    assert queries_seen(sandbox) == before + 2
    assert out(sandbox, "ip netns exec a getent hosts www.example.test").split() == [EXAMPLE, "www.example.test"]


def test_the_endpoints_servers_win_over_its_networks_and_the_networks_ttl_is_given(sandbox):
    start_upstream(sandbox)
    host_resolv_conf(sandbox, f"nameserver {DEAD}\n")
    front = with_dns(network("front", "172.20.0.0/24"), ttl=42, servers=[DEAD])
    mine = with_dns(endpoint("a", "front"), servers=[UPLINK_OUT])
    converge(sandbox, write(sandbox, front, mine, endpoint("b", "front")))
    assert short(sandbox, "a", "www.example.test") == [EXAMPLE]
    answer = dig(sandbox, "a", "+noall", "+answer", "b").split()
    assert answer[0] == "b." and answer[1] == "42", answer
    # b has the network's dead server only: SERVFAIL, within the bound (one server, its timeout)
    start = time.monotonic()
    assert "status: SERVFAIL" in out(sandbox, "ip netns exec b dig +time=8 +tries=1 @127.0.0.11 www.example.test")
    assert time.monotonic() - start < 5


def test_an_internal_endpoint_sends_nothing_out(sandbox):
    start_upstream(sandbox)
    host_resolv_conf(sandbox, f"nameserver {UPLINK_OUT}\n")
    converge(sandbox, write(sandbox, network("front", "172.20.0.0/24"), network("back", "172.21.0.0/24", internal=True),
                            endpoint("app", "front", "back"), endpoint("db", "back")))
    before = queries_seen(sandbox)
    assert "status: SERVFAIL" in dig(sandbox, "db", "www.example.test")
    assert short(sandbox, "db", "app") != []
    assert queries_seen(sandbox) == before  # nothing reached the upstream
    assert short(sandbox, "app", "www.example.test") == [EXAMPLE]  # app is on a network that is not internal
    assert queries_seen(sandbox) == before + 1


def test_an_endpoint_added_by_the_watch_resolves_within_its_reconcile(sandbox):
    folder = base(sandbox)
    with watching(sandbox, folder):
        write(sandbox, endpoint("c", iface("front", "172.20.0.12")), name="m/c.yaml")
        converges(sandbox, folder, lambda: sandbox.sh("ip netns exec a getent hosts c", check=False).returncode == 0)
        assert out(sandbox, "ip netns exec a getent hosts c").split() == ["172.20.0.12", "c"]
        assert out(sandbox, "ip netns exec c getent hosts a").split() == ["172.20.0.10", "a"]
