"""What the link appliers share: a link's IPv6 settings, set before it comes up; its deletion; and a
descriptor of the namespace a link is born in."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from reconciler.appliers.registry import GONE, tolerate
from reconciler.kernel import netns
from reconciler.kernel.session import Kernel


def set_ipv6(kernel: Kernel, ns: str | None, ifname: str, enabled: bool | None) -> None:
    """IPv6 off on a network without it (no autoconfiguration floods); on one with it, static addresses
    only: no router advertisements and no autoconfigured addresses (set before the link comes up)."""
    if enabled is None:
        return
    conf = f"net.ipv6.conf.{ifname}"
    kernel.write_sysctl(ns, f"{conf}.disable_ipv6", "0" if enabled else "1")
    if enabled:
        kernel.write_sysctl(ns, f"{conf}.accept_ra", "0")
        kernel.write_sysctl(ns, f"{conf}.autoconf", "0")


def delete_link(kernel: Kernel, ns: str | None, name: str) -> None:
    """Delete a link (one already gone is done), and forget its index."""
    with tolerate(*GONE):
        kernel.raw(ns).del_link(kernel.index(ns, name))
    kernel.forget_link(ns, name)


@contextmanager
def namespace_fd(ns: str | None) -> Iterator[int | None]:
    """A descriptor of the namespace `ns` for a link to be born in (IFLA_NET_NS_FD); None: the host."""
    if not ns:
        yield None
        return
    fd = os.open(netns.path(ns), os.O_RDONLY)
    try:
        yield fd
    finally:
        os.close(fd)
