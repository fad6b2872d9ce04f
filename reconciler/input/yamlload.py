"""YAML manifests parsed with yaml.safe_load semantics, keeping the position of every node; refused
with file:line when they are not YAML, nest too deep, expand past a bound through aliases, or write a
key twice. Imported only when a file is not in the parse cache (PyYAML takes 10 ms to import)."""

from __future__ import annotations

import re
from typing import Any

import yaml

from reconciler.errors import Location, ManifestError, Problem
from reconciler.input.document import Document, Path_, printable
from reconciler.input.yamlplain import Unusual, plain_documents


def load_text(text: str, filename: str) -> list[Document]:
    """Parse a YAML stream into Documents (empty documents are skipped). libyaml parses ASCII text
    first; what it refuses is parsed again by PyYAML's own parser, whose verdict and message stand
    (libyaml refuses a few streams PyYAML reads, such as JSON's surrogate pair escapes)."""
    if _FastLoader is None or not text.isascii():  # the two differ on Unicode line breaks and marks
        return _load(_Loader, text, filename)
    if SURROGATE_ESCAPE.search(text) is None:
        try:
            return _plain(text, filename)
        except (Unusual, yaml.YAMLError):
            pass  # parsed again below, whose verdict and messages stand
    try:
        return _load(_FastLoader, text, filename)
    except ManifestError:
        return _load(_Loader, text, filename)


def _plain(text: str, filename: str) -> list[Document]:
    """The documents of a plain stream (yamlplain.py), or Unusual."""
    assert _FastLoader is not None
    loader = _FastLoader(text)
    try:
        return plain_documents(loader, filename, MAX_DEPTH, MAX_NODES)
    finally:
        loader.dispose()


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
            twice += [Problem(where, printable(Document(data, filename).subject), message) for where, message in duplicates]
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
            problems.append((where, printable(message)))
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
