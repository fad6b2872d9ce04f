"""What the watch keeps between two reconciles, so that one changed file costs what it changes.

`ManifestCache`: each file's bytes with its parsed documents, their schema problems and typed objects;
a file is parsed and checked again only when its bytes differ. The checks that span files (semantic
checks, address allocation) run over all of them every time, so the result is exactly what
`validate.load_manifests` gives.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from reconciler import spec
from reconciler.errors import ManifestError, Problem
from reconciler.ipam import allocate
from reconciler.manifest import Document, load_file, manifest_files, read
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
    """Typed manifests under some paths, re-parsing only the files whose bytes changed."""

    def __init__(self) -> None:
        self.files: dict[str, _File] = {}

    def load(self, paths: Iterable[str]) -> Manifests:
        """As validate.load_manifests: the typed manifests, or ManifestError naming every problem."""
        current = {str(p): self._file(p) for p in manifest_files(paths)}
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
        if not problems:
            try:
                allocate(manifests)
            except ManifestError as err:
                problems += err.problems
        if problems:
            raise ManifestError(sorted(problems, key=lambda p: (p.where.file, p.where.line, p.where.column)))
        return manifests

    def _file(self, path: Path) -> _File:
        content = read(path)
        known = self.files.get(str(path))
        if known is not None and isinstance(content, bytes) and known.content == content:
            return known
        documents, problems = load_file(path, content)
        return _File(content, tuple(map(check, documents)), tuple(problems))
