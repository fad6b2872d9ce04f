"""The host's name servers, as /etc/resolv.conf lists them: automatic subnets stay clear of them."""

from __future__ import annotations

from ipaddress import ip_address
from pathlib import Path

RESOLV_CONF = Path("/etc/resolv.conf")


def name_servers(path: Path = RESOLV_CONF) -> tuple[str, ...]:
    """The `nameserver` addresses, in order (a zone index dropped); none when the file cannot be read."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ()
    found = []
    for words in (line.split() for line in text.splitlines()):
        if len(words) >= 2 and words[0] == "nameserver":
            try:
                found.append(str(ip_address(words[1].partition("%")[0])))
            except ValueError:
                continue  # a resolver ignores such a line too
    return tuple(found)
