"""The named namespaces' listing the watch's kernel cache keeps: listed once while the mount table is
unchanged, only the entries whose mounts changed looked at again after a change, all of them after a
change on the folder or above it. tests/integration/test_watch.py runs it against real mounts."""

from __future__ import annotations

import pytest

from reconciler.kernel import listing, netns
from reconciler.kernel.inotify import MountTable, entries, point
from reconciler.kernel.listing import Listing

FOLDER = str(netns.NETNS_DIR)


def line(mount_id: int, point: str) -> bytes:
    return f"{mount_id} 30 0:4 net:[{4026530000 + mount_id}] {point} rw shared:5 - nsfs nsfs rw".encode()


class Mounts:
    """A mount table the test changes: one line per mount."""

    def __init__(self, lines: list[bytes]) -> None:
        self.generation, self.lines = 0, lines

    def change(self, lines: list[bytes]) -> None:
        self.generation, self.lines = self.generation + 1, lines

    def refresh(self) -> int:
        return self.generation

    def on(self, path: str) -> frozenset[bytes]:
        return frozenset(l for l in self.lines if l.split()[4] in (b"/", b"/run", path.encode()))

    def below(self, path: str) -> frozenset[bytes]:
        return frozenset(l for l in self.lines if l.split()[4].startswith(path.encode() + b"/"))


class Kernel:
    """What the folder holds: inodes by name; `lists` and `looks` count the reads."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.inodes = {"a": 11, "b": 12}
        self.lists: int = 0
        self.looks: list[str] = []
        monkeypatch.setattr(listing.netns, "named_inodes", self.named_inodes)
        monkeypatch.setattr(listing, "_named_inode", self.named_inode)
        monkeypatch.setattr(listing.os.path, "realpath", lambda path: path)

    def named_inodes(self) -> dict[str, int]:
        self.lists += 1
        return dict(self.inodes)

    def named_inode(self, name: str) -> int | None:
        self.looks.append(name)
        return self.inodes.get(name)


@pytest.fixture
def kernel(monkeypatch: pytest.MonkeyPatch) -> Kernel:
    return Kernel(monkeypatch)


ROOT = b"1 0 8:1 / / rw - ext4 /dev/sda1 rw"
A, B = line(40, f"{FOLDER}/a"), line(41, f"{FOLDER}/b")


def test_while_the_mount_table_is_unchanged_the_folder_is_listed_once(kernel):
    names = Listing(Mounts([ROOT, A, B]))  # type: ignore[arg-type]
    assert names.inodes() == {"a": 11, "b": 12}
    assert names.inodes() == {"a": 11, "b": 12}
    assert (kernel.lists, kernel.looks) == (1, [])


def test_after_a_change_only_the_entries_whose_mounts_changed_are_looked_at_again(kernel):
    mounts = Mounts([ROOT, A, B])
    names = Listing(mounts)  # type: ignore[arg-type]
    names.inodes()
    kernel.inodes = {"b": 22, "c": 13}  # a removed, b made again under its name, c added
    mounts.change([ROOT, line(42, f"{FOLDER}/b"), line(43, f"{FOLDER}/c")])
    assert names.inodes() == {"b": 22, "c": 13}
    assert kernel.lists == 1 and sorted(kernel.looks) == ["a", "b", "c"]


def test_a_change_of_other_mounts_looks_at_no_entry(kernel):
    mounts = Mounts([ROOT, A, B])
    names = Listing(mounts)  # type: ignore[arg-type]
    names.inodes()
    mounts.change([ROOT, A, B, b"50 1 0:9 / /mnt rw - tmpfs none rw"])
    assert names.inodes() == {"a": 11, "b": 12}
    assert (kernel.lists, kernel.looks) == (1, [])


@pytest.mark.parametrize("point", [FOLDER, "/run", "/"])
def test_a_change_of_the_mounts_on_the_folder_or_above_lists_it_again(kernel, point):
    mounts = Mounts([ROOT, A, B])
    names = Listing(mounts)  # type: ignore[arg-type]
    names.inodes()
    kernel.inodes = {"z": 99}
    mounts.change([ROOT, A, B, f"60 1 0:9 / {point} rw - tmpfs none rw".encode()])
    assert names.inodes() == {"z": 99}
    assert kernel.lists == 2


def test_once_forgotten_the_folder_is_listed_again(kernel):
    names = Listing(Mounts([ROOT, A, B]))  # type: ignore[arg-type]
    names.inodes()
    names.listed = None
    names.inodes()
    assert kernel.lists == 2


def test_the_mount_table_tells_the_mounts_on_a_folder_above_it_and_below_it():
    table = MountTable()
    other = b"50 1 0:9 / /running rw - tmpfs none rw"
    run, netns_dir = b"51 1 0:9 / /run rw - tmpfs none rw", b"52 51 0:9 / /run/netns rw - tmpfs none rw"
    table.lines = [ROOT, run, netns_dir, other, line(40, "/run/netns/a"), line(41, "/run/netns/a"), line(42, "/run/netnsx")]
    table.points = [point(line) for line in table.lines]
    assert table.on("/run/netns") == {ROOT, run, netns_dir}
    assert table.below("/run/netns") == {line(40, "/run/netns/a"), line(41, "/run/netns/a")}
    assert entries(table.below("/run/netns"), "/run/netns") == {b"a"}
    table.close()
