"""Who holds a flock: the kernel's word (/proc/locks and /proc/PID/fd), never what a file says.

/proc/locks names the process that took the lock. A lock belongs to the open file, though, so it
outlives that process in a child that inherited the descriptor (apply's --confirm-timeout watcher is
forked from apply, which then exits): then the holder is the process that still has the file open
and is not waiting for the lock itself.
"""

from __future__ import annotations

import os

UNKNOWN = "a process that could not be found"
COMMAND_WIDTH = 200


def holder(fd: int) -> str:
    """'pid N (its command line)' of the process holding the flock on `fd`'s file."""
    st = os.fstat(fd)
    holders, waiters = _flocks(st)
    found = [p for p in holders if _has_open(p, st)]
    if not found:
        found = [p for p in _processes() if p != os.getpid() and p not in waiters and _has_open(p, st)]
    return f"pid {found[0]} ({command(found[0])})" if found else UNKNOWN


def command(pid: int) -> str:
    """The command line of `pid` (its name in brackets when it has none, as ps shows kernel threads)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            words = f.read().split(b"\0")
        line = " ".join(w.decode(errors="replace") for w in words if w)
        if not line:
            with open(f"/proc/{pid}/comm", "rb") as f:
                line = f"[{f.read().decode(errors='replace').strip()}]"
    except OSError:
        return "gone"
    return line if len(line) <= COMMAND_WIDTH else line[:COMMAND_WIDTH] + "..."


def _flocks(st: os.stat_result) -> tuple[list[int], set[int]]:
    """The pids /proc/locks gives for flocks on the file: those that hold one, those waiting."""
    inode = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    try:
        with open("/proc/locks") as f:
            lines = f.read().splitlines()
    except OSError:
        return [], set()
    found = [lock for lock in map(_flock, lines) if lock is not None and lock[2] == inode]
    return [pid for pid, waiting, _ in found if not waiting], {pid for pid, waiting, _ in found if waiting}


def _flock(line: str) -> tuple[int, bool, str] | None:
    """(pid, waiting, device:major:inode) of one /proc/locks line that is a flock of a process."""
    words = line.split()
    waiting = len(words) > 1 and words[1] == "->"
    words = words[2:] if waiting else words[1:]
    if len(words) < 5 or words[0] != "FLOCK" or not words[3].lstrip("-").isdigit() or int(words[3]) <= 0:
        return None
    return int(words[3]), waiting, words[4]


def _processes() -> list[int]:
    return sorted(int(e.name) for e in os.scandir("/proc") if e.name.isdigit())


def _has_open(pid: int, st: os.stat_result) -> bool:
    """Whether process `pid` has the file open (one stat per descriptor it has)."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            other = os.stat(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if (other.st_dev, other.st_ino) == (st.st_dev, st.st_ino):
            return True
    return False
