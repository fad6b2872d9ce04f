"""Kernel objects of a namespace as a whole: the namespace itself, its sysctls, its hosts file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from reconciler.model.base import KernelObject, Key, link_key


@dataclass(frozen=True)
class Netns(KernelObject):
    """A named network namespace (/run/netns/NAME); its loopback carries the ownership mark."""

    name: str
    owner: str = ""
    lo_up: bool = True
    kind: ClassVar[str] = "netns"
    rank: ClassVar[int] = 0

    @property
    def key(self) -> Key:
        return ("netns", self.name)

    @property
    def netns(self) -> str | None:
        return self.name

    @property
    def title(self) -> str:
        return self.name


@dataclass(frozen=True)
class Sysctl(KernelObject):
    """A sysctl under /proc/sys in a namespace (None: the host). Set, never removed."""

    ns: str | None
    name: str
    value: str
    kind: ClassVar[str] = "sysctl"
    rank: ClassVar[int] = 1
    prunable: ClassVar[bool] = False

    @property
    def key(self) -> Key:
        return ("sysctl", self.ns, self.name)

    @property
    def parents(self) -> tuple[Key, ...]:
        return (("netns", self.ns),) if self.ns else ()

    @property
    def netns(self) -> str | None:
        return self.ns

    @property
    def title(self) -> str:
        where = f"netns {self.ns}" if self.ns else "host"
        return f"{self.name}={self.value} ({where})"


@dataclass(frozen=True)
class InterfaceSysctl(Sysctl):
    """A sysctl of one interface (net.ipv4.conf.eth0.rp_filter): its file is there once the interface
    is, and goes with it, so it is written after the interface is made, and again when it is replaced."""

    rank: ClassVar[int] = 4

    @property
    def parents(self) -> tuple[Key, ...]:
        return (*super().parents, link_key(self.ns, sysctl_interface(self.name) or ""))


PER_INTERFACE = ("ipv4.conf", "ipv4.neigh", "ipv6.conf", "ipv6.neigh")  # net.<these>.<interface>.<setting>


def sysctl_interface(name: str) -> str | None:
    """The interface a sysctl belongs to (eth0 in net.ipv4.conf.eth0.rp_filter), or None (`all` and
    `default` are no interface)."""
    parts = name.split(".")
    if len(parts) < 5 or parts[0] != "net" or f"{parts[1]}.{parts[2]}" not in PER_INTERFACE:
        return None
    return None if parts[3] in ("all", "default") else parts[3]


def sysctl(ns: str | None, name: str, value: str) -> Sysctl:
    """A Sysctl, or an InterfaceSysctl when it belongs to an interface: desired and observed alike."""
    return (InterfaceSysctl if sysctl_interface(name) else Sysctl)(ns, name, value)


HOSTS_MARK = "# managed by netreconcile: the names this endpoint can reach\n"
RESOLV_MARK = "# managed by netreconcile: names through the embedded resolver at 127.0.0.11\n"


@dataclass(frozen=True)
class NetnsFile(KernelObject):
    """A file of ours in /etc/netns/<ns>/, which `ip netns exec` shows in /etc: written atomically, and
    ours when it starts with the kind's `mark`."""

    ns: str
    content: str
    owner: str = field(default="", compare=False)
    filename: ClassVar[str] = ""
    mark: ClassVar[str] = ""
    rank: ClassVar[int] = 7

    @property
    def key(self) -> Key:
        return (self.kind, self.ns)

    @property
    def netns(self) -> str | None:
        return self.ns

    @property
    def title(self) -> str:
        return f"/etc/netns/{self.ns}/{self.filename}"


@dataclass(frozen=True)
class HostsFile(NetnsFile):
    """/etc/netns/<ns>/hosts: localhost and the endpoint's own names (the embedded resolver answers
    for its peers)."""

    kind: ClassVar[str] = "hosts"
    filename: ClassVar[str] = "hosts"
    mark: ClassVar[str] = HOSTS_MARK


@dataclass(frozen=True)
class ResolvConf(NetnsFile):
    """/etc/netns/<ns>/resolv.conf: the embedded resolver, ndots:0, the host's search domains."""

    kind: ClassVar[str] = "resolvconf"
    filename: ClassVar[str] = "resolv.conf"
    mark: ClassVar[str] = RESOLV_MARK


NETNS_FILES: tuple[type[NetnsFile], ...] = (HostsFile, ResolvConf)
