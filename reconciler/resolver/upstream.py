"""The host's upstream DNS servers and search domains, from its resolv.conf.

As Docker: when /etc/resolv.conf lists only local stubs (systemd-resolved's 127.0.0.53, any 127.x or
::1), the servers come from /run/systemd/resolve/resolv.conf, the stub's own upstream list. Unlike
Docker, a stub is kept when no such list exists: the resolver forwards from the host's namespace, where
the stub answers. At most three servers (glibc's MAXNS, Docker's maxExtDNS).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from reconciler.kernel.resolvconf import HOST_RESOLV_CONF, ResolvConf, read

SYSTEMD_RESOLV_CONF = Path("/run/systemd/resolve/resolv.conf")
MAX_SERVERS = 3


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


def host_servers(host: Path = HOST_RESOLV_CONF, systemd: Path = SYSTEMD_RESOLV_CONF) -> tuple[str, ...]:
    """The servers the resolver forwards to for an asker without servers of its own."""
    conf = read(host) or ResolvConf()
    stubs_only = bool(conf.servers) and all(is_local(s) for s in conf.servers)
    return choose_servers(conf, read(systemd) if stubs_only else None)
