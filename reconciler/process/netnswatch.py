"""Namespaces removed from /run/netns, as inotify reports them: the resolver lets go of one at once, so
that its sockets never keep a removed namespace alive (a namespace lives while a socket of it is open,
and with it the links inside: a veth's host end would stay, and no event would say it went)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from reconciler.kernel.inotify import IN_DELETE, IN_MOVED_FROM, Watch


class NetnsWatch:
    """Calls `gone(name)` for each entry removed from `directory`, from the running loop."""

    def __init__(self, directory: str, gone: Callable[[str], None]) -> None:
        self.gone = gone
        self.watch = Watch(directory, IN_DELETE | IN_MOVED_FROM)
        asyncio.get_running_loop().add_reader(self.watch.fd, self._read)

    def _read(self) -> None:
        for name in self.watch.read():
            self.gone(name)

    def close(self) -> None:
        asyncio.get_running_loop().remove_reader(self.watch.fd)
        self.watch.close()
