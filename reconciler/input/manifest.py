"""Load YAML manifests with yaml.safe_load semantics, keeping the position of every node."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from reconciler.errors import (
    EtcdError,
    Location,
    ManifestError,
    Problem,
    SourceUnavailable,
)
from reconciler.input import etcd
from reconciler.input.parsed import Parsed, Path_, parsed_digest, plain


@dataclass
class Document:
    """One YAML document: its plain data and where each of its nodes was written."""

    data: Any
    file: str
    positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        kind = self.data.get("kind") if isinstance(self.data, dict) else None
        return kind if isinstance(kind, str) else ""

    @property
    def name(self) -> str:
        meta = self.data.get("metadata") if isinstance(self.data, dict) else None
        return str(meta.get("name", "")) if isinstance(meta, dict) else ""

    @property
    def subject(self) -> str:
        return f"{self.kind or 'Document'}/{self.name or '?'}"

    def where(self, *path: str | int) -> Location:
        """The position of the deepest written node along `path`."""
        for end in range(len(path), -1, -1):
            pos = self.positions.get(tuple(path[:end]))
            if pos:
                return Location(self.file, *pos)
        return Location(self.file, 1, 1)

    def problem(self, message: str, *path: str | int) -> Problem:
        return Problem(self.where(*path), _printable(self.subject), _printable(message))


def _printable(text: str) -> str:
    """A newline or a terminal escape written in a manifest is shown escaped, never sent to the terminal."""
    return text if text.isprintable() else repr(text)[1:-1]


def manifest_files(paths: Iterable[str]) -> list[Path]:
    """Every *.yaml / *.yml under the given paths, recursively, in sorted order. A folder removed while
    it is listed (a checkout being updated) is not in the source; one that cannot be listed is a problem."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found += sorted(_walk(path))
        elif path.is_file():
            found.append(path)
        else:
            raise ManifestError([Problem(Location(raw), "", "no such file or directory")])
    return found


def _walk(folder: Path) -> Iterator[Path]:
    def refuse(err: OSError) -> None:
        if not gone(err):
            raise ManifestError([Problem(Location(err.filename or str(folder)), "", f"cannot read: {err.strerror or err}")])

    for parent, _, names in os.walk(folder, onerror=refuse):
        for name in names:
            path = Path(parent, name)
            if path.suffix in (".yaml", ".yml") and path.is_file():
                yield path


def load_paths(paths: Iterable[str], parsed: Parsed | None = None) -> list[Document]:
    """Load every document under `paths`; all YAML syntax errors are reported together. With `parsed`,
    a file parsed before (the same bytes, by this same loader) is taken from it, and a file parsed
    now whose documents are plain JSON values is given to it."""
    documents: list[Document] = []
    problems: list[Problem] = []
    for name, content in read_sources(paths).entries:
        digest = parsed_digest(content) if parsed is not None and isinstance(content, bytes) else None
        known = parsed.get(digest) if parsed is not None and digest is not None else None
        if known is not None:
            documents += [Document(data, name, positions) for data, positions in known]
            continue
        docs, found = load_file(name, content)
        documents += docs
        problems += found
        if parsed is not None and digest is not None and not found and all(plain(d.data) for d in docs):
            parsed.put(digest, [(d.data, d.positions) for d in docs])
    if problems:
        raise ManifestError(problems)
    return documents


@dataclass(frozen=True)
class Sources:
    """The manifest texts of some paths, each named as its errors are located, in order; and for each
    etcd source the revision it was read at."""

    entries: list[tuple[str, bytes | OSError]]
    revisions: dict[str, int]
    changed: dict[str, int]  # of each etcd source: the revision of the last change to its manifests


def read_sources(paths: Iterable[str]) -> Sources:
    """Every manifest's text under `paths`: files and directories, or etcd prefixes (one key, one file)."""
    entries: list[tuple[str, bytes | OSError]] = []
    revisions: dict[str, int] = {}
    changed: dict[str, int] = {}
    for raw in paths:
        if etcd.is_url(raw):
            revisions[raw], changed[raw], found = read_etcd(raw)
            entries += found
            continue
        for path in manifest_files([raw]):
            content = read(path)
            if not gone(content):
                entries.append((str(path), content))
    return Sources(entries, revisions, changed)


def read_etcd(raw: str) -> tuple[int, int, list[tuple[str, bytes | OSError]]]:
    """The revision read at, that of the manifests' last change, and the manifests under an etcd prefix
    (its status keys are not manifests)."""
    url = etcd.EtcdURL.parse(raw)
    try:
        snapshot = etcd.Client(url).range(url.prefix)
    except EtcdError as err:
        raise SourceUnavailable([Problem(Location(str(url)), "", f"cannot read: {err}")]) from None
    return snapshot.revision, snapshot.changed(url), [(url.name(kv.key), kv.value) for kv in snapshot.kvs if url.manifest(kv.key)]


def read(path: Path) -> bytes | OSError:
    """A file's bytes, or the error that prevented reading it."""
    try:
        return path.read_bytes()
    except OSError as err:
        return err


def gone(content: bytes | OSError) -> bool:
    """Whether a listed file (or folder) went before it was read: then it is not in the source."""
    return isinstance(content, (FileNotFoundError, NotADirectoryError))


def load_file(path: Path | str, content: bytes | OSError) -> tuple[list[Document], list[Problem]]:
    """The documents of one file (as `read` returned it), or the problems that prevent reading them."""
    try:
        if isinstance(content, OSError):
            raise content
        text = content.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")  # as read_text() does
        return load_text(text, str(path)), []
    except ManifestError as err:
        return [], err.problems
    except OSError as err:
        return [], [Problem(Location(str(path)), "", f"cannot read: {err.strerror or err}")]
    except UnicodeDecodeError as err:
        return [], [Problem(Location(str(path)), "", f"cannot read: {err}")]


def load_text(text: str, filename: str) -> list[Document]:
    """Parse a YAML stream into Documents (empty documents are skipped). libyaml parses ASCII text
    first; what it refuses is parsed again by PyYAML's own parser, whose verdict and message stand
    (libyaml refuses a few streams PyYAML reads, such as JSON's surrogate pair escapes)."""
    if _FastLoader is None or not text.isascii():  # the two differ on Unicode line breaks and marks
        return _load(_Loader, text, filename)
    try:
        return _load(_FastLoader, text, filename)
    except ManifestError:
        return _load(_Loader, text, filename)


def _load(loader_class: type, text: str, filename: str) -> list[Document]:
    documents: list[Document] = []
    loader = None
    aliased = 0  # nodes that aliases add, over all documents: many small bombs are one big one
    twice: list[Problem] = []  # keys written twice, over all documents: reported together
    surrogates = SURROGATE_ESCAPE.search(text) is not None  # once per file, not once per document (N reads of the text)
    try:
        loader = loader_class(text)  # checks the characters at once: inside the try
        while loader.check_node():
            composed, aliases = loader.composed, loader.aliases
            node = loader.get_node()
            if node is None:
                continue
            if loader.aliases > aliases or loader.composed - composed > MAX_NODES:  # else a tree within bounds
                aliased += _check_expansion(node, filename)
            if surrogates:
                _join_surrogate_pairs(node)
            if aliased > MAX_NODES:
                raise _refuse(node, filename, f"the documents of this file expand to more than {MAX_NODES} nodes (aliases)")
            positions: dict[Path_, tuple[int, int]] = {}
            _record(node, (), positions)
            duplicates = _duplicate_keys(node, filename)  # before construction, which merges `<<` into the mapping
            data = loader.construct_document(node)
            twice += [Problem(where, _printable(Document(data, filename).subject), message) for where, message in duplicates]
            if data is not None:
                documents.append(Document(data, filename, positions))
    except yaml.YAMLError as err:
        raise ManifestError([Problem(_yaml_error_location(err, text, filename), "", f"invalid YAML: {_yaml_problem(err)}")]) from None
    finally:
        if loader is not None:
            loader.dispose()
    if twice:
        raise ManifestError(twice)
    return documents


MERGE = "tag:yaml.org,2002:merge"


def _duplicate_keys(root: yaml.Node, filename: str) -> list[tuple[Location, str]]:
    """Keys written twice in one mapping, anywhere in the document (each distinct node checked once)."""
    problems: list[tuple[Location, str]] = []
    visited: set[int] = set()
    todo = [root]
    while todo:
        node = todo.pop()
        if id(node) in visited:
            continue
        visited.add(id(node))
        if isinstance(node, yaml.MappingNode):
            problems += _keys_twice(node, filename)
            todo += [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            todo += node.value
    return sorted(problems, key=lambda p: (p[0].line, p[0].column))


def _keys_twice(mapping: yaml.MappingNode, filename: str) -> list[tuple[Location, str]]:
    """YAML forbids a key twice in a mapping; PyYAML would keep the last one silently. Merge keys (<<)
    are left to YAML's merge rules."""
    first: dict[tuple[str, str], yaml.Node] = {}
    problems = []
    for key, _ in mapping.value:
        if not isinstance(key, yaml.ScalarNode) or key.tag == MERGE:
            continue
        earlier = first.setdefault((key.tag, key.value), key)
        if earlier is not key:
            where = Location(filename, key.start_mark.line + 1, key.start_mark.column + 1)
            message = (f"invalid YAML: key {key.value!r} is written twice in one mapping (first at line "
                       f"{earlier.start_mark.line + 1}, column {earlier.start_mark.column + 1}; YAML would keep only "
                       "the last): remove one")
            problems.append((where, _printable(message)))
    return problems


MAX_NODES = 100_000  # after expanding aliases: far above any real manifest, far below a "billion laughs"
MAX_DEPTH = 100  # nesting levels: a manifest needs fewer than 10; PyYAML's composer recurses once per level


class _DepthLimit(yaml.composer.Composer):
    """Refuses deep nesting before the recursive composer exhausts Python's stack. Counts the nodes it
    composes and the aliases among them: a document without aliases is a tree, whose expansion need
    not be walked for (_check_expansion) unless it is too big by itself."""

    _depth = 0
    composed = 0
    aliases = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self._depth >= MAX_DEPTH:
            mark = self.peek_event().start_mark  # type: ignore[attr-defined]  # the parser's, mixed in
            raise yaml.composer.ComposerError(None, None, f"nested more than {MAX_DEPTH} levels deep", mark)
        self.composed += 1
        if self.check_event(yaml.AliasEvent):  # type: ignore[attr-defined]  # the parser's, mixed in
            self.aliases += 1
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _Loader(_DepthLimit, yaml.SafeLoader):
    """yaml.SafeLoader with the depth limit."""


_FastLoader: type | None = None  # PyYAML may be built without libyaml
if yaml.__with_libyaml__:
    class _CLoader(_DepthLimit, yaml.cyaml.CParser, yaml.constructor.SafeConstructor, yaml.resolver.Resolver):  # type: ignore[misc, name-defined]
        """yaml.SafeLoader's semantics on libyaml's scanner and parser (about 5x faster at 1000 documents);
        the composer stays PyYAML's, with the depth limit (libyaml's parser does not recurse)."""

        def __init__(self, stream: str) -> None:
            yaml.cyaml.CParser.__init__(self, stream)  # type: ignore[attr-defined]
            _DepthLimit.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)

        def compose_scalar_node(self, anchor: dict[Any, yaml.Node]) -> yaml.ScalarNode:
            event = self.peek_event()
            if event.tag == "!":  # PyYAML resolves a scalar tagged "!" as a plain one; libyaml's says "not plain"
                event.implicit = (True, False)
            return super().compose_scalar_node(anchor)

    _FastLoader = _CLoader


def _check_expansion(root: yaml.Node, filename: str) -> int:
    """Refuse recursive aliases and documents whose aliases expand past MAX_NODES nodes.

    Returns how many nodes the aliases add to the document (its expanded size less its distinct nodes)."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node) -> int:
        if id(node) in sizes:
            return sizes[id(node)]
        if id(node) in active:
            raise _refuse(node, filename, "an alias refers to a node that contains it (a recursive structure)")
        active.add(id(node))
        children = [c for pair in node.value for c in pair] if isinstance(node, yaml.MappingNode) else (
            node.value if isinstance(node, yaml.SequenceNode) else [])
        total = 1 + sum(size(c) for c in children)
        active.discard(id(node))
        if total > MAX_NODES:
            raise _refuse(node, filename, f"the document expands to more than {MAX_NODES} nodes (aliases)")
        sizes[id(node)] = total
        return total

    return size(root) - len(sizes)


# JSON writes a character beyond U+FFFF as an escaped surrogate pair ("\\ud83d\\ude00"), which YAML reads
# as two lone surrogates, characters no file name, file or terminal can take.
SURROGATE_ESCAPE = re.compile(r"\\(u|U0000)[dD][89a-fA-F]")


def _join_surrogate_pairs(root: yaml.Node) -> None:
    """Every scalar of the document with its surrogate pairs read as the character each stands for, as
    JSON reads them (a lone surrogate stays, and validation refuses it)."""
    seen: set[int] = set()
    todo = [root]
    while todo:
        node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode) and isinstance(node.value, str):
            node.value = node.value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
        elif isinstance(node, yaml.MappingNode):
            todo += [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            todo += node.value


def _refuse(node: yaml.Node, filename: str, message: str) -> ManifestError:
    where = Location(filename, node.start_mark.line + 1, node.start_mark.column + 1)
    return ManifestError([Problem(where, "", f"invalid YAML: {message}")])


def _yaml_error_location(err: yaml.YAMLError, text: str, filename: str) -> Location:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    if mark is not None:
        return Location(filename, mark.line + 1, mark.column + 1)
    position = getattr(err, "position", None)  # a ReaderError: a character YAML does not allow
    if isinstance(position, int):
        before = text[:position]
        return Location(filename, before.count("\n") + 1, position - before.rfind("\n"))
    return Location(filename, 1, 1)


def _yaml_problem(err: yaml.YAMLError) -> str:
    if isinstance(err, yaml.reader.ReaderError):
        return f"character {err.character!r} is not allowed in YAML"
    return getattr(err, "problem", None) or str(err)


def _record(node: yaml.Node, path: Path_, positions: dict[Path_, tuple[int, int]]) -> None:
    positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                _record(value, path + (key.value,), positions)
                positions[path + (key.value,)] = (key.start_mark.line + 1, key.start_mark.column + 1)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record(item, path + (index,), positions)
