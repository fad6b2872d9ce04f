"""What lives under /run/netreconcile: the lock, the last reconcile's record, a pending confirmation.

The folder is root's alone (0700, its files 0600), so no other user can hold the lock or read the
record; it and every file in it are reached without following a symbolic link (reconciler/kernel/safefs.py).

Every JSON file written here carries `formatVersion`. A reader refuses a file of another version (left
by a newer netreconcile, or by an older one after a change of shape, when an upgrade or a downgrade
happens without a reboot) with a message saying what to do, rather than misread it; a file without
one was written before formatVersion existed, in the shape of version 1, and is read as version 1.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.errors import LockedError, NetreconcileError
from reconciler.kernel import safefs
from reconciler.kernel.lockholder import holder

RUN_DIR = Path(os.environ.get("NETRECONCILE_RUN_DIR", "/run/netreconcile"))
LOCK, LAST, PENDING, CONFIRM = (RUN_DIR / n for n in ("lock", "last.json", "pending.json", "confirm"))
FOLDER_MODE, FILE_MODE = 0o700, 0o600
# The shape of the files written here: a change of meaning, or a removal, bumps it (and the readers
# migrate the older shape or refuse it: see read_json).
STATE_FORMAT = 1


def run_dir() -> safefs.Folder:
    """The folder, made if missing, with a looser mode (left by an older run) narrowed to 0700; a
    symbolic link, or a folder root does not own, is refused. Use it in a `with`."""
    return safefs.opened(str(RUN_DIR), make=FOLDER_MODE, narrow=True)


_early: int | None = None  # the lock taken as the command started (take_early), for its locked() to hold


def take_early() -> bool:
    """Take the lock now if it is free, for this command's `locked()` to hold (an apply reads the kernel
    ahead while it loads: kernel/ahead.py); False where it is held or cannot be had here: `locked()`
    then waits, fails or says why, as it would have."""
    global _early  # one command, one lock, handed to its locked()
    try:
        with run_dir() as folder:
            fd = folder.open(LOCK.name, FILE_MODE)
    except (OSError, NetreconcileError):
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    _mark_held(fd)
    _early = fd
    return True


@contextmanager
def locked(wait: bool = True, say: Callable[[str], None] = print) -> Iterator[None]:
    """Hold the one lock of apply, destroy and watch (flock); wait for it, saying so, or fail at once."""
    global _early  # taken once
    fd, _early = _early, None
    try:
        if fd is None:
            fd = _take(wait, say)
        yield
    finally:
        if fd is not None:
            os.close(fd)


def _take(wait: bool, say: Callable[[str], None]) -> int:
    with run_dir() as folder:
        fd = folder.open(LOCK.name, FILE_MODE)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            who = holder(fd)
            if not wait:
                raise LockedError(str(LOCK), who) from None
            say(f"waiting for {LOCK}, held by {who}...")
            fcntl.flock(fd, fcntl.LOCK_EX)
        _mark_held(fd)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _mark_held(fd: int) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)


def revision(paths: Iterable[str]) -> str | None:
    """The git commit of the manifests (with -dirty when they have local changes), if in a checkout."""
    for raw in paths:
        folder = Path(raw) if Path(raw).is_dir() else Path(raw).parent
        if not _may_be_checkout(folder):
            continue
        try:
            head = subprocess.run(["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False)
            if head.returncode != 0:
                continue
            dirty = subprocess.run(["git", "-C", str(folder), "status", "--porcelain", "--", "."],
                                   capture_output=True, text=True, timeout=5, check=False).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return None
        return head.stdout.strip() + ("-dirty" if dirty else "")
    return None


def _may_be_checkout(folder: Path) -> bool:
    """Whether git could find a repository for `folder`: a .git in it or above it, or git told where by
    the environment. Asking git forks this process (10 to 30 ms for the watch at 1000 endpoints, on
    every reconcile); a few stats tell that manifests outside any checkout have no revision."""
    if "GIT_DIR" in os.environ or "GIT_WORK_TREE" in os.environ:
        return True
    folder = folder.absolute()
    return any(os.path.lexists(p / ".git") for p in (folder, *folder.parents))


def record(result: str, paths: Iterable[str], steps: int = 0, error: str = "", trigger: str = "apply",
           source_valid: bool = True, enforcing: str | None = None) -> dict[str, Any]:
    """Remember the last reconcile for `status` (written atomically), and return the record. `enforcing`:
    the watch's source was invalid, and the revision of the last valid manifests stayed enforced."""
    paths = list(paths)
    body = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "result": result, "trigger": trigger, "steps": steps,
            "error": error, "paths": [p if "://" in p else str(Path(p).resolve()) for p in map(str, paths)], "revision": revision(paths),
            "sourceValid": source_valid, "enforcing": enforcing}
    write_json(LAST, body)
    return body


def last() -> dict[str, Any] | None:
    body = read_json(LAST)
    return {k: v for k, v in body.items() if k != "formatVersion"} if body is not None else None


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in the file `path` names (in RUN_DIR); None when it is missing or cannot be read.
    A file of another formatVersion raises NetreconcileError, saying whose it is and what to do."""
    try:
        with safefs.opened(str(RUN_DIR)) as folder:
            data = folder.read(path.name)
        body = json.loads(data) if data else None
    except (OSError, ValueError, NetreconcileError):
        return None
    if not isinstance(body, dict):
        return None
    version = body.get("formatVersion", STATE_FORMAT)
    if type(version) is not int or version != STATE_FORMAT:
        raise NetreconcileError(
            f"{RUN_DIR / path.name}: written by another version of netreconcile (formatVersion {json.dumps(version)}; "
            f"this one reads {STATE_FORMAT}), so it is not read: run the version that wrote it, or remove the file "
            f"(rm {RUN_DIR / path.name}) once no netreconcile runs; /run is emptied at boot anyway")
    return body


def write_json(path: Path, body: dict[str, Any]) -> None:
    """Write `body` to the file `path` names (in RUN_DIR) atomically, stamped with its formatVersion."""
    with run_dir() as folder:
        text = json.dumps({"formatVersion": STATE_FORMAT, **body}, indent=2) + "\n"
        folder.replace(path.name, text.encode(), FILE_MODE)


def exists(path: Path) -> bool:
    with run_dir() as folder:
        return folder.exists(path.name)


def remove(path: Path) -> None:
    with run_dir() as folder:
        folder.remove(path.name)


def touch(path: Path) -> None:
    with run_dir() as folder:
        os.close(folder.open(path.name, FILE_MODE))


APPLIED = RUN_DIR / "applied.json"


@dataclass(frozen=True)
class Applied:
    """What the manifests last applied with success here declared, across every host: their objects
    (network/a, endpoint/web1, ...), which the delete guard judges a new source against, and each
    endpoint namespace's declared sysctl names, which a rollback that recreates it must restore."""

    owners: frozenset[str]
    sysctls: dict[str, tuple[str, ...]]


def record_applied(applied: Applied) -> None:
    write_json(APPLIED, {"owners": sorted(applied.owners),
                         "sysctls": {ns: list(names) for ns, names in sorted(applied.sysctls.items())}})


def applied() -> Applied | None:
    """The record of the last successful apply; None when there is none, or it cannot be read (one of
    another formatVersion is refused: read_json)."""
    body = read_json(APPLIED)
    owners, sysctls = (body.get("owners"), body.get("sysctls")) if body is not None else (None, None)
    if not isinstance(owners, list) or not _strings(owners) or not isinstance(sysctls, dict) \
            or not all(isinstance(names, list) and _strings(names) for names in sysctls.values()):
        return None
    return Applied(frozenset(owners), {str(ns): tuple(names) for ns, names in sysctls.items()})


def _strings(values: list[object]) -> bool:
    return all(isinstance(v, str) for v in values)
