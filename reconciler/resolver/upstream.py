"""The host's upstream DNS servers and search domains, from its resolv.conf.

As Docker: when /etc/resolv.conf lists only local stubs (systemd-resolved's 127.0.0.53, any 127.x or
::1), the servers come from /run/systemd/resolve/resolv.conf, the stub's own upstream list. Unlike
Docker, a stub is kept when no such list exists: the resolver forwards from the host's namespace, where
the stub answers. At most three servers (glibc's MAXNS, Docker's maxExtDNS).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

HOST_RESOLV_CONF = Path("/etc/resolv.conf")
SYSTEMD_RESOLV_CONF = Path("/run/systemd/resolve/resolv.conf")
MAX_SERVERS = 3
MAX_BYTES = 1 << 16  # a resolv.conf is a few hundred bytes; a huge one is not read on without end


@dataclass(frozen=True)
class ResolvConf:
    """What a resolv.conf says: its nameservers (in order, IP addresses only) and search domains."""

    servers: tuple[str, ...] = ()
    search: tuple[str, ...] = ()


def parse(text: str) -> ResolvConf:
    """Read resolv.conf text as glibc does: `nameserver ADDRESS` lines in order (an address with a zone
    `%eth0` is kept as is), the last `search` or `domain` line gives the search domains."""
    servers: list[str] = []
    search: tuple[str, ...] = ()
    for line in text.splitlines():
        words = line.split("#", 1)[0].split(";", 1)[0].split()
        if len(words) >= 2 and words[0] == "nameserver" and _address(words[1]):
            servers.append(words[1])
        elif len(words) >= 2 and words[0] in ("search", "domain"):
            search = tuple(w for w in (words[1:] if words[0] == "search" else words[1:2]) if w != ".")
    return ResolvConf(servers=tuple(servers), search=search)


def is_local(address: str) -> bool:
    """A loopback address: a stub on the host, not an upstream server."""
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def choose_servers(host: ResolvConf, systemd: ResolvConf | None) -> tuple[str, ...]:
    """The upstream servers, at most three: the host's, unless they are all local stubs and the stub's
    own list (systemd-resolved's) names some."""
    servers = host.servers
    if servers and all(is_local(s) for s in servers) and systemd is not None and systemd.servers:
        servers = systemd.servers
    return tuple(dict.fromkeys(servers))[:MAX_SERVERS]


def read(path: Path) -> ResolvConf | None:
    """The resolv.conf at `path`, None when it cannot be read."""
    try:
        with path.open("rb") as f:
            return parse(f.read(MAX_BYTES).decode("utf-8", "replace"))
    except OSError:
        return None


def host_servers(host: Path = HOST_RESOLV_CONF, systemd: Path = SYSTEMD_RESOLV_CONF) -> tuple[str, ...]:
    """The servers the resolver forwards to for an asker without servers of its own."""
    conf = read(host) or ResolvConf()
    stubs_only = bool(conf.servers) and all(is_local(s) for s in conf.servers)
    return choose_servers(conf, read(systemd) if stubs_only else None)


def search_domains(host: Path = HOST_RESOLV_CONF) -> tuple[str, ...]:
    """The host's search domains, for each endpoint's resolv.conf (Docker copies them as well)."""
    conf = read(host)
    return conf.search if conf is not None else ()


def _address(word: str) -> bool:
    try:
        ipaddress.ip_address(word.split("%", 1)[0])
    except ValueError:
        return False
    return True
