"""Namespaces removed from /run/netns, as inotify reports them: the resolver lets go of one at once, so
that its sockets never keep a removed namespace alive (a namespace lives while a socket of it is open,
and with it the links inside: a veth's host end would stay, and no event would say it went)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from reconciler.kernel.inotify import IN_DELETE, IN_MOVED_FROM, Inotify


class NetnsWatch:
    """Calls `gone(name)` for each entry removed from `directory`, from the running loop."""

    def __init__(self, directory: str, gone: Callable[[str], None]) -> None:
        self.gone = gone
        self.inotify = Inotify()
        try:
            self.inotify.add(directory, IN_DELETE | IN_MOVED_FROM)
        except OSError:
            self.inotify.close()
            raise
        asyncio.get_running_loop().add_reader(self.inotify.fd, self._read)

    def _read(self) -> None:
        for _, _, name in self.inotify.events():
            self.gone(name)

    def close(self) -> None:
        asyncio.get_running_loop().remove_reader(self.inotify.fd)
        self.inotify.close()
