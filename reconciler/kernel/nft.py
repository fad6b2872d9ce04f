"""nftables: read our table, and write it whole in one atomic transaction.

Through libnftables in-process (reconciler.kernel.libnft) where the library loads, else by forking
`nft -j`, as also when NETRECONCILE_NFT=cli: the same commands, the same JSON and the same errors
(the library's error text is what `nft` prints on stderr).

Our table carries a marker, the empty chain NFT_MARKER, written in the transaction that creates the
table: a table of the same name without it is not ours (made by hand) and is never read as ours,
replaced or deleted. Each transaction checks the marker itself: a create fails if the table exists, a
replace or delete starts by deleting the marker, which fails (and aborts it whole) if it is not there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from functools import cache
from typing import Any

from reconciler.errors import ApplyError, ForeignTable, NetreconcileError
from reconciler.kernel import libnft
from reconciler.model import (
    NFT_FAMILY,
    NFT_MARKER,
    NFT_TABLE,
    NftChain,
    NftRule,
    NftTable,
)

TABLE = {"family": NFT_FAMILY, "name": NFT_TABLE}
MARKER = {"family": NFT_FAMILY, "table": NFT_TABLE, "name": NFT_MARKER}


@cache
def library() -> libnft.Library | None:
    """libnftables, or None where it does not load or NETRECONCILE_NFT=cli asks for `nft -j`."""
    if os.environ.get("NETRECONCILE_NFT") == "cli":
        return None
    lib = libnft.load()
    return libnft.Library(lib) if lib is not None else None


def _nft(command: str, args: list[str], stdin: str | None = None) -> libnft.Result:
    """`command` through the library, else `nft -j` with `args` (and `stdin`)."""
    lib = library()
    if lib is not None:
        return lib.run(command)
    binary = shutil.which("nft")
    if binary is None:
        raise NetreconcileError("the nft command is missing: install the nftables package")
    done = subprocess.run([binary, "-j", *args], input=stdin, capture_output=True, text=True, check=False)
    return libnft.Result(done.returncode, done.stdout, done.stderr)


def read_table() -> NftTable | None:
    """Our table as the kernel holds it, or None when it does not exist; ForeignTable when a table of
    its name exists without our marker."""
    listing = f"list table {NFT_FAMILY} {NFT_TABLE}"
    result = _nft(listing, listing.split())
    if result.returncode != 0:
        if "No such file" in result.stderr:
            return None
        raise NetreconcileError(f"nft list table failed: {result.stderr.strip()}")
    return parse_table(json.loads(result.stdout))


def parse_table(listing: dict[str, Any]) -> NftTable:
    """Our table from its `nft -j list table` listing (the marker left out); ForeignTable without it."""
    chains, rules, marked = [], [], False
    for item in listing.get("nftables", []):
        if "chain" in item and item["chain"]["name"] == NFT_MARKER:
            marked = True
        elif "chain" in item:
            c = item["chain"]
            chains.append(NftChain(c["name"], c.get("type"), c.get("hook"), c.get("prio"), c.get("policy")))
        elif "rule" in item:
            r = item["rule"]
            expr = json.dumps(r.get("expr", []), sort_keys=True, separators=(",", ":"))
            rules.append(NftRule(r["chain"], r.get("comment", ""), expr))
    if not marked:
        raise ForeignTable(f"table {NFT_FAMILY} {NFT_TABLE} has no chain {NFT_MARKER}: it is not ours")
    return NftTable.of(chains, rules)


def transaction(table: NftTable | None, existing: bool = True) -> dict[str, Any]:
    """One nft JSON batch: create our table as `table` (`existing` False), or replace our existing
    table by `table` (None: remove it)."""
    commands: list[dict[str, Any]] = []
    if existing:
        commands += [{"delete": {"chain": MARKER}}, {"delete": {"table": TABLE}}]
    if table is not None:
        commands += [{"create": {"table": TABLE}}, {"add": {"chain": MARKER}}]
        commands += [{"add": {"chain": _chain(c)}} for c in table.chains]
        commands += [{"add": {"rule": _rule(r)}} for r in table.rules]
    return {"nftables": commands}


def _chain(c: NftChain) -> dict[str, Any]:
    out: dict[str, Any] = {"family": NFT_FAMILY, "table": NFT_TABLE, "name": c.name}
    if c.hook:
        out |= {"type": c.type, "hook": c.hook, "prio": c.prio, "policy": c.policy}
    return out


def _rule(r: NftRule) -> dict[str, Any]:
    return {"family": NFT_FAMILY, "table": NFT_TABLE, "chain": r.chain, "comment": r.comment, "expr": json.loads(r.expr)}


def write_table(table: NftTable | None, existing: bool = True) -> None:
    """Create (`existing` False), replace or (None) remove our table, atomically."""
    batch = json.dumps(transaction(table, existing))
    result = _nft(batch, ["-f", "-"], batch)
    if result.returncode != 0:
        raise ApplyError(f"nft transaction failed: {result.stderr.strip()}")
