"""The host's /etc/resolv.conf, read: its name servers and search domains. Endpoints' own resolv.conf
files keep the host's search domains (as Docker's do); the resolver forwards to its name servers."""

from __future__ import annotations

from dataclasses import dataclass

HOST_RESOLV_CONF = "/etc/resolv.conf"


@dataclass(frozen=True)
class ResolvConf:
    nameservers: tuple[str, ...] = ()
    search: tuple[str, ...] = ()


def parse(text: str) -> ResolvConf:
    """As glibc reads it: `nameserver` lines in order; the last `search` or `domain` line wins."""
    servers: list[str] = []
    search: tuple[str, ...] = ()
    for line in text.splitlines():
        words = line.split("#", 1)[0].split(";", 1)[0].split()
        if len(words) >= 2 and words[0] == "nameserver":
            servers.append(words[1])
        elif len(words) >= 2 and words[0] in ("search", "domain"):
            search = tuple(w for w in words[1:] if w != ".")
    return ResolvConf(tuple(servers), search)


def read(path: str = HOST_RESOLV_CONF) -> ResolvConf:
    """The host's settings; none when the file is missing or unreadable."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return parse(f.read(65536))
    except OSError:
        return ResolvConf()
