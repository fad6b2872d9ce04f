"""Managed files of an endpoint: /etc/netns/<ns>/hosts, which `ip netns exec` shows as /etc/hosts.
Written whole to a temporary file and renamed over the old one, so a reader never sees half a file;
reached without following a symbolic link, and only ever over a file of ours (reconciler/safefs.py)."""

from __future__ import annotations

from reconciler import safefs
from reconciler.appliers.registry import Applier, register
from reconciler.errors import PathConflictError
from reconciler.model import HOSTS_MARK, HostsFile

ETC_NETNS = "/etc/netns"
FOLDER_MODE, FILE_MODE = 0o755, 0o644  # readable by whoever runs in the namespace, as /etc/hosts is


def hosts_file_name(ns: str) -> str:
    return f"{ETC_NETNS}/{ns}/hosts"


def read_hosts(ns: str) -> str | None:
    """The endpoint's hosts file if netreconcile wrote it (None: there is none); PathConflictError when
    something else is there: a symbolic link on the way, a file we did not write."""
    try:
        with safefs.opened(ETC_NETNS) as etc, etc.sub(ns) as folder:
            return _ours(folder)
    except FileNotFoundError:
        return None


@register("hosts")
class HostsFileApplier(Applier[HostsFile]):
    """An endpoint's hosts file, written whole and removed only when ours."""

    def create(self, obj: HostsFile) -> None:
        with safefs.opened(ETC_NETNS, make=FOLDER_MODE) as etc, etc.sub(obj.ns, make=FOLDER_MODE) as folder:
            _ours(folder)
            folder.replace("hosts", obj.content.encode(), FILE_MODE)

    def delete(self, obj: HostsFile) -> None:
        try:
            with safefs.opened(ETC_NETNS) as etc:
                with etc.sub(obj.ns) as folder:
                    if _ours(folder) is not None:
                        folder.remove("hosts")
                etc.remove_folder(obj.ns)  # only when nothing else lives there
        except FileNotFoundError:
            pass


def _ours(folder: safefs.Folder) -> str | None:
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
