"""The methods `dataclasses` writes for each class (__init__, __eq__, __repr__, __hash__, a frozen
class's __setattr__ and __delattr__), compiled once and kept beside the package's bytecode.

The dataclasses module writes those methods as source text and compiles it every time a class is
defined: about 560 small compiles when the command line loads, 41 ms of a one-shot `plan`'s 100 ms of
loading (measured at 1000 endpoints; the plan takes about 0.43 s). Python keeps a module's bytecode
in __pycache__ but not these. Here the compiled code is kept too, by its exact source text: the code
for a text is what compiling that text gives, so a kept entry is never stale, only unused. The file
sits where Python writes this package's bytecode (beside it, or under PYTHONPYCACHEPREFIX), named for
the interpreter (its cache tag), with the same trust as the bytecode next to it; it is written only
where bytecode is (not under PYTHONDONTWRITEBYTECODE), replaced whole (a temporary file renamed over
it), and never through a symbolic link. Anything wrong with it (missing, unreadable, another format)
and the methods are compiled as before.
"""

from __future__ import annotations

import builtins
import dataclasses
import importlib.util
import marshal
import os
import sys
from types import CodeType
from typing import Any

_KEEP_AT_MOST = 4096  # entries: beyond that, only what this process used is written (old code's drop out)


class _Kept:
    """The compiled code by source text: what the file held, and what this process compiled or used."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.held: dict[str, CodeType] = _read(path) if path else {}
        self.used: dict[str, CodeType] = {}
        self.compiled = 0

    def exec(self, source: Any, globals_: Any = None, locals_: Any = None) -> None:
        """dataclasses' exec: the text's code from the file when it holds it, else compiled."""
        if isinstance(source, str):
            code = self.held.get(source)
            if code is None:
                code = compile(source, "<string>", "exec")  # the file name exec gives a text
                self.compiled += 1
            self.used[source] = code
            source = code
        builtins.exec(source, globals_, locals_)  # noqa: S102  (what dataclasses itself does)

    def save(self) -> None:
        """Write the file again if this process compiled anything (and bytecode may be written)."""
        if not self.compiled or not self.path or sys.dont_write_bytecode:
            return
        entries = {**self.held, **self.used} if len(self.held) + self.compiled <= _KEEP_AT_MOST else self.used
        self.compiled = 0
        _write(self.path, entries)


def _read(path: str) -> dict[str, CodeType]:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return {}
    try:
        with os.fdopen(fd, "rb") as f:
            held = marshal.load(f)
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    if not isinstance(held, dict):
        return {}
    return {k: v for k, v in held.items() if isinstance(k, str) and isinstance(v, CodeType)}


def _write(path: str, entries: dict[str, CodeType]) -> None:
    folder = os.path.dirname(path)
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(folder, exist_ok=True)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        with os.fdopen(fd, "wb") as f:
            marshal.dump(entries, f)
        os.replace(temporary, path)  # a link at `path` is replaced, not followed
    except (OSError, ValueError):
        try:
            os.unlink(temporary)
        except OSError:
            pass


def cache_path() -> str | None:
    """Where this interpreter keeps the package's bytecode, for the file of compiled methods."""
    if not sys.implementation.cache_tag:
        return None
    try:
        beside = importlib.util.cache_from_source(os.path.join(os.path.dirname(__file__), "__init__.py"))
    except NotImplementedError:
        return None
    return os.path.join(os.path.dirname(beside), f"dataclasses.{sys.implementation.cache_tag}.marshal")


_kept: _Kept | None = None


def install(path: str | None = None) -> None:
    """Have dataclasses take their methods' code from the file (at `path`, by default cache_path()):
    before the package's modules define their classes."""
    global _kept
    if _kept is None and getattr(dataclasses, "exec", None) is None:  # no one else's hook, nor ours
        _kept = _Kept(path if path is not None else cache_path())
        dataclasses.exec = _kept.exec  # type: ignore[attr-defined]  # a global dataclasses looks up before builtins


def save() -> None:
    """Keep what this process compiled (see _Kept.save); once per command, as it ends."""
    if _kept is not None:
        _kept.save()
