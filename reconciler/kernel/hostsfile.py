"""Where an endpoint's hosts file lives (/etc/netns/<ns>/hosts, which `ip netns exec` shows as
/etc/hosts), and how a file there is known to be ours (its first line): what observe and the kernel
cache read, and what the applier reconciler/appliers/files.py writes."""

from __future__ import annotations

from reconciler.errors import PathConflictError
from reconciler.kernel import safefs
from reconciler.model import HOSTS_MARK

ETC_NETNS = "/etc/netns"


def hosts_file_name(ns: str) -> str:
    return f"{ETC_NETNS}/{ns}/hosts"


def read_hosts(ns: str) -> str | None:
    """The endpoint's hosts file if netreconcile wrote it (None: there is none); PathConflictError when
    something else is there: a symbolic link on the way, a file we did not write."""
    try:
        with safefs.opened(ETC_NETNS) as etc, etc.sub(ns) as folder:
            return ours(folder)
    except FileNotFoundError:
        return None


def ours(folder: safefs.Folder) -> str | None:
    """The hosts file in `folder` (None: none); PathConflictError unless we wrote it (our first line)."""
    data = folder.read("hosts")
    if data is None:
        return None
    text = data.decode("utf-8", errors="replace")
    if not text.startswith(HOSTS_MARK):
        raise PathConflictError(
            f"{folder.where('hosts')} was not written by netreconcile (its first line is not "
            f"{HOSTS_MARK.strip()!r}); move it away, or give the endpoint another netns, and run again")
    return text
