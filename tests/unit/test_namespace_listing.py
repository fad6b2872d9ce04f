"""The named namespaces' listing the watch's kernel cache and the resolver keep: listed once while no
mount changed, only the entries whose mounts changed looked at again after a change, all of them after
a change on the folder or above it or when the mounts cannot tell. tests/integration/test_watch.py and
test_resolver_process.py run it against real mounts."""

from __future__ import annotations

import pytest

from reconciler.kernel import listing, netns
from reconciler.kernel.inotify import MountTable, point
from reconciler.kernel.inotify import entries as table_entries
from reconciler.kernel.listing import Listing, TableChanges, entries

FOLDER = str(netns.NETNS_DIR)


def line(mount_id: int, where: str) -> bytes:
    return f"{mount_id} 30 0:4 net:[{4026530000 + mount_id}] {where} rw shared:5 - nsfs nsfs rw".encode()


class Changes:
    """Mount changes the test tells: the points given to `change`, once."""

    def __init__(self) -> None:
        self.points: set[bytes] | None = set()

    def change(self, *points: str) -> None:
        self.points = {p.encode() for p in points}

    def changed(self) -> set[bytes] | None:
        points, self.points = self.points, set()
        return points


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


def test_while_no_mount_changed_the_folder_is_listed_once(kernel):
    names = Listing(Changes())
    assert names.inodes() == {"a": 11, "b": 12}
    assert names.inodes() == {"a": 11, "b": 12}
    assert (kernel.lists, kernel.looks) == (1, [])


def test_after_a_change_only_the_entries_whose_mounts_changed_are_looked_at_again(kernel):
    changes = Changes()
    names = Listing(changes)
    names.inodes()
    kernel.inodes = {"b": 22, "c": 13}  # a removed, b made again under its name, c added
    changes.change(f"{FOLDER}/a", f"{FOLDER}/b", f"{FOLDER}/c")
    assert names.inodes() == {"b": 22, "c": 13}
    assert kernel.lists == 1 and sorted(kernel.looks) == ["a", "b", "c"]


def test_a_change_of_other_mounts_looks_at_no_entry(kernel):
    changes = Changes()
    names = Listing(changes)
    names.inodes()
    changes.change("/mnt", f"{FOLDER}x/a")
    assert names.inodes() == {"a": 11, "b": 12}
    assert (kernel.lists, kernel.looks) == (1, [])


@pytest.mark.parametrize("where", [FOLDER, "/run", "/"])
def test_a_change_of_the_mounts_on_the_folder_or_above_lists_it_again(kernel, where):
    changes = Changes()
    names = Listing(changes)
    names.inodes()
    kernel.inodes = {"z": 99}
    changes.change(where)
    assert names.inodes() == {"z": 99}
    assert kernel.lists == 2


def test_when_the_mounts_cannot_tell_or_once_forgotten_the_folder_is_listed_again(kernel):
    changes = Changes()
    names = Listing(changes)
    names.inodes()
    changes.points = None
    names.inodes()
    names.listed = None
    names.inodes()
    assert kernel.lists == 3
    assert Listing(None).inodes() and kernel.lists == 4


def test_mounts_on_entries_name_those_entries_and_on_the_folder_or_above_it_none():
    points = {b"/run/netns/a", b"/run/netns/b c", b"/run/netns/d/deeper", b"/run/other", b"/run/netnsx/d"}
    assert entries(points, b"/run/netns") == {"a", "b c", "d"}
    for where in (b"/run/netns", b"/run", b"/", b"/run/"):
        assert entries({b"/run/netns/a", where}, b"/run/netns") is None


def table(lines: list[bytes]) -> MountTable:
    made = MountTable()
    made.close()
    made.lines, made.points = lines, [point(line) for line in lines]
    return made


def test_the_mount_tables_changes_are_the_points_of_lines_added_or_removed_and_escaped_ones_cannot_tell():
    mounts = table([ROOT, A, B])
    mounts.refresh = lambda: mounts.generation  # type: ignore[method-assign]  # the test flags a change itself
    changes = TableChanges(mounts)
    mounts.lines = [ROOT, B]
    assert changes.changed() == set()  # not flagged: the lines are not even compared
    mounts.generation += 1
    mounts.lines = [ROOT, B, line(42, f"{FOLDER}/b"), line(43, f"{FOLDER}/c")]  # a gone, b mounted over, c made
    assert changes.changed() == {f"{FOLDER}/a".encode(), f"{FOLDER}/b".encode(), f"{FOLDER}/c".encode()}
    mounts.generation += 1
    mounts.lines = [*mounts.lines, line(44, f"{FOLDER}/d\\040e")]
    assert changes.changed() is None


def test_the_mount_table_tells_the_mounts_on_a_folder_above_it_and_below_it():
    other = b"50 1 0:9 / /running rw - tmpfs none rw"
    run, netns_dir = b"51 1 0:9 / /run rw - tmpfs none rw", b"52 51 0:9 / /run/netns rw - tmpfs none rw"
    mounts = table([ROOT, run, netns_dir, other, line(40, "/run/netns/a"), line(41, "/run/netns/a"), line(42, "/run/netnsx")])
    assert mounts.on("/run/netns") == {ROOT, run, netns_dir}
    assert mounts.below("/run/netns") == {line(40, "/run/netns/a"), line(41, "/run/netns/a")}
    assert table_entries(mounts.below("/run/netns"), "/run/netns") == {b"a"}
