"""Our nftables table, always written whole in one atomic `nft -j -f -` transaction: created where
there is none, replaced or removed only where the one there carries our marker."""

from __future__ import annotations

from reconciler.appliers.registry import Applier, Changed, register
from reconciler.errors import ApplyError
from reconciler.kernel import nft
from reconciler.model import NftTable


@register("nft")
class NftApplier(Applier[NftTable]):
    """Our nftables table, written whole."""

    def create(self, obj: NftTable) -> None:
        _write(obj, existing=False)

    def update(self, want: NftTable, changed: Changed) -> None:
        _write(want, existing=True)

    def delete(self, obj: NftTable) -> None:
        _write(None, existing=True)


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
