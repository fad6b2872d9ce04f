"""Manifest files parsed by an earlier one-shot command, kept for the next: /run/netreconcile/parsed.

Parsing YAML with positions is most of reading manifests (70 ms of 1000 endpoints); the JSON of the
same documents reads back in a tenth of that. An entry is named by the digest of the file's bytes and
of the loader (reconciler/input/parsed.py), so what invalidates it is any change of the file or of
the loader: it can never be stale. Entries are JSON (never pickle: reading one runs no code), in a
folder root's alone (0700, reached without following a symbolic link, reconciler/kernel/safefs.py),
each file written whole and checked on reading to be a regular file root owns; an entry that cannot
be read or is not the shape written is ignored (the file is parsed again). Validation runs on what an
entry holds as on a fresh parse. A run that adds an entry removes those it did not use: the folder
holds what the last command read (in RAM, /run being a tmpfs), not every version ever parsed.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, Self

from reconciler.errors import PathConflictError
from reconciler.input.parsed import Parse
from reconciler.kernel import runstate, safefs

FOLDER = "parsed"
ENTRY = re.compile(r"^[0-9a-f]{64}\.json$")


class ParseCache:
    """The folder's entries; every error opening the folder leaves the cache off (None), never fails a command."""

    def __init__(self) -> None:
        self.folder: safefs.Folder | None = None
        self.used: set[str] = set()
        self.added = 0
        try:
            with runstate.run_dir() as run:
                self.folder = run.sub(FOLDER, make=runstate.FOLDER_MODE, narrow=True)
        except (OSError, PathConflictError):
            self.folder = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.folder is not None:
            if self.added:
                self._prune()
            self.folder.__exit__()
            self.folder = None

    def get(self, digest: str) -> Parse | None:
        if self.folder is None:
            return None
        name = f"{digest}.json"
        self.used.add(name)
        try:
            raw = self.folder.read(name)
            return _parse(json.loads(raw)) if raw is not None else None
        except (OSError, PathConflictError, ValueError, TypeError, IndexError):
            return None

    def put(self, digest: str, parse: Parse) -> None:
        if self.folder is None:
            return
        entry = [[data, [[*path, *where] for path, where in positions.items()]] for data, positions in parse]
        name = f"{digest}.json"
        try:
            self.folder.replace(name, json.dumps(entry, separators=(",", ":")).encode(), runstate.FILE_MODE)
        except (OSError, PathConflictError):
            return
        self.used.add(name)
        self.added += 1

    def _prune(self) -> None:
        assert self.folder is not None
        for name in os.listdir(self.folder.fd):
            if ENTRY.match(name) and name not in self.used:
                self.folder.remove(name)


def _parse(entry: Any) -> Parse:
    """An entry as written by put; TypeError or ValueError if it is not of that shape."""
    if not isinstance(entry, list):
        raise TypeError("not an entry")
    out: Parse = []
    for data, positions in entry:
        where: dict[tuple[str | int, ...], tuple[int, int]] = {}
        for item in positions:
            *path, line, column = item
            if not (isinstance(line, int) and isinstance(column, int) and all(isinstance(p, (str, int)) for p in path)):
                raise TypeError("not a position")
            where[tuple(path)] = (line, column)
        out.append((data, where))
    return out
