"""A long-running process's files under its folder of /run/netreconcile (root's alone, 0700, reached
without following a symbolic link): state.json, written by apply and read by the process; status.json,
written by the process, whole, after every (re)load; <name>.lock, held while it runs; <name>.log."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from reconciler.errors import ProcessStateError
from reconciler.kernel import safefs

T = TypeVar("T")
STATE = "state.json"
STATUS = "status.json"
FOLDER_MODE = 0o700
FILE_MODE = 0o600


@dataclass(frozen=True)
class ProcessFiles:
    """The files of the process called `name` (resolver, dhcp) in `state_dir`."""

    state_dir: str
    name: str

    def folder(self) -> safefs.Folder:
        return safefs.opened(self.state_dir, make=FOLDER_MODE, narrow=True)

    def read(self, file: str) -> bytes | None:
        with self.folder() as folder:
            return folder.read(file)

    def read_state(self, parse: Callable[[str], T], empty: T, error: type[ProcessStateError] = ProcessStateError) -> T:
        """state.json parsed (`empty` when there is none yet); `error` when it is not a state of ours."""
        data = self.read(STATE)
        if data is None:
            return empty
        try:
            return parse(data.decode())
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise error(f"{self.where(STATE)}: not a {self.name} state: {err}") from None

    def where(self, file: str) -> str:
        return f"{self.state_dir}/{file}"

    def write_status(self, document: dict[str, object]) -> None:
        """`document` with this process's pid, written whole."""
        body = {**document, "pid": os.getpid()}
        text = json.dumps(body, sort_keys=True, separators=(",", ":")) + "\n"
        with self.folder() as folder:
            folder.replace(STATUS, text.encode(), FILE_MODE)

    def remove_status(self) -> None:
        with self.folder() as folder:
            folder.remove(STATUS)

    def lock(self) -> int:
        """The lock only one such process holds (its descriptor, kept open for the life of the process);
        ProcessStateError naming the pid of the one running."""
        with self.folder() as folder:
            fd = folder.open(f"{self.name}.lock", FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
            os.close(fd)
            raise ProcessStateError(f"{self.where(self.name + '.lock')}: another {self.name} runs (pid {holder or '?'})") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return fd

    def open_log(self) -> int:
        """A descriptor appending to <name>.log."""
        with self.folder() as folder:
            fd = folder.open(f"{self.name}.log", FILE_MODE)
        os.lseek(fd, 0, os.SEEK_END)
        return fd
