"""A resolv.conf, read as glibc reads it: its name servers and search domains. The host's tells
automatic subnets which addresses to stay clear of, each endpoint's resolv.conf its search domains,
and the resolver where to forward (reconciler/resolver/upstream.py)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

HOST_RESOLV_CONF = Path("/etc/resolv.conf")
MAX_BYTES = 1 << 16  # a resolv.conf is a few hundred bytes; a huge one is not read on without end


@dataclass(frozen=True)
class ResolvConf:
    """What a resolv.conf says: its nameservers (in order, IP addresses only) and search domains."""

    servers: tuple[str, ...] = ()
    search: tuple[str, ...] = ()

    @property
    def addresses(self) -> tuple[str, ...]:
        """The servers' addresses without a zone (`fe80::1%eth0` is fe80::1)."""
        return tuple(str(ipaddress.ip_address(s.partition("%")[0])) for s in self.servers)


def parse(text: str) -> ResolvConf:
    """`nameserver ADDRESS` lines in order (an address with a zone `%eth0` kept as is); the last
    `search` or `domain` line gives the search domains."""
    servers: list[str] = []
    search: tuple[str, ...] = ()
    for line in text.splitlines():
        words = line.split("#", 1)[0].split(";", 1)[0].split()
        if len(words) >= 2 and words[0] == "nameserver" and _address(words[1]):
            servers.append(words[1])
        elif len(words) >= 2 and words[0] in ("search", "domain"):
            search = tuple(w for w in (words[1:] if words[0] == "search" else words[1:2]) if w != ".")
    return ResolvConf(servers=tuple(servers), search=search)


def read(path: Path = HOST_RESOLV_CONF) -> ResolvConf | None:
    """The resolv.conf at `path`, None when it cannot be read."""
    try:
        with path.open("rb") as f:
            return parse(f.read(MAX_BYTES).decode("utf-8", "replace"))
    except OSError:
        return None


def _address(text: str) -> bool:
    try:
        ipaddress.ip_address(text.partition("%")[0])
    except ValueError:
        return False
    return True
