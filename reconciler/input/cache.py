"""What the watch keeps of the manifests between two reconciles, so that one changed file costs what
it changes: each file's bytes with its parsed documents, their schema problems and typed objects; a
file is parsed and checked again only when its bytes differ. The checks of one endpoint alone run
again only for the endpoints of a changed file, or whose networks differ (validate_endpoints); those
that span endpoints (duplicate names, addresses, hosts file names...) walk them only when tallies
kept up to date with the changed files show a repeat (validate_index). So the result
is what `validate.load_manifests` gives, except for address allocation, which the plan does.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import chain
from typing import Any

from reconciler.errors import ManifestError, Problem
from reconciler.input import spec
from reconciler.input.manifest import Document, load_file, read_sources
from reconciler.input.schema import schema_problems
from reconciler.input.spec import Manifests
from reconciler.input.spec.types import Attached, attached_by_network
from reconciler.input.validate import semantic_problems
from reconciler.input.validate_endpoints import EndpointChecks
from reconciler.input.validate_index import EndpointIndex


def _parser(kind: str) -> Callable[[Document], Any]:
    parse: Callable[[Document], Any] = getattr(spec, "parse_" + re.sub(r"(?<!^)(?=[A-Z])", "_", kind).lower())
    return parse


@dataclass(frozen=True)
class Checked:
    """One document with its schema problems, and its typed object when it has none."""

    doc: Document
    problems: tuple[Problem, ...]
    typed: Any = None


KINDS = ("Network", "Endpoint", "Host", "Service", "AddressPools")


@dataclass(frozen=True)
class _File:
    """A file as parsed: its documents, and what a load takes of them, gathered when it is parsed (a
    load then takes each file's whole, not each document's)."""

    content: bytes | OSError
    documents: tuple[Checked, ...]
    problems: tuple[Problem, ...]  # YAML syntax, unreadable file
    typed: dict[str, list[Any]]  # the typed objects of the documents without schema problems, by kind, in order
    schema: tuple[Problem, ...]  # the documents' schema problems
    invalid_networks: tuple[str, ...]  # the names of the Networks with some
    attached: Attached  # its endpoints' interfaces on each network, with their endpoint

    @classmethod
    def of(cls, content: bytes | OSError, documents: tuple[Checked, ...], problems: tuple[Problem, ...]) -> _File:
        typed: dict[str, list[Any]] = {kind: [] for kind in KINDS}
        for c in documents:
            kind = c.doc.kind
            if not c.problems and kind in typed:
                typed[kind].append(c.typed)
        return cls(content, documents, problems, typed, tuple(p for c in documents for p in c.problems),
                   tuple(c.doc.name for c in documents if c.problems and c.doc.kind == "Network"),
                   attached_by_network(typed["Endpoint"]))


def check(doc: Document) -> Checked:
    problems = tuple(schema_problems(doc))
    return Checked(doc, problems, None if problems else _parser(doc.kind)(doc))


def _manifests(files: list[_File]) -> Manifests:
    """The typed objects of the documents without schema problems, by kind, in document order."""
    of = {kind: tuple(chain.from_iterable(f.typed[kind] for f in files)) for kind in KINDS}
    return Manifests(networks=of["Network"], endpoints=of["Endpoint"], hosts=of["Host"],
                     services=of["Service"], address_pools=of["AddressPools"],
                     attached_index=(of["Endpoint"], _attached(files)))


def _attached(files: list[_File]) -> Attached:
    """The interfaces on each network, with their endpoint: each file's, file after file."""
    networks = dict.fromkeys(network for f in files for network in f.attached)
    return {network: tuple(chain.from_iterable(f.attached.get(network, ()) for f in files)) for network in networks}


class ManifestCache:
    """Typed manifests under some paths, re-parsing only the files whose bytes changed. Unlike
    `validate.load_manifests` it does not allocate addresses: the plan does that anyway (with the
    addresses the kernel holds), and raises the same ManifestError for a pool too small, before any
    change."""

    def __init__(self) -> None:
        self.files: dict[str, _File] = {}
        self.revisions: dict[str, int] = {}  # of the etcd sources last loaded: the revision read at
        self.changed: dict[str, int] = {}    # and that of their manifests' last change
        self.checks = EndpointChecks()
        self.index = EndpointIndex()  # of the endpoints of self.files

    def load(self, paths: Iterable[str]) -> Manifests:
        """As validate.load_manifests: the typed manifests, or ManifestError naming every problem."""
        sources = read_sources(paths)
        current = {name: self._file(name, content) for name, content in sources.entries}
        self._count(current)
        self.files, self.revisions, self.changed = current, sources.revisions, sources.changed
        syntax = [p for f in current.values() for p in f.problems]
        if syntax:
            raise ManifestError(syntax)
        files = list(current.values())
        problems = [p for f in files for p in f.schema]
        manifests = _manifests(files)
        invalid_networks = {name for f in files for name in f.invalid_networks}
        groups = [f.typed["Endpoint"] for f in files]
        problems += semantic_problems(manifests, invalid_networks, self.checks, self.index, groups)
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

    def _count(self, current: dict[str, _File]) -> None:
        """The index counts the endpoints of the files now loaded: those of files gone or changed out, new ones in."""
        for name, f in self.files.items():
            if current.get(name) is not f:
                self.index.count(f.typed["Endpoint"], -1)
        for name, f in current.items():
            if self.files.get(name) is not f:
                self.index.count(f.typed["Endpoint"], 1)

    def _file(self, name: str, content: bytes | OSError) -> _File:
        """The file as parsed, from the cache when its bytes are the same."""
        known = self.files.get(name)
        if known is not None and isinstance(content, bytes) and known.content == content:
            return known
        documents, problems = load_file(name, content)
        return _File.of(content, tuple(map(check, documents)), tuple(problems))
