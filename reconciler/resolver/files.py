"""The resolver's files under /run/netreconcile/resolver/ (root's alone, 0700, reached without
following a symbolic link): state.json, written by the applier and read here; status.json, written
here, whole, after every (re)load; resolver.lock, held while a resolver runs; resolver.log (--daemon)."""

from __future__ import annotations

import fcntl
import json
import os

from reconciler.errors import ResolverStateError
from reconciler.kernel import safefs
from reconciler.model.dns import DnsState

STATE_DIR = "/run/netreconcile/resolver"
STATE = "state.json"
STATUS = "status.json"
LOCK = "resolver.lock"
LOG = "resolver.log"
FOLDER_MODE = 0o700
FILE_MODE = 0o600
STATUS_FORMAT = 1


def _folder(state_dir: str) -> safefs.Folder:
    return safefs.opened(state_dir, make=FOLDER_MODE, narrow=True)


def read_state(state_dir: str) -> DnsState:
    """The state to serve; an empty one when there is no state.json yet."""
    with _folder(state_dir) as folder:
        data = folder.read(STATE)
    if data is None:
        return DnsState()
    try:
        return DnsState.from_json(data.decode())
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise ResolverStateError(f"{folder.where(STATE)}: not a resolver state: {err}") from None


def status_document(digest: str, serving: dict[str, int]) -> dict[str, object]:
    return {"formatVersion": STATUS_FORMAT, "pid": os.getpid(), "digest": digest, "serving": dict(sorted(serving.items()))}


def write_status(state_dir: str, digest: str, serving: dict[str, int]) -> None:
    text = json.dumps(status_document(digest, serving), sort_keys=True, separators=(",", ":")) + "\n"
    with _folder(state_dir) as folder:
        folder.replace(STATUS, text.encode(), FILE_MODE)


def remove_status(state_dir: str) -> None:
    with _folder(state_dir) as folder:
        folder.remove(STATUS)


def lock(state_dir: str) -> int:
    """The lock only one resolver holds (its descriptor, kept open for the life of the process);
    ResolverStateError naming the pid of the one running."""
    with _folder(state_dir) as folder:
        fd = folder.open(LOCK, FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
        os.close(fd)
        raise ResolverStateError(f"{state_dir}/{LOCK}: another resolver runs (pid {holder or '?'})") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def open_log(state_dir: str) -> int:
    """A descriptor appending to resolver.log."""
    with _folder(state_dir) as folder:
        fd = folder.open(LOG, FILE_MODE)
    os.lseek(fd, 0, os.SEEK_END)
    return fd
