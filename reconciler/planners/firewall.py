"""Our nftables table, as pure data: base chains laid out as Docker's, rules built by the drivers.

Each rule carries a comment `<owner> <label>`; rules are compared whole (nft lists back exactly the
JSON we write), and any difference rewrites the table in one atomic transaction.
"""

from __future__ import annotations

import json
from ipaddress import ip_network
from typing import Any

from reconciler.model import NftChain, NftRule, NftTable

FORWARD, POSTROUTING, RAW_PREROUTING = "filter-FORWARD", "nat-POSTROUTING", "raw-PREROUTING"
PREROUTING, OUTPUT = "nat-PREROUTING", "nat-OUTPUT"
INPUT = "filter-INPUT"  # Service ports refused on a host with no backend of its own (trafficPolicy local)
BASE_CHAINS = (
    NftChain(FORWARD, "filter", "forward", 0, "accept"),
    NftChain(POSTROUTING, "nat", "postrouting", 100, "accept"),
    NftChain(RAW_PREROUTING, "filter", "prerouting", -300, "accept"),
)
# DNAT of published ports and services (numeric priorities: Debian 12's nft refuses `dstnat` on output)
DNAT_CHAINS = (
    NftChain(PREROUTING, "nat", "prerouting", -100, "accept"),
    NftChain(OUTPUT, "nat", "output", -100, "accept"),
    NftChain(INPUT, "filter", "input", 0, "accept"),
)
Json = dict[str, Any]  # one statement of nft's JSON syntax
Expr = list[Json]


def rule(owner: str, chain: str, label: str, expr: Expr) -> NftRule:
    return NftRule(chain, f"{owner} {label}", json.dumps(expr, sort_keys=True, separators=(",", ":")))


def table(rules: list[NftRule]) -> NftTable | None:
    """The whole table, or None when there is nothing to filter (then the table is removed)."""
    if not rules:
        return None
    used = {r.chain for r in rules}
    dnat = tuple(c for c in DNAT_CHAINS if c.name in used)
    regular = sorted(used - {c.name for c in BASE_CHAINS + DNAT_CHAINS})
    return NftTable.of(BASE_CHAINS + dnat + tuple(NftChain(c) for c in regular), rules)


def meta(key: str, value: str, op: str = "==") -> Json:
    return {"match": {"op": op, "left": {"meta": {"key": key}}, "right": value}}


def addr(field: str, cidr: str, op: str = "==") -> Json:
    net = ip_network(cidr, strict=False)
    protocol = "ip" if net.version == 4 else "ip6"
    right: Any = str(net.network_address) if net.prefixlen == net.max_prefixlen else {
        "prefix": {"addr": str(net.network_address), "len": net.prefixlen}
    }
    return {"match": {"op": op, "left": {"payload": {"protocol": protocol, "field": field}}, "right": right}}


def ct_state(*states: str) -> Json:
    return {"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": list(states)}}


def verdict(name: str, target: str | None = None) -> Json:
    return {name: {"target": target}} if target else {name: None}


def fib_local(field: str = "daddr") -> Json:
    """`fib daddr type local`: addressed to one of the host's own addresses."""
    return {"match": {"op": "==", "left": {"fib": {"result": "type", "flags": [field]}}, "right": "local"}}


def dport(protocol: str, port: int) -> Json:
    return {"match": {"op": "==", "left": {"payload": {"protocol": protocol, "field": "dport"}}, "right": port}}


def ct_status(status: str) -> Json:
    return {"match": {"op": "in", "left": {"ct": {"key": "status"}}, "right": status}}


def dnat(addresses: list[str], port: int, version: int = 4, seed: int | None = None) -> Json:
    """DNAT to one address, or spread over several in turn (numgen inc, a map from 0..n-1), or by a
    hash of the client's address with `seed` (jhash: the same client, the same backend). In our inet
    table a `dnat ip` rule leaves IPv6 packets alone, and `dnat ip6` IPv4 ones."""
    family = "ip" if version == 4 else "ip6"
    if len(addresses) == 1:
        return {"dnat": {"family": family, "addr": addresses[0], "port": port}}
    key: Json = {"numgen": {"mode": "inc", "mod": len(addresses), "offset": 0}}
    if seed is not None:  # a seed of our own: nft would draw a new one at every write of the table
        key = {"jhash": {"mod": len(addresses), "seed": seed, "expr": {"payload": {"protocol": family, "field": "saddr"}}}}
    spread = {"map": {"key": key, "data": {"set": [[i, a] for i, a in enumerate(addresses)]}}}
    return {"dnat": {"family": family, "addr": spread, "port": port}}


def snat(address: str) -> Json:
    return {"snat": {"family": "ip", "addr": address}}


def reject(protocol: str) -> Json:
    """A TCP reset, else port unreachable (ICMP or ICMPv6, as the packet is): the client learns at once
    that nothing answers here."""
    return {"reject": {"type": "tcp reset"}} if protocol == "tcp" else {"reject": {"type": "icmpx", "expr": "port-unreachable"}}
