"""The named network namespaces and their inodes (netns.named_inodes), kept between two looks by a
long-running process (the watch's kernel cache, the resolver): see Listing. What tells it where mounts
changed is MountIds (listmount, where the kernel has it) or a MountTable's changes (/proc/self/mountinfo)."""

from __future__ import annotations

import os
from typing import Protocol

from reconciler.kernel import netns
from reconciler.kernel.inotify import MountTable, point
from reconciler.kernel.mountids import MountIds


class MountChanges(Protocol):
    def changed(self) -> set[bytes] | None:
        """The mount points of the mounts made or removed since the last call (None: cannot tell)."""


class TableChanges:
    """The mounts made or removed since the last call, as a MountTable (shared with others) shows them."""

    def __init__(self, table: MountTable) -> None:
        self.table = table
        self.generation = table.generation
        self.lines = frozenset(table.lines)

    def changed(self) -> set[bytes] | None:
        generation = self.table.refresh()  # before comparing: a change made meanwhile is told next time
        if generation == self.generation:
            return set()
        if self.table.ids is not None:
            points, self.generation = self.table.since(self.generation), generation
            return points
        lines = frozenset(self.table.lines)
        points = {point(line) for line in lines ^ self.lines}  # a line carries its mount's id: one replaced differs
        self.generation, self.lines = generation, lines
        return None if any(b"\\" in where for where in points) else points  # escaped (a space): not told apart


def mount_changes() -> MountChanges | None:
    """What tells where mounts changed on this kernel: listmount where it has it, else the mount table."""
    ids = MountIds.opened()
    if ids is not None:
        return ids
    table = MountTable.opened()
    return TableChanges(table) if table is not None else None


class Listing:
    """The named namespaces' listing, kept between calls: the entries of the netns folder are looked at
    again only where a mount was made or removed since the last call (a namespace is named by a mount on
    an entry, unnamed by its unmount, replaced by both; a plain file there is no namespace). The whole
    folder is listed again at the first call, after `listed` was set to None (the watch's full
    reconciles), when a mount on the folder or above it changed, when the folder is reached through a
    symbolic link, and when the mounts cannot tell (`changed` None; without `changes`, every call)."""

    def __init__(self, changes: MountChanges | None) -> None:
        self.changes = changes
        self.listed: dict[str, int] | None = None

    def inodes(self) -> dict[str, int]:
        """Named namespaces (mount points under the netns folder), with their inodes."""
        changed = self.changes.changed() if self.changes is not None else None  # before looking
        folder = str(netns.NETNS_DIR)
        names = entries(changed, os.fsencode(folder)) if changed is not None else None
        if self.listed is None or names is None or os.path.realpath(folder) != folder:
            self.listed = netns.named_inodes()
        elif names:
            self.listed = _relisted(self.listed, names)
        return self.listed


def entries(points: set[bytes], folder: bytes) -> set[str] | None:
    """The names of the folder's entries these mount points are on or below; None when one is the
    folder itself or above it."""
    names: set[str] = set()
    for where in points:
        if folder == where or folder.startswith(where.rstrip(b"/") + b"/"):
            return None
        if where.startswith(folder + b"/"):
            names.add(os.fsdecode(where[len(folder) + 1:].split(b"/", 1)[0]))
    return names


def _relisted(listed: dict[str, int], names: set[str]) -> dict[str, int]:
    relisted = dict(listed)
    for name in names:
        inode = _named_inode(name)
        if inode is None:
            relisted.pop(name, None)
        else:
            relisted[name] = inode
    return relisted


def _named_inode(name: str) -> int | None:
    """The inode of the namespace named `name`, as netns.named_inodes finds it (None: none)."""
    try:
        folder, entry = os.stat(netns.NETNS_DIR), os.lstat(netns.path(name))
    except OSError:
        return None
    return entry.st_ino if entry.st_dev != folder.st_dev else None
