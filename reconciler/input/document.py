"""One manifest document: its plain data and where each of its nodes was written (file, line, column)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reconciler.errors import Location, Problem

Path_ = tuple[str | int, ...]


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
        return Problem(self.where(*path), printable(self.subject), printable(message))


def printable(text: str) -> str:
    """A newline or a terminal escape written in a manifest is shown escaped, never sent to the terminal."""
    return text if text.isprintable() else repr(text)[1:-1]
