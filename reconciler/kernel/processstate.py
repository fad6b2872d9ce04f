"""The files of a long-running process of ours under /run/netreconcile/<name> (root's alone, reached
without following a link): state.json, what it should do (written by apply), and status.json, what the
running process loaded (written by it); whether it runs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from reconciler.kernel import netns, runstate, safefs

STATE, STATUS = "state.json", "status.json"
FOLDER_MODE, FILE_MODE = 0o700, 0o600


_STATUSES: dict[str, tuple[tuple[int, ...], dict[str, Any] | None]] = {}  # by folder: a status parsed, its file's stamp


@dataclass(frozen=True)
class ProcessState:
    """The process started as `python -m <module>`, its files in /run/netreconcile/<dir_name>."""

    dir_name: str
    module: str
    format_version: int

    def folder(self, make: bool = False) -> safefs.Folder:
        """Its folder; FileNotFoundError when it is not there and not `make`."""
        with runstate.run_dir() if make else safefs.opened(str(runstate.RUN_DIR)) as run:
            return run.sub(self.dir_name, make=FOLDER_MODE if make else None, narrow=make)

    def read(self, name: str) -> bytes | None:
        try:
            with self.folder() as here:
                return here.read(name)
        except FileNotFoundError:
            return None

    def write_state(self, text: str) -> None:
        with self.folder(make=True) as here:
            here.replace(STATE, text.encode(), FILE_MODE)

    def status(self) -> dict[str, Any] | None:
        """What the process says it does, if its status file is there and of our format: parsed again
        only when the file is another (its stamp: written whole under a new inode), not at every look
        (a plan of the watch looks three times or more; the resolver's, at 1000 namespaces, costs 0.17 ms
        to read and parse, a stamp 0.01). Read-only: the body kept is the one given out."""
        stamp = self.stamp(STATUS)
        if stamp is None:
            return None
        kept = _STATUSES.get(self.state_dir())
        if kept is not None and kept[0] == stamp:
            return kept[1]
        body = self._read_status()
        _STATUSES[self.state_dir()] = (stamp, body)  # read after the stamp: at worst a later file's, read again next time
        return body

    def _read_status(self) -> dict[str, Any] | None:
        data = self.read(STATUS)
        try:
            body = json.loads(data) if data is not None else None
        except ValueError:
            return None
        return body if isinstance(body, dict) and body.get("formatVersion") == self.format_version else None

    def stamp(self, name: str) -> tuple[int, ...] | None:
        """What changes whenever file `name` is written (written whole under a new inode: `replace`):
        one stat, where reading and parsing it costs what it holds (None: no file)."""
        try:
            with self.folder() as here:
                st = here.stat(name)
        except FileNotFoundError:
            return None
        return None if st is None else (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)

    def running(self, pid: int) -> bool:
        """Whether `pid` is this process (not a recycled pid)."""
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                return self.module.encode() in f.read().split(b"\0")
        except OSError:
            return False

    def live_status(self) -> dict[str, Any] | None:
        """The status, if the process that wrote it still runs."""
        body = self.status()
        pid = body.get("pid") if body else None
        return body if isinstance(pid, int) and self.running(pid) else None

    def pid_of_status(self) -> int | None:
        body = self.live_status()
        return body["pid"] if body else None

    def state_dir(self) -> str:
        return f"{runstate.RUN_DIR}/{self.dir_name}"

    def remove_files(self) -> None:
        try:
            with self.folder() as here:
                for name in (STATE, STATUS):
                    if here.exists(name):
                        here.remove(name)
        except FileNotFoundError:
            pass


def inode(ns: str) -> int | None:
    """The inode of the namespace /run/netns/NS names now."""
    found = netns.identity(ns)
    return found[1] if found else None

