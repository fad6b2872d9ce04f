"""What a cache of parsed manifest files (load_paths' `parsed`) holds and how its entries are named.

An entry is a file's documents (their data and positions), named by a digest of the file's bytes and
of the loader that parsed them: a changed file, or another loader (reconciler/input/manifest.py or
this module changed, another PyYAML, libyaml there or not), has another name, so an entry is never
stale. Only documents of plain JSON values are kept, so an entry can be written and read back as JSON
(never pickle) and be the same. Where entries are kept is the kernel layer's (reconciler/kernel/parsecache.py).
"""

from __future__ import annotations

import hashlib
import os
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Protocol

from reconciler.input.document import Path_

Parse = list[tuple[Any, dict[Path_, tuple[int, int]]]]  # a file's documents: data and positions


class Parsed(Protocol):
    """Files parsed before, by digest (parsed_digest): what load_paths may take instead of parsing."""

    def get(self, digest: str) -> Parse | None: ...
    def put(self, digest: str, parse: Parse) -> None: ...


def parsed_digest(content: bytes) -> str | None:
    """The name of a file's parse: a digest of its bytes and of the loader that parses them (None
    when the loader's source cannot be read, as in a copy installed without it: then no cache)."""
    loader = _loader_identity()
    return hashlib.sha256(loader + content).hexdigest() if loader is not None else None


LOADER = ("yamlload.py", "yamlplain.py", "document.py", "parsed.py")  # the modules whose code decides what a parse is


@cache
def _loader_identity() -> bytes | None:
    try:
        return _read_loader_identity()
    except OSError:
        return None


def _read_loader_identity() -> bytes:
    """Our loader's source and PyYAML's: its package's __init__.py (its version) and which of its
    files are there with their size and time (its libyaml extension, or none), read without
    importing it (10 ms, which a command whose files are all cached need not spend)."""
    here = Path(__file__).parent
    identity = b"".join((here / name).read_bytes() for name in LOADER)
    spec = find_spec("yaml")
    if spec is None or spec.origin is None:
        return hashlib.sha256(identity).digest()
    package = Path(spec.origin).parent
    identity += Path(spec.origin).read_bytes()
    for entry in sorted(os.scandir(package), key=lambda e: e.name):
        if entry.is_file():
            st = entry.stat()
            identity += f"\0{entry.name}\0{st.st_size}\0{st.st_mtime_ns}".encode()
    return hashlib.sha256(identity).digest()


def plain(value: object) -> bool:
    """Whether a document is made only of what JSON writes and reads back as the same: mappings with
    string keys, lists, strings, numbers, booleans and null (not YAML's dates, binary, sets or pairs)."""
    if isinstance(value, dict):
        return all(type(k) is str and plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(plain(v) for v in value)
    return value is None or type(value) in (str, int, float, bool)
