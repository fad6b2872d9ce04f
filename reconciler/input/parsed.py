"""What a cache of parsed manifest files (load_paths' `parsed`) holds and how its entries are named.

An entry is a file's documents (their data and positions), named by a digest of the file's bytes and
of the loader that parsed them: a changed file, or another loader (reconciler/input/manifest.py or
this module changed, another PyYAML, libyaml there or not), has another name, so an entry is never
stale. Only documents of plain JSON values are kept, so an entry can be written and read back as JSON
(never pickle) and be the same. Where entries are kept is the kernel layer's (reconciler/kernel/parsecache.py).
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import yaml

Path_ = tuple[str | int, ...]
Parse = list[tuple[Any, dict[Path_, tuple[int, int]]]]  # a file's documents: data and positions


class Parsed(Protocol):
    """Files parsed before, by digest (parsed_digest): what load_paths may take instead of parsing."""

    def get(self, digest: str) -> Parse | None: ...
    def put(self, digest: str, parse: Parse) -> None: ...


def parsed_digest(content: bytes) -> str:
    """The name of a file's parse: a digest of its bytes and of the loader that parses them."""
    return hashlib.sha256(_loader_identity() + content).hexdigest()


@cache
def _loader_identity() -> bytes:
    here = Path(__file__)
    sources = here.with_name("manifest.py").read_bytes() + here.read_bytes()
    return hashlib.sha256(sources + f"\0{yaml.__version__}\0{yaml.__with_libyaml__}\0".encode()).digest()


def plain(value: object) -> bool:
    """Whether a document is made only of what JSON writes and reads back as the same: mappings with
    string keys, lists, strings, numbers, booleans and null (not YAML's dates, binary, sets or pairs)."""
    if isinstance(value, dict):
        return all(type(k) is str and plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(plain(v) for v in value)
    return value is None or type(value) in (str, int, float, bool)
