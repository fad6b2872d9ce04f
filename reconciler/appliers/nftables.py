"""Our nftables table, always written whole in one atomic `nft -j -f -` transaction: created where
there is none, replaced or removed only where the one there carries our marker. A UDP backend the
new table no longer DNATs to loses its conntrack entries (kernel.conntrack), so its flows move."""

from __future__ import annotations

import json
from typing import Any

from reconciler.appliers.registry import Applier, Changed, register
from reconciler.errors import ApplyError
from reconciler.kernel import conntrack, nft
from reconciler.model import NftTable


@register("nft")
class NftApplier(Applier[NftTable]):
    """Our nftables table, written whole."""

    def create(self, obj: NftTable) -> None:
        _write(obj, existing=False)

    def update(self, want: NftTable, changed: Changed) -> None:
        before = nft.read_table()
        _write(want, existing=True)
        conntrack.forget_udp(a for a, _ in udp_backends(before) - udp_backends(want))

    def delete(self, obj: NftTable) -> None:
        before = nft.read_table()
        _write(None, existing=True)
        conntrack.forget_udp(a for a, _ in udp_backends(before))


def _write(table: NftTable | None, existing: bool) -> None:
    """Write `table` (None: remove ours) over the table expected there. Where ours turns out to be there
    after all, or not, the write is made again as it is (removing a table already gone is done); a
    table of our name that is not ours fails the step (ForeignTable), untouched."""
    try:
        nft.write_table(table, existing)
    except ApplyError:
        present = nft.read_table() is not None
        if present == existing:
            raise
        if table is not None or present:
            nft.write_table(table, present)


def udp_backends(table: NftTable | None) -> set[tuple[str, str | None]]:
    """The addresses the table's rules DNAT UDP traffic to, each with the source address a connection
    to it takes (the routing mesh's SNAT to a remote backend, else None): a backend moved to another
    host keeps its address but changes its path, and its flows must be balanced afresh too."""
    found: set[str] = set()
    rewritten: dict[str, str] = {}
    for r in table.rules if table else ():
        expr: list[dict[str, Any]] = json.loads(r.expr)
        udp = any(_matched(e, "protocol") == "udp" for e in expr)
        for e in expr:
            if udp and "dnat" in e:
                found |= _targets(e["dnat"].get("addr"))
            if "snat" in e:
                rewritten |= {str(m["match"]["right"]): e["snat"]["addr"] for m in expr if _matched(m, "field") == "daddr"}
    return {(a, rewritten.get(a)) for a in found}


def _matched(e: dict[str, Any], key: str) -> Any:
    return e.get("match", {}).get("left", {}).get("payload", {}).get(key)


def _targets(addr: Any) -> set[str]:
    """One address, or the addresses of a spread (`numgen`/`jhash` map)."""
    if isinstance(addr, str):
        return {addr}
    return {str(a) for _, a in addr.get("map", {}).get("data", {}).get("set", [])} if isinstance(addr, dict) else set()
