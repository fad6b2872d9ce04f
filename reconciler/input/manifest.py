"""Manifests read from files and etcd, each file's documents parsed (reconciler/input/yamlload.py) or
taken from a cache of files parsed before (reconciler/input/parsed.py)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from reconciler.errors import (
    EtcdError,
    Location,
    ManifestError,
    Problem,
    SourceUnavailable,
)
from reconciler.input import etcdconf
from reconciler.input.document import Document, Path_, printable
from reconciler.input.parsed import Parsed, parsed_digest, plain

__all__ = ["Document", "Path_", "printable"]  # Document and Path_ are known by this module's name too


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
    """The *.yaml / *.yml files under `folder`, as os.walk finds them (a link to a folder is not
    followed), with a Path made and a file tested only for such a name (one entry read per folder)."""
    yield from _scan(os.fspath(folder), folder)


def _scan(top: str, folder: Path) -> Iterator[Path]:
    try:
        with os.scandir(top) as listing:
            entries = list(listing)
    except OSError as err:
        if not gone(err):
            raise ManifestError([Problem(Location(err.filename or str(folder)), "", f"cannot read: {err.strerror or err}")]) from None
        return
    base = Path(top)
    for entry in entries:
        if _is_dir(entry):
            if not entry.is_symlink():
                yield from _scan(os.path.join(top, entry.name), folder)
        elif entry.name.endswith((".yaml", ".yml")) and entry.name not in (".yaml", ".yml"):
            path = base / entry.name
            if path.is_file() if entry.is_symlink() else entry.is_file(follow_symlinks=False):
                yield path


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


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
        if etcdconf.is_url(raw):
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
    # Here: a command of files and folders never loads the etcd client.
    from reconciler.input import etcd

    url = etcd.EtcdURL.parse(raw)
    try:
        snapshot = etcd.Client(url).range(url.prefix)
    except EtcdError as err:
        raise SourceUnavailable([Problem(Location(str(url)), "", f"cannot read: {err}")]) from None
    return snapshot.revision, snapshot.changed(url), [(url.name(kv.key), kv.value) for kv in snapshot.kvs if url.manifest(kv.key)]


def read(path: Path) -> bytes | OSError:
    """A file's bytes, or the error that prevented reading it (read unbuffered: the watch reads every
    file on each reconcile)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as err:
        return err
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as err:
        return err
    finally:
        os.close(fd)


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
    """Parse a YAML stream into Documents (empty documents are skipped): yamlload.load_text."""
    # PyYAML takes 10 ms to import: only for a file the parse cache does not hold
    from reconciler.input import yamlload

    return yamlload.load_text(text, filename)
