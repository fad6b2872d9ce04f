"""Our nftables table as the watch's kernel cache keeps it (kernel/nftevents.py): read again after any
change nftables announces, after forget, and every time when no announcement can be heard."""

from __future__ import annotations

import pytest

from reconciler.errors import ForeignTable
from reconciler.kernel.nftevents import KeptTable
from reconciler.model import NftTable


class Events:
    def __init__(self) -> None:
        self.news = False

    def changed(self) -> bool:
        news, self.news = self.news, False
        return news


class Kernel:
    """The table the kernel holds (a ForeignTable: one of our name, not ours), and how often it was read."""

    def __init__(self) -> None:
        self.table: NftTable | ForeignTable | None = NftTable()
        self.reads = 0

    def read(self) -> NftTable | None:
        self.reads += 1
        if isinstance(self.table, ForeignTable):
            raise self.table
        return self.table


def test_without_news_the_table_is_read_once():
    kernel, kept = Kernel(), KeptTable(Events())  # type: ignore[arg-type]
    assert kept.read(kernel.read) == kept.read(kernel.read) == NftTable()
    assert kernel.reads == 1


def test_news_or_forget_reads_it_again():
    kernel, events = Kernel(), Events()
    kept = KeptTable(events)  # type: ignore[arg-type]
    kept.read(kernel.read)
    kernel.table, events.news = None, True
    assert kept.read(kernel.read) is None
    kernel.table = ForeignTable("not ours")
    kept.forget()
    for _ in range(2):
        with pytest.raises(ForeignTable):
            kept.read(kernel.read)
    assert kernel.reads == 3


def test_without_events_it_is_read_every_time():
    kernel, kept = Kernel(), KeptTable(None)
    kept.read(kernel.read)
    kept.read(kernel.read)
    assert kernel.reads == 2
