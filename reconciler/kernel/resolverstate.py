"""The embedded resolver's files under /run/netreconcile/resolver (root's alone, reached without
following a link): state.json, the names it serves (written by apply), and status.json, what the
running process loaded (written by it); and the process observed from them."""

from __future__ import annotations

import json
from typing import Any

from reconciler.kernel import netns, runstate, safefs
from reconciler.model.dns import FORMAT_VERSION, Resolver

DIR_NAME, STATE, STATUS = "resolver", "state.json", "status.json"
FOLDER_MODE, FILE_MODE = 0o700, 0o600
MODULE = "reconciler.resolver"  # how the process is started: python -m reconciler.resolver


def folder(make: bool = False) -> safefs.Folder:
    """/run/netreconcile/resolver; FileNotFoundError when it is not there and not `make`."""
    with runstate.run_dir() if make else safefs.opened(str(runstate.RUN_DIR)) as run:
        return run.sub(DIR_NAME, make=FOLDER_MODE if make else None, narrow=make)


def status() -> dict[str, Any] | None:
    """What the process says it serves, if its status file is there and of our format."""
    data = _read(STATUS)
    try:
        body = json.loads(data) if data is not None else None
    except ValueError:
        return None
    return body if isinstance(body, dict) and body.get("formatVersion") == FORMAT_VERSION else None


def running(pid: int) -> bool:
    """Whether `pid` is a resolver process of ours (not a recycled pid)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return MODULE.encode() in f.read().split(b"\0")
    except OSError:
        return False


def observe() -> Resolver | None:
    """The running resolver, serving only the namespaces whose sockets are still in the namespace of
    that name (one removed and made again is not served); None when none runs."""
    body = status()
    if body is None or not isinstance(body.get("pid"), int) or not running(body["pid"]):
        return None
    serving = body.get("serving")
    serving = serving if isinstance(serving, dict) else {}
    valid = tuple(sorted(ns for ns, inode in serving.items() if _inode(ns) == inode))
    state = _read(STATE)
    return Resolver(str(body.get("digest", "")), valid, state=state.decode(errors="replace") if state else "")


def _read(name: str) -> bytes | None:
    try:
        with folder() as here:
            return here.read(name)
    except FileNotFoundError:
        return None


def _inode(ns: str) -> int | None:
    found = netns.identity(ns)
    return found[1] if found else None


def pid_of_status() -> int | None:
    body = status()
    pid = body.get("pid") if body else None
    return pid if isinstance(pid, int) and running(pid) else None


def state_dir() -> str:
    return f"{runstate.RUN_DIR}/{DIR_NAME}"


def remove_files() -> None:
    try:
        with folder() as here:
            for name in (STATE, STATUS):
                if here.exists(name):
                    here.remove(name)
    except FileNotFoundError:
        pass
