"""The stamps of the endpoints' files in /etc/netns (identity, type, owner, size, times of each file and
of its folder): the kernel cache reads a file again only when its stamp differs. FileStamps keeps them
while inotify says nothing of them, instead of three lstat() per endpoint per observe."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet

from reconciler.kernel.hostsfile import ETC_NETNS, file_name
from reconciler.kernel.inotify import (
    IN_ATTRIB,
    IN_CLOSE_WRITE,
    IN_CREATE,
    IN_DELETE,
    IN_DELETE_SELF,
    IN_DONT_FOLLOW,
    IN_IGNORED,
    IN_MODIFY,
    IN_MOVE_SELF,
    IN_MOVED_FROM,
    IN_MOVED_TO,
    IN_ONLYDIR,
    Inotify,
    MountTable,
)
from reconciler.model import NETNS_FILES, NetnsFile

Stamp = tuple[object, ...]  # of one file
Stamps = tuple[Stamp, ...]  # of an endpoint's files, in the order of NETNS_FILES
CHILDREN = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB
SELF = IN_DELETE_SELF | IN_MOVE_SELF | IN_ATTRIB
TOP_EVENTS = CHILDREN | SELF | IN_ONLYDIR | IN_DONT_FOLLOW
FOLDER_EVENTS = CHILDREN | SELF | IN_MODIFY | IN_CLOSE_WRITE | IN_ONLYDIR | IN_DONT_FOLLOW
FILE_EVENTS = SELF | IN_MODIFY | IN_CLOSE_WRITE | IN_DONT_FOLLOW
TOP = ""  # whose watch is /etc/netns itself


class FileStamps:
    """`stamps(ns)` as `stamps_of(ns)` reads them (and `entries`, the names in /etc/netns), kept per endpoint from the first read on while inotify,
    drained by `refresh` (once per observe), says nothing of them. What drops an endpoint's: any event
    on its folder (a file in it created, written, renamed, removed, its mode or owner changed; the
    folder itself removed, renamed, its mode or owner changed), on one of its files (written through
    any name, another hard link too), on /etc/netns naming it. What drops them all: an event on
    /etc/netns itself, a lost event (the queue overflowed), a change of the mounts on /etc/netns, below
    it or above it (a mount hides what the watches see), `forget`. Where a watch cannot be set (the
    user's inotify watches ran out, a folder that is a symbolic link, no /etc/netns, no inotify) the
    stamps are read every time, as without this cache."""

    def __init__(self, notify: Inotify | None = None, mounts: MountTable | None = None) -> None:
        self.notify = notify if mounts is not None else None  # a mount unseen would hide what it tells
        self.mounts = mounts
        self.kept: dict[str, Stamps | None] = {}
        self.dropped: set[str] = set()  # endpoints whose kept stamps were dropped since `take_dropped`
        self.owners: dict[int, str] = {}  # watch descriptor -> endpoint (TOP: /etc/netns)
        self.generation = mounts.generation if mounts else 0  # of the mount table when `mounted` was taken
        self.mounted = _mounted(mounts) if mounts and mounts.ids is None else frozenset()
        self.top = False
        self.listed: set[str] | None = None  # the names in /etc/netns
        self.relist: set[str] = set()  # those of them that news of /etc/netns named since

    @classmethod
    def started(cls, mounts: MountTable | None) -> FileStamps:
        """One on this machine's inotify and this mount table; without them, one that keeps nothing."""
        try:
            return cls(Inotify(), mounts)
        except OSError:
            return cls()

    def stamps(self, ns: str) -> Stamps | None:
        """The stamps of the endpoint's files (None: it has no folder)."""
        if ns in self.kept:
            return self.kept[ns]
        watched = self._watch(ns)
        stamps = stamps_of(ns)
        if watched:
            self.kept[ns] = stamps
        return stamps

    def entries(self, listed: Callable[[], Iterable[str]]) -> AbstractSet[str]:
        """The names in /etc/netns as `listed` lists them, kept while /etc/netns is watched and no mount
        there changed; an entry its news names (made, removed, renamed) is looked for again alone (at
        1000 endpoints, listing them all costs a millisecond). Read-only: the set kept is the one given."""
        if self.listed is not None:
            for name in self.relist:
                (self.listed.add if os.path.lexists(f"{ETC_NETNS}/{name}") else self.listed.discard)(name)
            self.relist.clear()
            return self.listed
        watched = self.notify is not None and (self.top or self._add(ETC_NETNS, TOP_EVENTS, TOP))
        names = set(listed())
        if watched:
            self.listed, self.relist = names, set()
        return names

    def refresh(self) -> None:
        """Drop the stamps that what happened since the last refresh may have made wrong."""
        if self.notify is None or self.mounts is None:
            return
        generation = self.mounts.refresh()
        if generation != self.generation:
            if self.mounts.ids is not None:
                changed = self.mounts.since(self.generation)
                if changed is None or any(map(_decides, changed)):
                    self.forget()
            else:
                mounted = _mounted(self.mounts)
                if mounted != self.mounted:
                    self.mounted = mounted
                    self.forget()
            self.generation = generation
        for wd, mask, name in self.notify.events():
            self._heard(wd, mask, name)

    def steady(self, ns: str) -> bool:
        """Whether the endpoint's stamps are kept: `stamps` gives the same until they are dropped."""
        return ns in self.kept

    def take_dropped(self) -> set[str]:
        """The endpoints whose kept stamps were dropped since the last call."""
        dropped, self.dropped = self.dropped, set()
        return dropped

    def forget(self) -> None:
        self.dropped.update(self.kept)
        self.kept.clear()
        self.listed = None

    def drop(self, names: Iterable[str]) -> None:
        """Drop what is kept of these endpoints."""
        for name in names:
            self._drop(name)

    def _drop(self, ns: str) -> None:
        if ns in self.kept:
            del self.kept[ns]
            self.dropped.add(ns)

    def _heard(self, wd: int, mask: int, name: str) -> None:
        owner = self.owners.get(wd)
        if mask & IN_IGNORED:  # the watch is gone (its object removed): the endpoint must be watched again
            self.owners.pop(wd, None)
            self.top = self.top and owner != TOP
        if owner is None or (owner == TOP and not name):
            self.forget()  # an overflow (wd -1), or /etc/netns itself
        elif owner == TOP:
            self._drop(name)
            self.relist.add(name)
        else:
            self._drop(owner)

    def _watch(self, ns: str) -> bool:
        """Whether every change to the endpoint's stamps is now reported: /etc/netns, its folder and
        files are watched (a folder or a file not there is seen coming by the watch above it)."""
        if self.notify is None or not (self.top or self._add(ETC_NETNS, TOP_EVENTS, TOP)):
            return False
        folder = f"{ETC_NETNS}/{ns}"
        if not self._add(folder, FOLDER_EVENTS, ns):
            return not os.path.lexists(folder)
        return all(self._add(file_name(ns, kind), FILE_EVENTS, ns) or not os.path.lexists(file_name(ns, kind))
                   for kind in NETNS_FILES)

    def _add(self, path: str, mask: int, owner: str) -> bool:
        assert self.notify is not None
        try:
            wd = self.notify.add(path, mask)
        except OSError:
            return False
        if self.owners.setdefault(wd, owner) != owner:  # one inode under two endpoints: not told apart
            return False
        self.top = self.top or owner == TOP
        return True


def _mounted(mounts: MountTable) -> frozenset[bytes]:
    """The mounts on /etc/netns, above it, and below it."""
    return mounts.on(ETC_NETNS) | mounts.below(ETC_NETNS)


def _decides(point: bytes) -> bool:
    """Whether a mount made or removed there changes what /etc/netns shows: on it, above it, below it."""
    top = os.fsencode(ETC_NETNS)
    return point == top or point.startswith(top + b"/") or top.startswith(point.rstrip(b"/") + b"/")


def stamps_of(ns: str) -> Stamps | None:
    """The stamps of every file of the endpoint's (None: there is no folder); the folder read once."""
    folder = _folder(ns)
    return None if folder is None else tuple(_file_stamp(folder, ns, kind) for kind in NETNS_FILES)


def _folder(ns: str) -> os.stat_result | None:
    try:
        return os.lstat(f"{ETC_NETNS}/{ns}")
    except OSError:
        return None


def _file_stamp(folder: os.stat_result, ns: str, kind: type[NetnsFile]) -> Stamp:
    """The identity, type and owner of the endpoint's files' folder, and the file's too with its size
    and times, symbolic links not followed."""
    try:
        st = os.lstat(file_name(ns, kind))
    except OSError:
        return folder.st_ino, folder.st_mode, folder.st_uid, None
    return (folder.st_ino, folder.st_mode, folder.st_uid,
            (st.st_ino, st.st_mode, st.st_uid, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
