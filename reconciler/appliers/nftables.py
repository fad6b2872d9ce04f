"""Our nftables table, always written whole in one atomic `nft -j -f -` transaction: created where
there is none, replaced or removed only where the one there carries our marker."""

from __future__ import annotations

from reconciler import nft
from reconciler.appliers import Applier, register
from reconciler.model import NftTable


@register("nft")
class NftApplier(Applier):
    def create(self, obj: NftTable) -> None:
        nft.write_table(obj, existing=False)

    def update(self, want: NftTable, have: NftTable) -> None:
        nft.write_table(want)

    def delete(self, obj: NftTable) -> None:
        nft.write_table(None)
