"""Managed files of an endpoint: /etc/netns/<ns>/hosts, which `ip netns exec` shows as /etc/hosts.
Written whole to a temporary file and renamed over the old one, so a reader never sees half a file;
reached without following a symbolic link, and only ever over a file of ours (reconciler/kernel/safefs.py)."""

from __future__ import annotations

from reconciler.appliers.registry import Applier, register
from reconciler.kernel import safefs
from reconciler.kernel.hostsfile import ETC_NETNS, ours
from reconciler.model import HostsFile

FOLDER_MODE, FILE_MODE = 0o755, 0o644  # readable by whoever runs in the namespace, as /etc/hosts is


@register("hosts")
class HostsFileApplier(Applier[HostsFile]):
    """An endpoint's hosts file, written whole and removed only when ours."""

    def create(self, obj: HostsFile) -> None:
        with safefs.opened(ETC_NETNS, make=FOLDER_MODE) as etc, etc.sub(obj.ns, make=FOLDER_MODE) as folder:
            ours(folder)
            folder.replace("hosts", obj.content.encode(), FILE_MODE)

    def delete(self, obj: HostsFile) -> None:
        try:
            with safefs.opened(ETC_NETNS) as etc:
                with etc.sub(obj.ns) as folder:
                    if ours(folder) is not None:
                        folder.remove("hosts")
                etc.remove_folder(obj.ns)  # only when nothing else lives there
        except FileNotFoundError:
            pass
