"""Our nftables table, its chains and its rules."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from reconciler.model.base import NFT_FAMILY, NFT_MARKER, NFT_TABLE, KernelObject, Key


@dataclass(frozen=True)
class NftChain:
    """A chain of our table; base chains have a type, hook, priority and policy."""

    name: str
    type: str | None = None
    hook: str | None = None
    prio: int | None = None
    policy: str | None = None


@dataclass(frozen=True)
class NftRule:
    """A rule: its chain, a comment `<owner> <label>`, and its expression list as canonical JSON."""

    chain: str
    comment: str
    expr: str = "[]"

    @property
    def owner(self) -> str:
        return self.comment.split(" ", 1)[0]


@dataclass(frozen=True)
class NftTable(KernelObject):
    """Our whole nftables table (inet netreconcile), written in one atomic transaction."""

    chains: tuple[NftChain, ...] = ()
    rules: tuple[NftRule, ...] = ()
    kind: ClassVar[str] = "nft"
    rank: ClassVar[int] = 9

    @classmethod
    def of(cls, chains: Iterable[NftChain], rules: Iterable[NftRule]) -> NftTable:
        """Chains by name, rules grouped by chain in their order within it: equal tables compare equal."""
        return cls(tuple(sorted(chains, key=lambda c: c.name)), tuple(sorted(rules, key=lambda r: r.chain)))

    @property
    def key(self) -> Key:
        return ("nft", NFT_FAMILY, NFT_TABLE)

    @property
    def stage(self) -> int:
        return 2

    @property
    def title(self) -> str:
        return f"table {NFT_FAMILY} {NFT_TABLE}"

    def conflict(self, key: Key) -> str:
        return (f"table {NFT_FAMILY} {NFT_TABLE} already exists and is not managed by netreconcile (it has no "
                f"chain {NFT_MARKER}); nothing was changed. Remove it (nft delete table {NFT_FAMILY} {NFT_TABLE}), "
                f"or, if a netreconcile older than this one wrote it, mark it as ours "
                f"(nft add chain {NFT_FAMILY} {NFT_TABLE} {NFT_MARKER})")

    def guarding(self, old: NftTable) -> NftTable:
        """This table with the rules of `old` it lacks still in, after its own in each chain: written
        before any link changes, it keeps every rule guarding a link that is still there, while this
        table's rules decide first."""
        names = {c.name for c in self.chains}
        mine = set(self.rules)
        return NftTable.of(self.chains + tuple(c for c in old.chains if c.name not in names),
                           self.rules + tuple(r for r in old.rules if r not in mine))
