"""Observed kernel state written as YAML, for planner fixtures.

A list of objects, each a mapping with `kind` (netns, sysctl, bridge, veth, vlan, dummy, macvlan, ipvlan,
vxlan, fdb, bridge-fdb, neigh, hosts, address, route, nft) and
the fields of that model class; an nft table gives `chains` and `rules` as lists of mappings.
Entries with `foreign:` (link, netns or nft) instead name same-named objects that are not ours:
`{foreign: link, name: br-front}`, `{foreign: link, netns: a, name: eth0}`, `{foreign: netns, name: a}`,
`{foreign: nft}` (a table inet netreconcile without our marker).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from reconciler.model import (
    Address,
    Bridge,
    BridgeFdb,
    Dummy,
    Fdb,
    HostsFile,
    Ipvlan,
    KernelObject,
    Macvlan,
    Neigh,
    Netns,
    NftChain,
    NftRule,
    NftTable,
    ResolvConf,
    Route,
    Sysctl,
    Veth,
    Vlan,
    Vxlan,
    link_key,
)
from reconciler.model.dns import Resolver
from reconciler.planning.plan import Observed

KINDS = {
    cls.kind: cls for cls in (
        Netns, Sysctl, Bridge, Veth, Address, Route, Vlan, Dummy, Macvlan, Ipvlan, Vxlan, Fdb, BridgeFdb, Neigh, HostsFile,
        ResolvConf,
    )
}


def load_observed(path: Path) -> Observed:
    objects, foreign = {}, set()
    for entry in yaml.safe_load(path.read_text()) or []:
        fields = dict(entry)
        if "foreign" in fields:
            foreign.add(foreign_key(fields))
        else:
            obj = kernel_object(fields.pop("kind"), fields)
            objects[obj.key] = obj
    return Observed(objects, frozenset(foreign))


def kernel_object(kind: str, fields: dict) -> KernelObject:
    if kind == "nft":
        chains = (NftChain(**c) for c in fields.get("chains", ()))
        return NftTable.of(chains, (NftRule(**r) for r in fields.get("rules", ())))
    if kind == "resolver":  # the process: the digest of the state it loaded, the namespaces it serves
        return Resolver(fields["digest"], tuple(sorted(fields["serving"])))
    return KINDS[kind](**fields)


def foreign_key(fields: dict) -> tuple:
    if fields["foreign"] == "netns":
        return ("netns", fields["name"])
    if fields["foreign"] == "nft":
        return NftTable().key
    assert fields["foreign"] == "link", fields
    return link_key(fields.get("netns"), fields["name"])
