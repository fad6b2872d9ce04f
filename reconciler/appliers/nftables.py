"""Our nftables table, always rewritten whole in one atomic `nft -j -f -` transaction."""

from __future__ import annotations

from reconciler import nft
from reconciler.appliers import Applier, register
from reconciler.model import NftTable


@register("nft")
class NftApplier(Applier):
    def create(self, obj: NftTable) -> None:
        nft.write_table(obj)

    def delete(self, obj: NftTable) -> None:
        nft.write_table(None)
