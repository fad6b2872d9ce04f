"""What the watch keeps of the kernel between two reconciles, so that one change costs what it
changes: what observe read of each namespace (links, addresses, routes), read again only when
rtnetlink told of a change in it or a plan step touched it; see KernelCache.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace

from reconciler.kernel import resolverstate
from reconciler.kernel.cachesource import (
    CachedDumps,
    Client,
    KernelSource,
    Space,
    nothing_new,
)
from reconciler.kernel.filestamps import FileStamps, Stamp, Stamps
from reconciler.kernel.hostmade import HostMade
from reconciler.kernel.inotify import MountTable
from reconciler.kernel.merged import Merged, NamespaceState
from reconciler.kernel.names import is_text
from reconciler.kernel.nftevents import KeptTable, NftEvents
from reconciler.kernel.observe import InTheWay, Reader
from reconciler.kernel.observe_objects import (
    Ends,
    Link,
    Namespace,
    Objects,
    host_ends,
    namespace_objects,
)
from reconciler.kernel.rtnl import (
    LINK_EVENTS,
    RT_TABLE_MAIN,
    RTM_NEWLINK,
    RouteMsg,
    link_index,
)
from reconciler.model import NETNS_FILES, ROUTE_PROTO, Key, NetnsFile, NftTable, Sysctl
from reconciler.model.dns import Resolver
from reconciler.planning.plan import HostLink, Step

NOT_RTNETLINK = (NetnsFile, Sysctl)  # what observe reads from files


@dataclass(frozen=True)
class _State:
    """What observe made of a namespace (None: not ours), and what it was made from."""

    space: Space
    host_links_read: int
    ends: Ends
    stamp: Stamps | None
    state: NamespaceState | None


class KernelCache(Reader):
    """observe's reader in the watch: each namespace's links, addresses and routes are kept between
    reconciles and read again only when

    - rtnetlink told of a change in it (`heard`, fed with every message by events.KernelEvents, whose
      `drain` is `sync`: called before the cache is trusted, so every change made so far is heard),
    - a step of a plan touched it (`touched`, the executor's report),
    - it is not the same namespace any more (another nsfs inode under its name), or it has no nsid
      here (then no event can come from it: it is read every time).

    Host links are read again one by one, by index, as their events name them (but for bridge port
    news telling nothing new: cachesource.nothing_new); host addresses and routes whole on any news of them. `forget` drops everything: the next observe reads it all (the
    watch's startup, resync and SIGHUP; lost events). Hosts files are read again when their
    inode, size or modification time differ (one stat instead of a read; the stats themselves kept
    while inotify tells of no change: filestamps.FileStamps); sysctls and nftables are
    read by observe itself, every time. The objects observe makes of a namespace are kept too, while
    neither the namespace's dumps nor its links' ends in the host (`observe_objects.host_ends`) change.

    A namespace whose state was checked is `quiet` until something may have changed it: an observe of
    them all does not look at it (namespaces_merged), another returns the state kept, not the checks
    above (at 1000 endpoints they cost 2 to 3 ms per observe). What ends it: news from its nsid
    (`heard`), a step that touched it, another inode under its name in the listing, a host link it has
    an end or a master on read again, its files' stamps dropped (FileStamps.take_dropped), `forget`.
    A namespace without an nsid, or whose files' stamps are not kept (not watched), is never quiet.
    """

    def __init__(self, sync: Callable[[], None] = lambda: None, source: KernelSource | None = None,
                 stamps: FileStamps | None = None) -> None:
        self.sync = sync
        mounts = MountTable.opened() if source is None or stamps is None else None
        self.source = source or KernelSource(mounts)
        self.stamps = stamps or FileStamps.started(mounts)
        self.lock = threading.Lock()
        self.spaces: dict[str | None, Space] = {}
        self.inodes: dict[str, int] = {}
        self.sorted: list[str] = []  # their names
        self.dirty: set[int] = set()            # nsids heard of
        self.stale_links: set[int] = set()      # host link indexes heard of
        self.stale_host = True                  # host addresses and routes
        self.touched_names: set[str] = set()
        self.files: dict[tuple[str, str], tuple[Stamp, str | InTheWay | None]] = {}  # (netns, kind) -> (stat, content)
        self.made: dict[str, tuple[Space, Ends, tuple[Objects, set[Key]]]] = {}  # by name: read, ends, objects
        self.states: dict[str, _State] = {}
        self.host_made = HostMade()
        self.kept_merged = Merged()
        self.kept_table = KeptTable(NftEvents.opened())
        self.host_changed: set[int] | None = None  # host links read again since host_made made (None: all)
        self.host_links_read = 0  # how many times host links were read (whole or some)
        self.host_read_whole = 0  # the last of those reads that read them all
        self.end_users: defaultdict[int, set[str]] = defaultdict(set)  # host link index -> namespaces with an end on it
        self.master_users: defaultdict[int, set[str]] = defaultdict(set)  # -> namespaces with an end whose master it is
        self.ends_dirty: set[str] = set()  # namespaces with an end on a host link read again since
        self.quiet: set[str] = set()       # namespaces whose kept state nothing heard of since may change
        self.nsid_names: dict[int, str] = {}  # nsid -> the quiet namespace's name
        self.others: set[str] = set()  # named namespaces not ours, as last checked
        self.unmerged: set[str] = set()  # namespaces checked since kept_merged was last told of them
        self.served = resolverstate.Served()

    def heard(self, nsid: int | None, kind: int, body: memoryview) -> None:
        with self.lock:
            if nsid is not None:
                self.dirty.add(nsid)
                self.quiet.discard(self.nsid_names.get(nsid, ""))
            elif kind in LINK_EVENTS:
                index = link_index(body)
                host = self.spaces.get(None)
                kept = host.links.get(index) if host is not None else None
                if kind != RTM_NEWLINK or kept is None or not nothing_new(body, kept):
                    self.stale_links.add(index)
            else:
                self.stale_host = True

    def touched(self, step: Step) -> None:
        """A step was applied: read its namespace again (host objects are heard of through events; files
        and sysctls are read by observe every time)."""
        for obj in (step.desired, step.observed):
            if obj is not None and obj.netns is not None and not isinstance(obj, NOT_RTNETLINK):
                with self.lock:
                    self.touched_names.add(obj.netns)
                    self.quiet.discard(obj.netns)

    def forget(self) -> None:
        with self.lock:
            self.spaces.clear()
            self.quiet.clear()
            self.end_users.clear()
            self.master_users.clear()
            self.ends_dirty.clear()
            self.files.clear()
            self.made.clear()
            self.states.clear()
            self.host_changed = None
            self.kept_merged = Merged()
            self.others.clear()
            self.kept_table.forget()
        self.stamps.forget()
        self.source.forget()

    def namespace_state(self, name: str, host: Namespace) -> NamespaceState | None:
        """Kept while the namespace's read, its links' host ends and its hosts file's stat are unchanged
        (the host ends are computed again only after host links were read again); while it is quiet,
        after one test of its files' stamps."""
        known = self.states.get(name)
        if known is not None and name in self.quiet and self.stamps.stamps(name) is known.stamp:
            return known.state
        self.unmerged.add(name)
        try:
            space = self._space(name)
        except OSError:
            return None
        state = self._checked_state(name, space, host, known)
        self._quieten(name, space)
        return state

    def namespaces_merged(self, host: Namespace, only: Collection[str] | None) -> tuple[Merged, list[str]]:
        """Of all of them: those kept merged, told only of the namespaces that are not quiet (or were
        checked by an observe of some) and of those gone, each quiet one's state being the one merged."""
        if only is not None:
            return super().namespaces_merged(host, only)
        self.names()
        with self.lock:
            unsettled = (self.inodes.keys() - self.quiet) | self.unmerged
        changes = {name: self.namespace_state(name, host) if is_text(name) else None for name in sorted(unsettled)}
        self.others = {n for n in self.others if n in self.inodes and n not in changes} | {
            n for n, state in changes.items() if state is None}
        self.kept_merged.merge_changes(changes, self.kept_merged.states.keys() - self.inodes.keys())
        self.unmerged.clear()
        return self.kept_merged, sorted(self.others)

    def _checked_state(self, name: str, space: Space, host: Namespace, known: _State | None) -> NamespaceState | None:
        stamp = self.stamps.stamps(name)
        if known is not None and known.space is space and known.stamp == stamp:
            if not self._ends_may_differ(name, known.host_links_read):
                return known.state
            ends = self._ends(name, space, host)
            if known.ends == ends:
                self.states[name] = replace(known, host_links_read=self.host_links_read)
                return known.state
        else:
            ends = self._ends(name, space, host)
        state = super().namespace_state(name, host)
        self.states[name] = _State(space, self.host_links_read, ends, stamp, state)
        return state

    def _quieten(self, name: str, space: Space) -> None:
        """The namespace's state just checked stays until news may change it; unless news of it came
        while it was read (its nsid heard of, a step touched it), or it has no nsid."""
        with self.lock:
            if (space.nsid >= 0 and space.nsid not in self.dirty and name not in self.touched_names
                    and self.spaces.get(name) is space and self.stamps.steady(name)):
                self.quiet.add(name)
                self.nsid_names[space.nsid] = name

    def _ends_may_differ(self, name: str, since: int) -> bool:
        """Whether a host link the namespace's host ends are made of (each link's other end, and that
        end's master's name) was read again and found changed since they were computed (the `since`th
        read of host links): only then are they computed again, not for every namespace whenever any
        host link changed, nor for those on a bridge whose news changed something other than its name."""
        return since < self.host_read_whole or name in self.ends_dirty

    def _ends(self, name: str, space: Space, host: Namespace) -> Ends:
        """The namespace's host ends, the host links they are made of noted (see _ends_may_differ)."""
        self.ends_dirty.discard(name)
        for link in space.links.values():
            self.end_users[link.peer_index].add(name)
            end = host.links.get(link.peer_index)
            if end is not None:
                self.master_users[end.master].add(name)
        return host_ends(space.links, host)

    def namespace_objects(self, ns: Namespace, host: Namespace) -> tuple[Objects, set[Key]]:
        if ns.name is None:  # the host: never kept (observe reads none of it here)
            return namespace_objects(ns, host)
        space, ends = self.spaces.get(ns.name), host_ends(ns.links, host)
        known = self.made.get(ns.name)
        if known is not None and known[0] is space and known[1] == ends:
            return known[2]
        made = namespace_objects(ns, host)
        if space is not None:
            self.made[ns.name] = (space, ends, made)
        return made

    def table(self) -> NftTable | None:
        """Kept while nftables announces no change here: KeptTable."""
        return self.kept_table.read(super().table)

    def namespaces_apart(self) -> dict[str, Objects] | None:
        """The objects of each namespace that the last observe of them all merged, by name: each the very
        dict kept of it, the same while the namespace is unchanged (Observed.namespaces); none while two
        namespaces give one key (Merged.tangled: the merged view is then no union of them)."""
        merged = self.kept_merged
        return None if merged.tangled else dict(merged.apart)

    def host_objects(self, host: Namespace, routes: list[RouteMsg]) -> tuple[Objects, set[Key], dict[str, HostLink]]:
        """What was made of each host link is kept until it or a link it names is read again: HostMade."""
        changed, self.host_changed = self.host_changed, set()
        return self.host_made.made(host, routes, changed)

    def netns_folders(self) -> Collection[str]:
        """Kept while inotify tells of no change to /etc/netns, the entries it names looked for again: FileStamps.entries."""
        return self.stamps.entries(super().netns_folders)

    def netns_file(self, ns: str, kind: type[NetnsFile]) -> str | InTheWay | None:
        stamps = self.stamps.stamps(ns)
        if stamps is None:
            return None
        stamp = stamps[NETNS_FILES.index(kind)]
        known = self.files.get((ns, kind.kind))
        if known is not None and known[0] == stamp:
            return known[1]
        content = super().netns_file(ns, kind)
        self.files[(ns, kind.kind)] = (stamp, content)
        return content

    def names(self) -> list[str]:
        """Named namespaces, with their inodes; what was kept of those gone is dropped (when the listing
        is another than the last)."""
        self.stamps.refresh()
        dropped = self.stamps.take_dropped()
        with self.lock:
            self.quiet.difference_update(dropped)
        inodes = self.source.inodes()
        if inodes is self.inodes:
            return self.sorted
        gone = self.inodes.keys() - inodes.keys()
        kept = self.inodes.get
        moved = [name for name, inode in inodes.items() if kept(name) != inode]  # one pass, no set of pairs
        with self.lock:
            self.quiet.difference_update(gone, moved)
        self.inodes, self.sorted = inodes, sorted(inodes)
        self.stamps.drop(gone)
        for name in gone:
            self.made.pop(name, None)
            self.states.pop(name, None)
            for kind in NETNS_FILES:
                self.files.pop((name, kind.kind), None)
        return self.sorted

    def namespace_inodes(self) -> dict[str, int]:
        """Those `names` read, in this very observe."""
        return self.inodes

    def resolver(self) -> Resolver | None:
        """Its namespaces checked again only when its status or the listing is another: Served."""
        return resolverstate.observe(self.inodes, self.served)

    def namespace(self, name: str | None) -> Namespace:
        if name is None:
            self.sync()
            space = self._host()
        else:
            space = self._space(name)
        return Namespace(name, space.links, CachedDumps(name, space, self.source))

    def _host(self) -> Space:
        with self.lock:
            space = self.spaces.get(None)
            stale, self.stale_links = self.stale_links, set()
            whole, self.stale_host = self.stale_host or space is None, False
        if space is None or stale:
            self.host_links_read += 1  # what namespaces' host ends were computed from may differ now
        if space is None:
            space = self.spaces[None] = self._read(None, 0, -1)
            self.host_read_whole = self.host_links_read
            self.host_changed = None  # only after forget, which ended every quiet
        else:
            before = {index: space.links.get(index) for index in stale}
            self._refresh_host(space, stale, whole)
            if self.host_changed is not None:
                self.host_changed |= stale
            for index, old in before.items():
                new = space.links.get(index)
                users = self.end_users.get(index, set()) if new != old else set()
                if (old and old.name) != (new and new.name):
                    users = users | self.master_users.get(index, set())
                self.ends_dirty.update(users)
                with self.lock:
                    self.quiet.difference_update(users)
        return space

    def _refresh_host(self, space: Space, stale: set[int], whole: bool) -> None:
        """Read again the host links of these indexes, and with `whole` the host's addresses and routes."""
        client = self.source.client(None)
        try:
            for index in stale:
                try:
                    space.links[index] = Link.of(client.get_link(index))
                except OSError:  # gone (ENODEV)
                    space.links.pop(index, None)
            if whole:
                space.addresses, space.routes = client.addresses(), _routes(client, None)
        finally:
            client.close()

    def _space(self, name: str) -> Space:
        inode = self.inodes.get(name) or self.source.inode(name)
        with self.lock:
            space = self.spaces.get(name)
            fresh = (space is None or space.inode != inode or space.nsid < 0 or space.nsid in self.dirty
                     or name in self.touched_names)
            if fresh:
                self.touched_names.discard(name)
                if space is not None:
                    self.dirty.discard(space.nsid)
        if space is not None and not fresh:
            return space
        nsid = space.nsid if space is not None and space.inode == inode and space.nsid >= 0 else self.source.nsid(name)
        with self.lock:
            self.dirty.discard(nsid)
        space = self.spaces[name] = self._read(name, inode, nsid)
        return space

    def _read(self, name: str | None, inode: int, nsid: int) -> Space:
        """One namespace as observe reads it: links, then (when we own its loopback) addresses and routes."""
        client = self.source.client(name)
        try:
            space = Space(inode, nsid, {l.index: l for l in map(Link.of, client.links())})
            if name is None or any(l.name == "lo" and l.owned for l in space.links.values()):
                space.addresses, space.routes = client.addresses(), _routes(client, name)
            return space
        finally:
            client.close()


def _routes(client: Client, name: str | None) -> list[RouteMsg]:
    """The routes observe reads: the host's of every table (the overlap check), a namespace's of ours."""
    return client.routes() if name is None else client.routes(RT_TABLE_MAIN, ROUTE_PROTO)

