"""Kernel objects of a namespace as a whole: the namespace itself, its sysctls, its hosts file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from reconciler.model.base import KernelObject, Key


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


HOSTS_MARK = "# managed by netreconcile: the names this endpoint can reach\n"


@dataclass(frozen=True)
class HostsFile(KernelObject):
    """/etc/netns/<ns>/hosts (seen as /etc/hosts under `ip netns exec`): the names of the endpoints
    that share a network with this one. Written atomically; ours when it starts with HOSTS_MARK."""

    ns: str
    content: str
    owner: str = field(default="", compare=False)
    kind: ClassVar[str] = "hosts"
    rank: ClassVar[int] = 7

    @property
    def key(self) -> Key:
        return ("hosts", self.ns)

    @property
    def netns(self) -> str | None:
        return self.ns

    @property
    def title(self) -> str:
        return f"/etc/netns/{self.ns}/hosts"
