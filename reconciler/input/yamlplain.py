"""Plain YAML documents (JSON, and YAML without anchors, aliases, tags, merge keys or keys written
twice) built in one pass over libyaml's parser events: the data yaml.safe_load gives and the position
of every node, without composing the node tree and walking it three times (positions, keys written
twice, construction). Anything else is Unusual, and yamlload.py parses the file its own way, whose
verdict and messages stand: this pass only ever answers for a stream that way would accept."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml

from reconciler.input.document import Document, Path_

STR = "tag:yaml.org,2002:str"
# the resolver's tags of a plain scalar whose SafeConstructor reads only the scalar's text
SIMPLE = ("tag:yaml.org,2002:null", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


class Unusual(Exception):
    """A stream this pass does not build: yamlload.py's own parse judges it."""


def plain_documents(loader: Any, filename: str, max_depth: int, max_nodes: int) -> list[Document]:
    """The documents of the stream `loader` (a libyaml CParser with SafeConstructor and Resolver)
    parses, empty ones skipped; Unusual, or the parser's YAMLError, for a stream it does not build."""
    documents: list[Document] = []
    loader.get_event()  # the stream's start
    while not isinstance(loader.get_event(), yaml.StreamEndEvent):  # a document's start
        builder = _Builder(loader, max_depth)
        data = builder.value(loader.get_event(), (), 0)
        loader.get_event()  # the document's end
        if builder.nodes > max_nodes:
            raise Unusual("too many nodes")
        if data is not None:
            documents.append(Document(data, filename, builder.positions))
    return documents


class _Builder:
    """One document's data and positions, as _record and SafeConstructor would give them."""

    def __init__(self, loader: Any, max_depth: int) -> None:
        self.get: Callable[[], Any] = loader.get_event  # libyaml's events: their marks never None
        self.resolve = loader.resolve
        self.loader = loader
        self.constructors = loader.yaml_constructors
        self.max_depth = max_depth
        self.positions: dict[Path_, tuple[int, int]] = {}
        self.nodes = 0

    def value(self, event: Any, path: Path_, depth: int) -> Any:
        self._node(event, depth)
        mark = event.start_mark
        self.positions[path] = (mark.line + 1, mark.column + 1)
        kind = type(event)
        if kind is yaml.ScalarEvent:
            return self._scalar(event)[1]
        if kind is yaml.MappingStartEvent:
            return self._mapping(path, depth)
        if kind is yaml.SequenceStartEvent:
            return self._sequence(path, depth)
        raise Unusual(kind.__name__)  # an alias

    def _node(self, event: Any, depth: int) -> None:
        if depth >= self.max_depth or getattr(event, "anchor", None) is not None or getattr(event, "tag", None) is not None:
            raise Unusual("deep, anchored or tagged")
        self.nodes += 1

    def _mapping(self, path: Path_, depth: int) -> dict[Any, Any]:
        mapping: dict[Any, Any] = {}
        keys: set[tuple[str, str]] = set()
        while type(event := self.get()) is not yaml.MappingEndEvent:
            if type(event) is not yaml.ScalarEvent:
                raise Unusual("a key that is not a scalar")
            self._node(event, depth + 1)
            tag, key = self._scalar(event)
            if (tag, event.value) in keys:
                raise Unusual("a key written twice")
            keys.add((tag, event.value))
            at = path + (event.value,)
            mapping[key] = self.value(self.get(), at, depth + 1)
            mark: Any = event.start_mark
            self.positions[at] = (mark.line + 1, mark.column + 1)
        return mapping

    def _sequence(self, path: Path_, depth: int) -> list[Any]:
        items: list[Any] = []
        while type(event := self.get()) is not yaml.SequenceEndEvent:
            items.append(self.value(event, path + (len(items),), depth + 1))
        return items

    def _scalar(self, event: Any) -> tuple[str, Any]:
        tag = self.resolve(yaml.ScalarNode, event.value, event.implicit)
        if tag == STR:
            return tag, event.value
        if tag not in SIMPLE:
            raise Unusual(f"a scalar of {tag}")
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        return tag, self.constructors[tag](self.loader, node)
