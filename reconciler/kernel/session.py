"""A session with the kernel: one rtnetlink socket per namespace in use, opened in-process."""

from __future__ import annotations

import errno
from collections import OrderedDict
from typing import Self

from reconciler.kernel import netns
from reconciler.kernel.procfs import SysctlRoot
from reconciler.kernel.rtnl_client import RtnlClient

MAX_OPEN = 16  # sockets kept open; plans are grouped per namespace, so a few suffice


class Kernel:
    """Opens rtnetlink sockets per namespace on demand (setns, then socket) and closes them at the end."""

    def __init__(self) -> None:
        self._raw: OrderedDict[str | None, RtnlClient] = OrderedDict()
        self._indexes: dict[tuple[str | None, str], int] = {}
        self._sysctls = SysctlRoot()

    def raw(self, ns: str | None = None) -> RtnlClient:
        """Our rtnetlink client in `ns` (reconciler/kernel/rtnl_client.py)."""
        sock = self._raw.get(ns)
        if sock is None:
            with netns.entered(ns):
                sock = self._raw[ns] = RtnlClient()
            if len(self._raw) > MAX_OPEN:
                self._raw.popitem(last=False)[1].close()
        self._raw.move_to_end(ns)
        return sock

    def forget(self, ns: str) -> None:
        """Close the sockets of a namespace about to be removed, and drop what we knew of it."""
        sock = self._raw.pop(ns, None)
        if sock is not None:
            sock.close()
        self._indexes = {k: v for k, v in self._indexes.items() if k[0] != ns}

    def index(self, ns: str | None, ifname: str) -> int:
        """The ifindex of a link, asked once per session (a targeted request, never a dump)."""
        key = (ns, ifname)
        if key not in self._indexes:
            self._indexes[key] = self.raw(ns).link_index(ifname)
        return self._indexes[key]

    def learn(self, ns: str | None, ifname: str, index: int) -> None:
        """The ifindex of a link this session made, as the kernel echoed it (kept as `index` keeps one)."""
        self._indexes[(ns, ifname)] = index

    def has_link(self, ns: str | None, ifname: str) -> bool:
        """Whether `ns` has a link of that name now (asked every time, never cached)."""
        try:
            self.raw(ns).link_index(ifname)
            return True
        except OSError as err:
            if err.errno != errno.ENODEV:
                raise
            return False

    def forget_link(self, ns: str | None, ifname: str) -> None:
        self._indexes.pop((ns, ifname), None)

    def read_sysctl(self, ns: str | None, key: str) -> str | None:
        with netns.entered(ns):
            return netns.read_sysctl(key, self._sysctls.dir_fd(ns))

    def write_sysctl(self, ns: str | None, key: str, value: str) -> None:
        with netns.entered(ns):
            netns.write_sysctl(key, value, self._sysctls.dir_fd(ns))

    def close(self) -> None:
        self._sysctls.close()
        while self._raw:
            self._raw.popitem()[1].close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
