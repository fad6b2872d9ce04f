"""The stamps of the endpoints' files in /etc/netns, kept while inotify reports nothing: every way a
file or its folder can change by hand drops them (the next read sees the change), and where no watch can
be set they are read every time. Runs on a folder of its own standing for /etc/netns."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.kernel import filestamps, hostsfile
from reconciler.kernel.filestamps import FileStamps, stamps_of
from reconciler.kernel.inotify import IN_Q_OVERFLOW, Inotify

NS = "e1"


class Mounts:
    """A mount table whose changes the test makes: `mounted` on the folder, `flag` when it changed."""

    ids: object = None  # no listmount: the table's lines are compared

    def __init__(self) -> None:
        self.generation, self.flag, self.mounted = 0, False, frozenset()

    def refresh(self) -> int:
        self.generation += self.flag
        self.flag = False
        return self.generation

    def on(self, path: str) -> frozenset[bytes]:
        return self.mounted

    def below(self, path: str) -> frozenset[bytes]:
        return frozenset()


@pytest.fixture
def etc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    etc = tmp_path / "netns"
    (etc / NS).mkdir(parents=True)
    (etc / NS / "hosts").write_text("# netreconcile\n127.0.0.1 localhost\n")
    (etc / NS / "resolv.conf").write_text("# netreconcile\nnameserver 10.0.0.1\n")
    for module in (filestamps, hostsfile):
        monkeypatch.setattr(module, "ETC_NETNS", str(etc))
    return etc


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The endpoints whose stamps were read from the files."""
    done: list[str] = []

    def counted(ns: str) -> filestamps.Stamps | None:
        done.append(ns)
        return stamps_of(ns)
    monkeypatch.setattr(filestamps, "stamps_of", counted)
    return done


@pytest.fixture
def stamps(etc: Path) -> FileStamps:
    kept = FileStamps(Inotify(), Mounts())  # type: ignore[arg-type]
    kept.stamps(NS)
    return kept


def test_without_news_the_stamps_are_not_read_again(stamps, reads):
    first = stamps.stamps(NS)
    for _ in range(3):
        stamps.refresh()
        assert stamps.stamps(NS) == first
    assert reads == []


def append(etc: Path) -> None:
    with open(etc / NS / "hosts", "a") as f:
        f.write("10.9.9.9 intruder\n")


def same_size_and_times(etc: Path) -> None:
    """Written in place, its size and modification time put back (only its change time tells)."""
    path = etc / NS / "hosts"
    st = path.stat()
    path.write_text(path.read_text().replace("127.0.0.1", "127.0.0.9"))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def renamed_over(etc: Path) -> None:
    (etc / NS / ".hosts.swp").write_text("# netreconcile\n10.0.0.1 other\n")
    os.replace(etc / NS / ".hosts.swp", etc / NS / "hosts")


def chmod(etc: Path) -> None:
    (etc / NS / "resolv.conf").chmod(0o600)


def removed(etc: Path) -> None:
    (etc / NS / "resolv.conf").unlink()


def through_a_hard_link(etc: Path) -> None:
    other = etc.parent / "elsewhere"
    os.link(etc / NS / "hosts", other)
    with open(other, "a") as f:
        f.write("10.9.9.9 intruder\n")


def folder_by_a_symlink(etc: Path) -> None:
    os.rename(etc / NS, etc.parent / "moved")
    os.symlink(etc.parent / "moved", etc / NS)


def folder_chmod(etc: Path) -> None:
    (etc / NS).chmod(0o700)


def folder_swapped(etc: Path) -> None:
    other = etc.parent / "other"
    other.mkdir()
    (other / "hosts").write_text("# netreconcile\n10.0.0.1 other\n")
    os.rename(etc / NS, etc.parent / "old")
    os.rename(other, etc / NS)


@pytest.mark.parametrize("change", [append, same_size_and_times, renamed_over, chmod, removed, through_a_hard_link,
                                    folder_by_a_symlink, folder_chmod, folder_swapped])
def test_a_change_by_hand_to_a_file_or_its_folder_is_seen_at_the_next_refresh(stamps, etc, change: Callable[[Path], None]):
    before = stamps.stamps(NS)
    change(etc)
    stamps.refresh()
    now = stamps.stamps(NS)
    assert now == stamps_of(NS) != before


def test_a_file_made_where_there_was_none_and_a_folder_made_later_are_seen(stamps, etc):
    (etc / NS / "resolv.conf").unlink()
    stamps.refresh()
    before = stamps.stamps(NS)
    (etc / NS / "resolv.conf").write_text("# netreconcile\n")
    stamps.refresh()
    assert stamps.stamps(NS) == stamps_of(NS) != before
    assert stamps.stamps("e2") is None
    (etc / "e2").mkdir()
    stamps.refresh()
    assert stamps.stamps("e2") == stamps_of("e2") is not None


def test_a_change_of_the_mounts_on_the_folder_drops_every_stamp(stamps, etc, reads, monkeypatch):
    stamps.mounts.flag = True
    stamps.mounts.mounted = frozenset({f"99 1 0:5 / {etc}/e1 rw".encode()})
    stamps.refresh()
    stamps.stamps(NS)
    assert reads == [NS]


def test_a_change_of_other_mounts_drops_nothing(stamps, reads):
    stamps.mounts.flag = True
    stamps.refresh()
    stamps.stamps(NS)
    assert reads == []


class MountIds(Mounts):
    """A mount table telling what changed by the mounts' ids: the test says where (`changed`)."""

    ids = object()

    def __init__(self) -> None:
        super().__init__()
        self.changed: set[bytes] | None = set()

    def since(self, generation: int) -> set[bytes] | None:
        return self.changed if generation < self.generation else set()

    def on(self, path: str) -> frozenset[bytes]:
        raise AssertionError("the table was read")

    below = on


@pytest.mark.parametrize("where, drops", [
    ("{etc}/e1", True), ("{etc}", True), ("/", True), ("{parent}", True), ("{etc}/e9/x", True),
    ("/run/netns/e1", False), ("{etc}x", False), ("{etc}x/e1", False), (None, True)])
def test_with_mount_ids_a_mount_made_or_removed_on_the_folder_above_or_below_drops_every_stamp(
        etc, reads, where, drops):
    stamps = FileStamps(Inotify(), MountIds())  # type: ignore[arg-type]
    stamps.stamps(NS)
    stamps.mounts.flag = True
    stamps.mounts.changed = None if where is None else {where.format(etc=etc, parent=etc.parent).encode()}
    stamps.refresh()
    stamps.stamps(NS)
    assert reads == ([NS, NS] if drops else [NS])
    stamps.refresh()  # told once: the next refresh without a change keeps them
    stamps.stamps(NS)
    assert reads == ([NS, NS] if drops else [NS])


def test_a_lost_event_drops_every_stamp(stamps, reads):
    stamps._heard(-1, IN_Q_OVERFLOW, "")
    stamps.stamps(NS)
    assert reads == [NS]


class Exhausted(Inotify):
    """An inotify instance whose user has no watches left."""

    def add(self, path: str, mask: int) -> int:
        raise OSError(errno.ENOSPC, "no watches left")


def test_without_watches_left_the_stamps_are_read_every_time(etc, reads):
    stamps = FileStamps(Exhausted(), Mounts())  # type: ignore[arg-type]
    first = stamps.stamps(NS)
    append(etc)
    assert stamps.stamps(NS) == stamps_of(NS) != first
    assert reads == [NS, NS]


def test_a_folder_that_is_a_symbolic_link_is_read_every_time(etc, reads):
    folder_by_a_symlink(etc)
    stamps = FileStamps(Inotify(), Mounts())  # type: ignore[arg-type]
    stamps.stamps(NS)
    stamps.refresh()
    stamps.stamps(NS)
    assert reads == [NS, NS]


def listed(etc: Path) -> Callable[[], list[str]]:
    """Lists the folder, counting in `listed.count` how often."""
    def names() -> list[str]:
        names.count += 1  # type: ignore[attr-defined]
        return sorted(os.listdir(etc))
    names.count = 0  # type: ignore[attr-defined]
    return names


@pytest.mark.parametrize("change", ["made", "removed", "renamed"])
def test_an_entry_made_removed_or_renamed_is_seen_without_listing_the_folder_again(stamps, etc, change):
    names = listed(etc)
    assert stamps.entries(names) == {NS}
    stamps.refresh()
    assert stamps.entries(names) == {NS} and names.count == 1
    if change == "made":
        (etc / "e2").mkdir()
    elif change == "removed":
        for file in (etc / NS).iterdir():
            file.unlink()
        (etc / NS).rmdir()
    else:
        os.rename(etc / NS, etc / "e3")
    stamps.refresh()
    assert stamps.entries(names) == set(os.listdir(etc)) and names.count == 1


def test_a_lost_event_lists_the_folder_again(stamps, etc):
    names = listed(etc)
    stamps.entries(names)
    (etc / "e2").mkdir()
    stamps._heard(-1, 0, "")  # the queue overflowed
    assert stamps.entries(names) == {NS, "e2"} and names.count == 2


def test_the_endpoints_whose_stamps_were_dropped_are_told_once(stamps, etc):
    assert stamps.steady(NS)
    (etc / NS / "hosts").write_text("# netreconcile\n")
    stamps.refresh()
    assert not stamps.steady(NS)
    assert stamps.take_dropped() == {NS} and stamps.take_dropped() == set()


def test_without_a_watch_on_the_folder_its_names_are_listed_every_time(etc):
    stamps, names = FileStamps(Exhausted(), Mounts()), listed(etc)  # type: ignore[arg-type]
    stamps.entries(names)
    (etc / "e2").mkdir()
    assert stamps.entries(names) == {NS, "e2"} and names.count == 2


def test_without_the_mount_table_the_stamps_are_read_every_time(etc, reads):
    stamps = FileStamps(Inotify(), None)
    stamps.stamps(NS)
    stamps.refresh()
    stamps.stamps(NS)
    assert reads == [NS, NS]
