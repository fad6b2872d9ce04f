"""Where an endpoint's files live (/etc/netns/<ns>/hosts and resolv.conf, which `ip netns exec` shows
in /etc), and how a file there is known to be ours (its first line): what observe and the kernel cache
read, and what the applier reconciler/appliers/files.py writes."""

from __future__ import annotations

from reconciler.errors import PathConflictError
from reconciler.kernel import safefs
from reconciler.model import NetnsFile

ETC_NETNS = "/etc/netns"


def file_name(ns: str, kind: type[NetnsFile]) -> str:
    return f"{ETC_NETNS}/{ns}/{kind.filename}"


def read_file(ns: str, kind: type[NetnsFile]) -> str | None:
    """The endpoint's file of this kind if netreconcile wrote it (None: there is none); PathConflictError
    when something else is there: a symbolic link on the way, a file we did not write."""
    try:
        with safefs.opened(ETC_NETNS) as etc, etc.sub(ns) as folder:
            return ours(folder, kind)
    except FileNotFoundError:
        return None


class EtcNetns:
    """/etc/netns opened once for the many reads of one observe, and the last namespace's folder in it
    kept open for its next file: a file read is then an open, a stat, a read and a close, rather than
    a walk from / again (12 opens per namespace, 47 us of its 260 at 1000). What failed to open is
    opened again next time (each file then says what is in the way). Close it when done."""

    def __init__(self) -> None:
        self._etc: safefs.Folder | None = None
        self._last: tuple[str, safefs.Folder] | None = None

    def read(self, ns: str, kind: type[NetnsFile]) -> str | None:
        """As read_file."""
        try:
            return ours(self._folder(ns), kind)
        except FileNotFoundError:
            return None

    def _folder(self, ns: str) -> safefs.Folder:
        if self._last is not None and self._last[0] == ns:
            return self._last[1]
        self._close_last()
        if self._etc is None:
            self._etc = safefs.opened(ETC_NETNS)
        folder = self._etc.sub(ns)
        self._last = (ns, folder)
        return folder

    def _close_last(self) -> None:
        if self._last is not None:
            self._last[1].__exit__()
            self._last = None

    def close(self) -> None:
        self._close_last()
        if self._etc is not None:
            self._etc.__exit__()
            self._etc = None


def ours(folder: safefs.Folder, kind: type[NetnsFile]) -> str | None:
    """The file of this kind in `folder` (None: none); PathConflictError unless we wrote it (our first line)."""
    data = folder.read(kind.filename)
    if data is None:
        return None
    text = data.decode("utf-8", errors="replace")
    if not text.startswith(kind.mark):
        raise PathConflictError(
            f"{folder.where(kind.filename)} was not written by netreconcile (its first line is not "
            f"{kind.mark.strip()!r}); move it away, or give the endpoint another netns, and run again")
    return text
