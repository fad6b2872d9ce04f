"""Managed files of an endpoint: /etc/netns/<ns>/hosts, which `ip netns exec` shows as /etc/hosts.
Written whole to a temporary file and renamed over the old one, so a reader never sees half a file."""

from __future__ import annotations

import os

from reconciler.appliers import Applier, register
from reconciler.model import HostsFile

ETC_NETNS = "/etc/netns"


def hosts_file_name(ns: str) -> str:
    return f"{ETC_NETNS}/{ns}/hosts"


@register("hosts")
class HostsFileApplier(Applier):
    def create(self, obj: HostsFile) -> None:
        folder = f"{ETC_NETNS}/{obj.ns}"
        temporary = f"{folder}/.hosts.{os.getpid()}"
        try:
            _write(temporary, obj.content)
        except FileNotFoundError:  # the endpoint's first file
            os.makedirs(folder, exist_ok=True)
            _write(temporary, obj.content)
        os.replace(temporary, f"{folder}/hosts")

    def delete(self, obj: HostsFile) -> None:
        try:
            os.unlink(hosts_file_name(obj.ns))
        except FileNotFoundError:
            pass
        try:
            os.rmdir(f"{ETC_NETNS}/{obj.ns}")  # only when nothing else lives there
        except OSError:
            pass


def _write(path: str, content: str) -> None:
    """Create or truncate `path` with `content` (os-level calls: a third of the cost of open())."""
    data = content.encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        while data:
            data = data[os.write(fd, data):]
    finally:
        os.close(fd)
