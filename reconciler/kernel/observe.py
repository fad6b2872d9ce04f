"""Read what the kernel holds, read-only: our links, addresses, routes, namespaces, sysctls, nft table.

One dump per object type per namespace (never a dump per lookup); what is ours among what was read
is reconciler/kernel/observe_objects.py's to say. Our nftables table is the one of our name. A one-shot
observe of many namespaces has a forked child read them (kernel/forked.py, kernel/nsread.py) while this
process reads the host and parses what the child sent: the kernel is read afresh every time either way.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from reconciler.errors import ForeignTable
from reconciler.kernel import (
    ahead,
    dhcpstate,
    netns,
    nft,
    nsread,
    resolvconf,
    resolverstate,
)
from reconciler.kernel.forked import Forked
from reconciler.kernel.hostsfile import ETC_NETNS, EtcNetns
from reconciler.kernel.merged import Merged, NamespaceState
from reconciler.kernel.names import is_text
from reconciler.kernel.observe_objects import (
    Link,
    Namespace,
    Objects,
    host_objects,
    host_routes,
    namespace_objects,
    netns_owner,
)
from reconciler.kernel.rtnl import RouteMsg
from reconciler.kernel.rtnl_client import RtnlClient
from reconciler.kernel.session import Kernel
from reconciler.model import NETNS_FILES, Key, NetnsFile, NftTable, sysctl
from reconciler.model.dns import Resolver
from reconciler.planning.plan import HostLink, Observed

FORK_FROM = 64  # namespaces to read: with fewer, starting the child costs more than it saves


@dataclass(frozen=True)
class InTheWay:
    """What stands where a file of ours should be, and is not ours to write or delete: why."""

    reason: str


class Reader:
    """Where observe reads namespaces from: the kernel, one dump per object type. The watch's cache
    (reconciler/kernel/cache.py) replays instead the namespaces it has heard no change in."""

    etc: EtcNetns | None = None  # while reading: /etc/netns held open for the namespaces' files
    forked = False  # whether a forked child reads the namespaces while this process parses them
    prefetch: Forked | None = None  # while reading, if forked: that child
    raw: tuple[str, nsread.Raw] | None = None  # the namespace the child gave last
    listed: list[str] | None = None  # while reading, if forked: the named namespaces, listed once

    def __init__(self, forked: bool = False, started: Forked | None = None) -> None:
        self.forked = forked
        self.prefetch = started  # a child started before this process loaded (kernel/ahead.py), for the next observe

    @contextmanager
    def reading(self, only: Collection[str] | None = None) -> Iterator[None]:
        """One observe's reads (of the namespaces of `only`, if given): /etc/netns is opened once for all
        of them; when forked and they are many, a child reads them meanwhile (nsread, forked), unless
        one started ahead (kernel/ahead.py) does."""
        self.etc = EtcNetns()
        try:
            self.listed = self.names() if self.forked else None
            names = [n for n in self.listed or () if is_text(n) and (only is None or n in only)]
            if self.prefetch is None:
                self.prefetch = _forked(names, self._read_raw, FORK_FROM)
            yield
        finally:
            self._stop_prefetch()
            self.raw, self.listed = None, None
            self.etc.close()
            self.etc = None

    def _stop_prefetch(self) -> None:
        if self.prefetch is not None:
            self.prefetch.close()
        self.prefetch = None

    def _read_raw(self, name: str) -> bytes:
        """In the child (which moves from namespace to namespace): the namespace as bytes."""
        return nsread.read(name, lambda ns, kind: _file_read(self.netns_file(ns, kind)), stay=True)

    def _prefetched(self, name: str | None) -> nsread.Raw | None:
        data = self.prefetch.get(name) if self.prefetch is not None and name is not None else None
        if data is None:
            return None
        raw = nsread.Raw.of(data)
        self.raw = (name, raw) if name is not None else None
        return raw

    def _host_links_ahead(self) -> Namespace:
        """The host: its links as a child started ahead read them if it did, its other dumps read now."""
        data = self.prefetch.get(ahead.HOST) if self.prefetch is not None else None
        if data is None:
            return _namespace(None)
        return Namespace(None, {l.index: l for l in nsread.links_of(data)}, RtnlClient())

    def names(self) -> list[str]:
        return netns.list_names() if self.listed is None else self.listed

    def namespace_inodes(self) -> Mapping[str, int] | None:
        """The named namespaces' inodes as `names` read them in this observe (None: not read; the
        resolver's check reads them itself)."""
        return None

    def namespaces_apart(self) -> dict[str, Objects] | None:
        """Each namespace's objects, apart, where this reader keeps them (the watch's cache does)."""
        return None

    def resolver(self) -> Resolver | None:
        """The running resolver (resolverstate.observe), checked against the namespaces `names` read."""
        return resolverstate.observe(self.namespace_inodes())

    def namespace(self, name: str | None) -> Namespace:
        """OSError when `name` is not a namespace."""
        if name is None:
            return self._host_links_ahead()
        raw = self._prefetched(name)
        if raw is None or name is None:
            return _namespace(name)
        return Namespace(name, {l.index: l for l in raw.parsed_links()}, nsread.RawDumps(name, raw))

    def namespace_objects(self, ns: Namespace, host: Namespace) -> tuple[Objects, set[Key]]:
        return namespace_objects(ns, host)

    def table(self) -> NftTable | None:
        """Our nftables table (None: there is none); ForeignTable when one of its name is not ours."""
        return nft.read_table()

    def namespaces_merged(self, host: Namespace, only: Collection[str] | None) -> tuple[Merged, list[str]]:
        """The states of the named namespaces that are ours (of those of `only`, if given) merged, and
        the names of the others."""
        names = self.names()
        states: dict[str, NamespaceState] = {}
        others = []
        for name in names if only is None else sorted(set(only).intersection(names)):
            state = self.namespace_state(name, host) if is_text(name) else None
            if state is None:
                others.append(name)
            else:
                states[name] = state
        merged = Merged()
        merged.merge(states)
        return merged, others

    def host_objects(self, host: Namespace, routes: list[RouteMsg]) -> tuple[Objects, set[Key], dict[str, HostLink]]:
        return host_objects(host, routes)

    def namespace_state(self, name: str, host: Namespace) -> NamespaceState | None:
        """A namespace's objects, its files in /etc/netns included, and the keys of what in it is not ours (with
        why, where there is more to say than that it exists); None when the namespace is not ours."""
        ns = _owned_namespace(self, name)
        if ns is None:
            return None
        found, alien = self.namespace_objects(ns, host)
        ns.dumps.close()
        objects, foreign = dict(found), dict.fromkeys(alien, "")
        for kind in NETNS_FILES:
            _collect_file(name, kind, self.netns_file(name, kind), objects, foreign)
        return objects, foreign

    def netns_file(self, ns: str, kind: type[NetnsFile]) -> str | InTheWay | None:
        """The content of the endpoint's file of this kind if we wrote it (None: there is none), or what
        is in the way of it (a symbolic link, a file we did not write)."""
        if self.raw is not None and self.raw[0] == ns and self.raw[1].files:
            told = self.raw[1].files[NETNS_FILES.index(kind)]
        else:
            told = nsread.file_read(self.etc, ns, kind)
        return InTheWay(told[0]) if isinstance(told, tuple) else told

    def netns_folders(self) -> Collection[str]:
        """The names in /etc/netns (none when there is no such folder)."""
        try:
            with os.scandir(ETC_NETNS) as entries:
                return [e.name for e in entries]
        except FileNotFoundError:
            return []

    def stray_files(self, skip: Collection[str], only: Collection[str] | None = None) -> dict[Key, str]:
        """What stands in the way of the files of namespaces not ours or not there yet (a file we did
        not write, a symbolic link), by key, with why; of the namespaces of `only` alone, if given."""
        folders = self.netns_folders()
        names = (set(folders) if only is None else set(only).intersection(folders)).difference(skip)
        found = {(kind.kind, name): self.netns_file(name, kind) for name in names for kind in NETNS_FILES}
        return {key: f.reason for key, f in found.items() if isinstance(f, InTheWay)}


def _forked(names: list[str], work: Callable[[str], bytes], least: int) -> Forked | None:
    if len(names) < least:
        return None
    try:
        return Forked(names, work)
    except OSError:
        return None  # no process or pipe to be had: this one reads them all, as it would with few


def _file_read(content: str | InTheWay | None) -> nsread.FileRead:
    return (content.reason,) if isinstance(content, InTheWay) else content


@dataclass
class _Found:
    """What observe has found so far."""

    objects: Objects
    foreign: set[Key]
    reasons: dict[Key, str] = field(default_factory=dict)
    owned: set[str] = field(default_factory=set)  # the namespaces that are ours


def observe(kernel: Kernel, sysctls: Iterable[tuple[str | None, str]] = (), reader: Reader | None = None,
            namespaces: Collection[str] | None = None, table: bool = True, resolver: bool = True) -> Observed:
    """Our objects in the host namespace and in every namespace we own (or only in those of
    `namespaces`), our nftables table (unless `table` is False) and our processes (the resolver unless
    `resolver` is False), plus same-named foreign ones."""
    reader = reader or Reader(forked=True)
    with reader.reading(namespaces):
        return _observe(kernel, sysctls, reader, namespaces, table, resolver)


def _observe(kernel: Kernel, sysctls: Iterable[tuple[str | None, str]], reader: Reader,
             namespaces: Collection[str] | None, table: bool, resolver: bool) -> Observed:
    host = reader.namespace(None)
    routes = host.dumps.routes()  # every table, unfiltered: ours, and the host's own for the overlap check
    objects, foreign, host_links = reader.host_objects(host, routes)
    host.dumps.close()
    found = _Found(objects, foreign)
    _collect_namespaces(reader, host, namespaces, found)
    _collect_strays(reader, namespaces, found)
    _collect_sysctls(kernel, sysctls, found)
    if table:
        _collect_table(reader, found)
    running = reader.resolver() if resolver else None
    host_resolv = resolvconf.read() or resolvconf.ResolvConf()
    if running is not None:
        found.objects[running.key] = running
    keeper = dhcpstate.observe()
    if keeper is not None:
        found.objects[keeper.key] = keeper
    return Observed(found.objects, frozenset(found.foreign), host_links, host_routes=host_routes(host, routes),
                    reasons=found.reasons, search=host_resolv.search, name_servers=host_resolv.addresses)


def _collect_namespaces(reader: Reader, host: Namespace, only: Collection[str] | None, found: _Found) -> None:
    merged, others = reader.namespaces_merged(host, only)
    for name in others:
        if netns.identity(name) is not None:  # one removed since it was listed is neither ours nor foreign
            found.foreign.add(("netns", name))
    found.owned.update(merged.states)
    found.objects.update(merged.objects)
    found.foreign.update(merged.foreign)
    found.reasons.update((k, why) for k, why in merged.foreign.items() if why)


def _collect_strays(reader: Reader, only: Collection[str] | None, found: _Found) -> None:
    for stray, why in reader.stray_files(found.owned, only).items():
        found.foreign.add(stray)
        found.reasons[stray] = why


def _collect_sysctls(kernel: Kernel, sysctls: Iterable[tuple[str | None, str]], found: _Found) -> None:
    for ns_name, key in sysctls:
        if ns_name is None or ns_name in found.owned:
            value = kernel.read_sysctl(ns_name, key)
            if value is not None:
                setting = sysctl(ns_name, key, value)
                found.objects[setting.key] = setting


def _collect_table(reader: Reader, found: _Found) -> None:
    try:
        table = reader.table()
    except ForeignTable:
        found.foreign.add(NftTable().key)
        return
    if table is not None:
        found.objects[table.key] = table


def _namespace(name: str | None) -> Namespace:
    with netns.entered(name):
        client = RtnlClient()
    return Namespace(name, {l.index: l for l in map(Link.of, client.links())}, client)


def _owned_namespace(reader: Reader, name: str) -> Namespace | None:
    try:
        ns = reader.namespace(name)
    except OSError:
        return None  # not a namespace mount (a stale file): not ours
    lo = next((l for l in ns.links.values() if l.name == "lo"), None)
    if lo is None or not lo.owned:
        ns.dumps.close()
        return None
    return ns


def _collect_file(ns: str, kind: type[NetnsFile], content: str | InTheWay | None, objects: Objects,
                  foreign: dict[Key, str]) -> None:
    """The endpoint's managed file of this kind, or why what is there is in the way."""
    if isinstance(content, InTheWay):
        foreign[(kind.kind, ns)] = content.reason
    elif content is not None:
        found = kind(ns, content, owner=netns_owner(objects, ns))
        objects[found.key] = found
