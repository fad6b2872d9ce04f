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
BASE_CHAINS = (
    NftChain(FORWARD, "filter", "forward", 0, "accept"),
    NftChain(POSTROUTING, "nat", "postrouting", 100, "accept"),
    NftChain(RAW_PREROUTING, "filter", "prerouting", -300, "accept"),
)
Expr = list[dict[str, Any]]


def rule(owner: str, chain: str, label: str, expr: Expr) -> NftRule:
    return NftRule(chain, f"{owner} {label}", json.dumps(expr, sort_keys=True, separators=(",", ":")))


def table(rules: list[NftRule]) -> NftTable | None:
    """The whole table, or None when there is nothing to filter (then the table is removed)."""
    if not rules:
        return None
    base = {c.name for c in BASE_CHAINS}
    regular = sorted({r.chain for r in rules} - base)
    return NftTable.of(BASE_CHAINS + tuple(NftChain(c) for c in regular), rules)


def meta(key: str, value: str, op: str = "==") -> dict:
    return {"match": {"op": op, "left": {"meta": {"key": key}}, "right": value}}


def addr(field: str, cidr: str, op: str = "==") -> dict:
    net = ip_network(cidr, strict=False)
    protocol = "ip" if net.version == 4 else "ip6"
    right: Any = str(net.network_address) if net.prefixlen == net.max_prefixlen else {
        "prefix": {"addr": str(net.network_address), "len": net.prefixlen}
    }
    return {"match": {"op": op, "left": {"payload": {"protocol": protocol, "field": field}}, "right": right}}


def ct_state(*states: str) -> dict:
    return {"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": list(states)}}


def verdict(name: str, target: str | None = None) -> dict:
    return {name: {"target": target}} if target else {name: None}
