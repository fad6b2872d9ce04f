"""Managed files of an endpoint: /etc/netns/<ns>/hosts and resolv.conf, which `ip netns exec` shows in
/etc. Written whole to a temporary file and renamed over the old one, so a reader never sees half a
file; reached without following a symbolic link, and only ever over a file of ours (reconciler/kernel/safefs.py)."""

from __future__ import annotations

from reconciler.appliers.registry import Applier, register
from reconciler.kernel import safefs
from reconciler.kernel.hostsfile import ETC_NETNS, ours
from reconciler.model import NetnsFile

FOLDER_MODE, FILE_MODE = 0o755, 0o644  # readable by whoever runs in the namespace, as /etc/hosts is


@register("hosts", "resolvconf")
class NetnsFileApplier(Applier[NetnsFile]):
    """An endpoint's file, written whole and removed only when ours; its folder goes with the last one."""

    def create(self, obj: NetnsFile) -> None:
        with safefs.opened(ETC_NETNS, make=FOLDER_MODE) as etc, etc.sub(obj.ns, make=FOLDER_MODE) as folder:
            ours(folder, type(obj))
            folder.replace(obj.filename, obj.content.encode(), FILE_MODE)

    def delete(self, obj: NetnsFile) -> None:
        try:
            with safefs.opened(ETC_NETNS) as etc:
                with etc.sub(obj.ns) as folder:
                    if ours(folder, type(obj)) is not None:
                        folder.remove(obj.filename)
                etc.remove_folder(obj.ns)  # only when nothing else lives there
        except FileNotFoundError:
            pass
