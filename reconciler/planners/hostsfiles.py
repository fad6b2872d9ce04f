"""The hosts file of each endpoint, /etc/netns/<ns>/hosts: localhost and the endpoint's own names at
its addresses. Its peers' names come from the embedded resolver (planners/dns.py), so a file does not
grow with the network, and adding an endpoint rewrites no other endpoint's file."""

from __future__ import annotations

from reconciler.input.spec import Endpoint
from reconciler.model import HOSTS_MARK, HostsFile
from reconciler.planners.context import Attachment

HEADER = "\n".join([HOSTS_MARK.rstrip("\n"), "127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]) + "\n"


def own_lines(ep: Endpoint, attachments: tuple[Attachment, ...]) -> tuple[str, ...]:
    """One line per address of the endpoint (its interfaces' `attachments`, in order), naming it and its
    aliases on that address's network."""
    out = []
    for att in attachments:
        names = " ".join(dict.fromkeys((ep.name, *att.iface.aliases)))
        out += [f"{address}\t{names}\n" for address in (att.ipv4, att.ipv6) if address is not None]
    return tuple(out)


def hosts_file(ep: Endpoint, attachments: tuple[Attachment, ...]) -> HostsFile:
    return HostsFile(ep.netns, HEADER + "".join(own_lines(ep, attachments)), owner=ep.owner)
