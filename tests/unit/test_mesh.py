"""The routing mesh, pure: mesh addresses from the manifests alone, allocation around them, and what
each host plans for a Service across hosts (tests/integration/test_mesh.py sends the traffic)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import yaml

from reconciler import graph
from reconciler.appliers.nftables import udp_backends
from reconciler.input.ipam import allocate
from reconciler.input.spec import mesh_address
from reconciler.input.validate import load_manifests
from reconciler.model import NftTable
from reconciler.planners import desired_state

CASE = Path(__file__).resolve().parent.parent / "fixtures" / "plans" / "mesh-ingress-host-without-endpoints" / "manifests.yaml"


def manifests(tmp_path: Path, edit=None, host: str = "node-a"):
    docs = list(yaml.safe_load_all(CASE.read_text()))
    if edit:
        edit(docs)
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    return replace(load_manifests([str(path)]), host=host)


def rules(m) -> dict[str, list[dict]]:
    (table,) = [o for o in desired_state(m) if isinstance(o, NftTable)]
    return {f"{r.chain} {r.comment}": json.loads(r.expr) for r in table.rules}


def test_hosts_in_name_order_take_the_top_of_the_subnet_whoever_plans(tmp_path):
    for here in ("node-a", "node-b", "node-c"):
        m = manifests(tmp_path, host=here)
        (net,) = m.networks
        assert [str(mesh_address(net, m.hosts, h)) for h in ("node-a", "node-b", "node-c")] == \
            ["10.200.0.254", "10.200.0.253", "10.200.0.252"]


def test_allocation_never_hands_out_a_mesh_address(tmp_path):
    def small(docs):
        docs[3]["spec"]["ipam"] = {"subnet": "10.200.0.0/29"}   # .1 gateway, .6 .5 .4 the hosts', .7 broadcast
        del docs[4]["spec"]["interfaces"][0]["ipv4Address"]
        del docs[6]["spec"]["vip"]
        docs.pop(5)                                              # api1 and the VIP: two dynamic requests
    given = allocate(manifests(tmp_path, small))
    assert {str(given[("api1", "appnet", 4)]), str(given[("@service/web", "appnet", 4)])} == {"10.200.0.2", "10.200.0.3"}


def test_node_a_balances_over_both_remote_backends_with_its_mesh_address_as_source(tmp_path):
    found = rules(manifests(tmp_path))
    dnat = found["nat-PREROUTING service/web vip-tcp-80"][-1]["dnat"]
    assert dnat["addr"]["map"]["data"]["set"] == [[0, "10.200.0.10"], [1, "10.200.0.20"]]
    assert "nat-PREROUTING service/web publish-tcp-all-8080" in found   # publish: ingress, the default
    snat = found["nat-POSTROUTING network/appnet mesh-10.200.0.20"]
    assert snat[-1] == {"snat": {"family": "ip", "addr": "10.200.0.254"}}
    chain = [k for k in found if k.startswith("nat-POSTROUTING")]
    assert chain.index("nat-POSTROUTING network/appnet mesh-10.200.0.20") < chain.index(
        "nat-POSTROUTING network/appnet hairpin-10.200.0.0/24")   # before the masquerade can take it


def test_client_ip_affinity_hashes_the_source_with_the_same_seed_on_every_host(tmp_path):
    def sticky(docs):
        docs[6]["spec"]["affinity"] = "clientIP"
    keys = [rules(manifests(tmp_path, sticky, host))["nat-PREROUTING service/web vip-tcp-80"][-1]["dnat"]["addr"]["map"]["key"]
            for host in ("node-a", "node-b")]
    assert keys[0] == keys[1] and keys[0]["jhash"]["expr"] == {"payload": {"protocol": "ip", "field": "saddr"}}


def test_traffic_policy_local_refuses_on_a_host_without_backends_and_publish_host_leaves_it_closed(tmp_path):
    def local(docs):
        docs[6]["spec"]["trafficPolicy"] = "local"
    found = rules(manifests(tmp_path, local))
    assert found["filter-INPUT service/web vip-tcp-80"][-1] == {"reject": {"type": "tcp reset"}}
    assert not [k for k in found if k.startswith(("nat-PREROUTING service", "nat-POSTROUTING network/appnet mesh"))]
    on_b = rules(manifests(tmp_path, local, "node-b"))["nat-PREROUTING service/web vip-tcp-80"][-1]
    assert on_b["dnat"]["addr"] == "10.200.0.10"   # its own backend only

    def host_mode(docs):
        docs[6]["spec"]["ports"][0]["publish"] = "host"
    assert desired_state(manifests(tmp_path, host_mode)) == []   # node-a takes no part in appnet at all
    on_b = rules(manifests(tmp_path, host_mode, "node-b"))["nat-PREROUTING service/web publish-tcp-all-8080"][-1]
    assert on_b["dnat"]["addr"] == "10.200.0.10"


def test_graph_draws_the_edges_to_backends_on_other_hosts_with_the_mesh_address():
    edges = {(e.tail, e.head, e.label) for e in graph.planned(load_manifests([str(CASE)]), None).edges if e.kind == "backend"}
    assert ("svc/node-a/web", "ep/api1", ":8000 via 10.200.0.254") in edges
    assert ("svc/node-a/web", "ep/api2", ":8000 via 10.200.0.254") in edges
    assert ("svc/node-b/web", "ep/api1", ":8000") in edges and ("svc/node-b/web", "ep/api2", ":8000 via 10.200.0.253") in edges
    alone = graph.planned(load_manifests([str(CASE)]), "node-a").edges   # api1 and api2 are not drawn: no dangling edge
    assert not [e for e in alone if e.kind == "backend"]


def test_a_udp_backend_that_leaves_or_moves_host_is_forgotten_where_its_path_changed(tmp_path):
    def udp(docs):
        docs[6]["spec"]["ports"] = [{"port": 53, "protocol": "udp", "hostPort": 5353}]

    def moved(docs):
        udp(docs)
        docs[5]["spec"]["host"] = "node-a"   # api2: from node-c to node-a, the same address

    def table(edit, host):
        (found,) = [o for o in desired_state(manifests(tmp_path, edit, host)) if isinstance(o, NftTable)]
        return found

    def forgotten(host):
        return sorted(a for a, _ in udp_backends(table(udp, host)) - udp_backends(table(moved, host)))

    assert forgotten("node-c") == ["10.200.0.20"]   # was local there, now reached through node-c's mesh address
    assert forgotten("node-a") == ["10.200.0.20"]   # was remote, now local
    assert forgotten("node-b") == []                 # remote before and after: its flows still work
