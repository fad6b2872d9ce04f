"""What the watch keeps between two reconciles, so that one changed file costs what it changes.

`ManifestCache`: each file's bytes with its parsed documents, their schema problems and typed objects;
a file is parsed and checked again only when its bytes differ. The checks that span files (semantic
checks) run over all of them every time, so the result is what `validate.load_manifests` gives,
except for address allocation, which the plan does.

`KernelCache`: what observe read of each namespace (links, addresses, routes), read again only when
rtnetlink told of a change in it or a plan step touched it; see its docstring.
"""

from __future__ import annotations

import hashlib
import os
import socket
import struct
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable

from reconciler import netns, spec
from reconciler.hostsfile import ETC_NETNS, hosts_file_name
from reconciler.errors import ManifestError, Problem
from reconciler.manifest import Document, gone, load_file, manifest_files, read
from reconciler.model import ROUTE_PROTO, HostsFile, Sysctl
from reconciler.observe import MAIN_TABLE, InTheWay, Link, Namespace, Reader, host_ends, namespace_objects
from reconciler.plan import Step
from reconciler.rtnl import IFINFOMSG, NLA, RTM_GETLINK, AddrMsg, Dumper, RouteMsg, attrs, parse_link
from reconciler.schema import KIND_SCHEMAS, schema_problems
from reconciler.spec import Manifests
from reconciler.validate import semantic_problems


def _parser(kind: str) -> Callable[[Document], Any]:
    return getattr(spec, f"parse_{kind.lower()}")


def _field(kind: str) -> str:
    """The Manifests field that holds a kind's objects: Network -> networks."""
    return f"{kind.lower()}s"


@dataclass(frozen=True)
class Checked:
    """One document with its schema problems, and its typed object when it has none."""

    doc: Document
    problems: tuple[Problem, ...]
    typed: Any = None


@dataclass(frozen=True)
class _File:
    content: bytes | OSError
    documents: tuple[Checked, ...]
    problems: tuple[Problem, ...]  # YAML syntax, unreadable file


def check(doc: Document) -> Checked:
    problems = tuple(schema_problems(doc))
    return Checked(doc, problems, None if problems else _parser(doc.kind)(doc))


class ManifestCache:
    """Typed manifests under some paths, re-parsing only the files whose bytes changed. Unlike
    `validate.load_manifests` it does not allocate addresses: the plan does that anyway (with the
    addresses the kernel holds), and raises the same ManifestError for a pool too small, before any
    change."""

    def __init__(self) -> None:
        self.files: dict[str, _File] = {}

    def load(self, paths: Iterable[str]) -> Manifests:
        """As validate.load_manifests: the typed manifests, or ManifestError naming every problem."""
        current = {str(p): f for p in manifest_files(paths) if (f := self._file(p)) is not None}
        self.files = current
        syntax = [p for f in current.values() for p in f.problems]
        if syntax:
            raise ManifestError(syntax)
        checked = [c for f in current.values() for c in f.documents]
        problems = [p for c in checked for p in c.problems]
        by_kind: dict[str, list] = {_field(kind): [] for kind in KIND_SCHEMAS}
        for c in checked:
            if not c.problems:
                by_kind[_field(c.doc.kind)].append(c.typed)
        manifests = Manifests(**{name: tuple(objects) for name, objects in by_kind.items()})
        invalid_networks = {c.doc.name for c in checked if c.doc.kind == "Network" and c.problems}
        problems += semantic_problems(manifests, invalid_networks)
        if problems:
            raise ManifestError(sorted(problems, key=lambda p: (p.where.file, p.where.line, p.where.column)))
        return manifests

    def digest(self) -> str:
        """SHA-256 of the files last loaded, names and bytes: identifies a source outside git."""
        sha = hashlib.sha256()
        for name, f in sorted(self.files.items()):
            content = f.content if isinstance(f.content, bytes) else b""  # only valid sources are digested
            sha.update(f"{len(name)}:{name}{len(content)}:".encode() + content)
        return sha.hexdigest()

    def _file(self, path: Path) -> _File | None:
        """The file as parsed, from the cache when its bytes are the same; None when it is gone."""
        content = read(path)
        if gone(content):
            return None
        known = self.files.get(str(path))
        if known is not None and isinstance(content, bytes) and known.content == content:
            return known
        documents, problems = load_file(path, content)
        return _File(content, tuple(map(check, documents)), tuple(problems))


RTM_NEWLINK, RTM_DELLINK, RTM_GETNSID = 16, 17, 90
NETNSA_NSID, NETNSA_FD = 1, 3
RTGENMSG = struct.Struct("=B3x")
LINK_EVENTS = (RTM_NEWLINK, RTM_DELLINK)
NOT_RTNETLINK = (HostsFile, Sysctl)  # what observe reads from files


@dataclass
class _Space:
    """One namespace as last read: its identity (nsfs inode, and its nsid here: -1 when it has none, so
    no event can tell of it) and its dumps."""

    inode: int
    nsid: int
    links: dict[int, Link]
    addresses: list[AddrMsg] = field(default_factory=list)
    routes: list[RouteMsg] = field(default_factory=list)


@dataclass(frozen=True)
class _State:
    """What observe made of a namespace (None: not ours), and what it was made from."""

    space: _Space
    host_links_read: int
    ends: tuple
    stamp: tuple | None
    state: tuple[dict, dict] | None


class Replay:
    """Stands for a Dumper in observe: answers from what was read; neighbours are read live (only
    VXLAN networks need them, and no event we listen to tells of them)."""

    def __init__(self, name: str | None, space: _Space) -> None:
        self.name, self.space = name, space

    def addresses(self) -> list[AddrMsg]:
        return self.space.addresses

    def routes(self, table: int = 0, protocol: int = 0) -> list[RouteMsg]:
        return self.space.routes  # dumped with observe's filter (_routes)

    def neighbours(self, family: int) -> list:
        with netns.entered(self.name):
            dumper = Dumper()
        try:
            return dumper.neighbours(family)
        finally:
            dumper.close()

    def close(self) -> None:
        pass


class KernelCache(Reader):
    """observe's reader in the watch: each namespace's links, addresses and routes are kept between
    reconciles and read again only when

    - rtnetlink told of a change in it (`heard`, fed with every message by events.KernelEvents, whose
      `drain` is `sync`: called before the cache is trusted, so every change made so far is heard),
    - a step of a plan touched it (`touched`, the executor's report),
    - it is not the same namespace any more (another nsfs inode under its name), or it has no nsid
      here (then no event can come from it: it is read every time).

    Host links are read again one by one, by index, as their events name them; host addresses and
    routes whole on any news of them. `forget` drops everything: the next observe reads it all (the
    watch's startup, resync and SIGHUP; lost events). Hosts files are read again when their
    inode, size or modification time differ (one stat instead of a read); sysctls and nftables are
    read by observe itself, every time. The objects observe makes of a namespace are kept too, while
    neither the namespace's dumps nor its links' ends in the host (`observe.host_ends`) change.
    """

    def __init__(self, sync: Callable[[], None] = lambda: None) -> None:
        self.sync = sync
        self.lock = threading.Lock()
        self.spaces: dict[str | None, _Space] = {}
        self.inodes: dict[str, int] = {}
        self.dirty: set[int] = set()            # nsids heard of
        self.stale_links: set[int] = set()      # host link indexes heard of
        self.stale_host = True                  # host addresses and routes
        self.touched_names: set[str] = set()
        self.files: dict[str, tuple[tuple, str | InTheWay | None]] = {}  # netns -> (stat, content)
        self.made: dict[str, tuple[_Space, tuple, tuple[dict, set]]] = {}  # name -> (read, host ends, objects)
        self.states: dict[str, _State] = {}
        self.host_links_read = 0  # how many times host links were read (whole or some)

    def heard(self, nsid: int | None, kind: int, body: memoryview) -> None:
        with self.lock:
            if nsid is not None:
                self.dirty.add(nsid)
            elif kind in LINK_EVENTS:
                self.stale_links.add(IFINFOMSG.unpack_from(body)[2])
            else:
                self.stale_host = True

    def touched(self, step: Step) -> None:
        """A step was applied: read its namespace again (host objects are heard of through events; files
        and sysctls are read by observe every time)."""
        for obj in (step.desired, step.observed):
            if obj is not None and obj.netns is not None and not isinstance(obj, NOT_RTNETLINK):
                with self.lock:
                    self.touched_names.add(obj.netns)

    def forget(self) -> None:
        with self.lock:
            self.spaces.clear()
            self.files.clear()
            self.made.clear()
            self.states.clear()

    def namespace_state(self, name: str, host: Namespace) -> tuple[dict, dict] | None:
        """Kept while the namespace's read, its links' host ends and its hosts file's stat are unchanged
        (the host ends are computed again only after host links were read again)."""
        try:
            space = self._space(name)
        except OSError:
            return None
        stamp, known = self._stamp(name), self.states.get(name)
        if known is not None and known.space is space and known.stamp == stamp:
            if known.host_links_read == self.host_links_read:
                return known.state
            ends = host_ends(space.links, host)
            if known.ends == ends:
                self.states[name] = replace(known, host_links_read=self.host_links_read)
                return known.state
        else:
            ends = host_ends(space.links, host)
        state = super().namespace_state(name, host)
        self.states[name] = _State(space, self.host_links_read, ends, stamp, state)
        return state

    def namespace_objects(self, ns: Namespace, host: Namespace) -> tuple[dict, set]:
        space, ends = self.spaces.get(ns.name), host_ends(ns.links, host)
        known = self.made.get(ns.name)
        if known is not None and known[0] is space and known[1] == ends:
            return known[2]
        made = namespace_objects(ns, host)
        if space is not None:
            self.made[ns.name] = (space, ends, made)
        return made

    @staticmethod
    def _stamp(ns: str) -> tuple | None:
        """The identity, type and owner of the hosts file's folder, and the file's too with its size
        and times, symbolic links not followed (None: there is no folder)."""
        try:
            folder = os.lstat(f"{ETC_NETNS}/{ns}")
        except OSError:
            return None
        try:
            st = os.lstat(hosts_file_name(ns))
        except OSError:
            return folder.st_ino, folder.st_mode, folder.st_uid, None
        return (folder.st_ino, folder.st_mode, folder.st_uid,
                (st.st_ino, st.st_mode, st.st_uid, st.st_size, st.st_mtime_ns, st.st_ctime_ns))

    def hosts_file(self, ns: str) -> str | InTheWay | None:
        stamp = self._stamp(ns)
        if stamp is None:
            return None
        known = self.files.get(ns)
        if known is not None and known[0] == stamp:
            return known[1]
        content = super().hosts_file(ns)
        self.files[ns] = (stamp, content)
        return content

    def names(self) -> list[str]:
        """Named namespaces (mount points under the netns folder), with their inodes."""
        self.inodes = {}
        try:
            folder = os.stat(netns.NETNS_DIR).st_dev
            for entry in os.scandir(netns.NETNS_DIR):
                st = entry.stat(follow_symlinks=False)
                if st.st_dev != folder:
                    self.inodes[entry.name] = st.st_ino
        except FileNotFoundError:
            pass
        for gone in [n for n in self.made if n not in self.inodes]:
            del self.made[gone]
        for gone in [n for n in self.files if n not in self.inodes]:
            del self.files[gone]
        for gone in [n for n in self.states if n not in self.inodes]:
            del self.states[gone]
        return sorted(self.inodes)

    def namespace(self, name: str | None) -> Namespace:
        if name is None:
            self.sync()
            space = self._host()
        else:
            space = self._space(name)
        return Namespace(name, space.links, Replay(name, space))

    def _host(self) -> _Space:
        with self.lock:
            space = self.spaces.get(None)
            stale, self.stale_links = self.stale_links, set()
            whole, self.stale_host = self.stale_host or space is None, False
        if space is None or stale:
            self.host_links_read += 1  # what namespaces' host ends were computed from may differ now
        if space is None:
            space = self.spaces[None] = _read(None, 0, -1)
            return space
        dumper = Dumper()
        try:
            for index in stale:
                try:
                    space.links[index] = Link.of(parse_link(dumper._request(RTM_GETLINK, IFINFOMSG.pack(socket.AF_UNSPEC, 0, index, 0, 0), 0)))
                except OSError:  # gone (ENODEV)
                    space.links.pop(index, None)
            if whole:
                space.addresses, space.routes = dumper.addresses(), _routes(dumper, None)
        finally:
            dumper.close()
        return space

    def _space(self, name: str) -> _Space:
        inode = self.inodes.get(name) or os.stat(netns.path(name)).st_ino
        with self.lock:
            space = self.spaces.get(name)
            fresh = space is None or space.inode != inode or space.nsid < 0 or space.nsid in self.dirty or name in self.touched_names
            if fresh:
                self.touched_names.discard(name)
                if space is not None:
                    self.dirty.discard(space.nsid)
        if fresh:
            nsid = space.nsid if space is not None and space.inode == inode and space.nsid >= 0 else _nsid(name)
            with self.lock:
                self.dirty.discard(nsid)
            space = self.spaces[name] = _read(name, inode, nsid)
        return space


def _read(name: str | None, inode: int, nsid: int) -> _Space:
    """One namespace as observe reads it: links, then (when we own its loopback) addresses and routes."""
    with netns.entered(name):
        dumper = Dumper()
    try:
        space = _Space(inode, nsid, {l.index: l for l in map(Link.of, dumper.links())})
        if name is None or any(l.name == "lo" and l.owned for l in space.links.values()):
            space.addresses, space.routes = dumper.addresses(), _routes(dumper, name)
        return space
    finally:
        dumper.close()


def _routes(dumper: Dumper, name: str | None) -> list[RouteMsg]:
    """The routes observe reads: the host's of every table (the overlap check), a namespace's of ours."""
    return dumper.routes() if name is None else dumper.routes(MAIN_TABLE, ROUTE_PROTO)


def _nsid(name: str) -> int:
    """The id the host gives namespace `name` (-1: none yet)."""
    fd = netns.open_fd(name)
    dumper = Dumper()
    try:
        body = RTGENMSG.pack(socket.AF_UNSPEC) + NLA.pack(8, NETNSA_FD) + struct.pack("=I", fd)
        reply = dumper._request(RTM_GETNSID, body, 0)
        value = attrs(reply, RTGENMSG.size).get(NETNSA_NSID) if reply is not None else None
        return struct.unpack_from("=i", value)[0] if value is not None else -1
    except OSError:
        return -1
    finally:
        dumper.close()
        os.close(fd)
