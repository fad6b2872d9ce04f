"""The named network namespaces and their inodes, as netns.named_inodes lists them, kept between two
observes of the watch's kernel cache: see Listing."""

from __future__ import annotations

import os

from reconciler.kernel import netns
from reconciler.kernel.inotify import MountTable, entries


class Listing:
    """The named namespaces' listing, kept between observes while the mount table is unchanged (a
    namespace is named by a mount on an entry of the netns folder, unnamed by its unmount; a plain file
    there is no namespace). When it changed, only the entries whose mounts changed are looked at again;
    the whole folder is listed again when the mounts on it or above it changed, and when `listed` is
    set to None (the watch's full reconciles). Without the mount table, listed every time."""

    def __init__(self, mounts: MountTable | None) -> None:
        self.mounts = mounts
        self.listed: dict[str, int] | None = None
        self.generation = 0  # of the mount table when `listed` was made, from these mounts:
        self.above: frozenset[bytes] = frozenset()
        self.below: frozenset[bytes] = frozenset()

    def inodes(self) -> dict[str, int]:
        """Named namespaces (mount points under the netns folder), with their inodes."""
        if self.mounts is None:
            return netns.named_inodes()
        generation = self.mounts.refresh()  # before listing: a change made meanwhile is told next time
        if self.listed is not None and generation == self.generation:
            return self.listed
        folder = str(netns.NETNS_DIR)
        above, below = self.mounts.on(folder), self.mounts.below(folder)
        if self.listed is None or above != self.above or os.path.realpath(folder) != folder:
            listed = netns.named_inodes()
        else:
            listed = _relisted(self.listed, entries(self.below ^ below, folder))
        self.listed, self.generation, self.above, self.below = listed, generation, above, below
        return listed


def _relisted(listed: dict[str, int], changed: set[bytes]) -> dict[str, int]:
    """The named namespaces, from those `listed` before the mounts on the entries named `changed`
    changed: these looked at again (all, when a name is escaped in the mount table)."""
    if any(b"\\" in name for name in changed):
        return netns.named_inodes()
    relisted = dict(listed)
    for name in map(os.fsdecode, changed):
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
