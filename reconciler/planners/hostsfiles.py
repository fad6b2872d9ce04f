"""The hosts file of each endpoint, /etc/netns/<ns>/hosts: localhost and the endpoint's own names at
its addresses. Its peers' names come from the embedded resolver (planners/dns.py), so a file does not
grow with the network, and adding an endpoint rewrites no other endpoint's file."""

from __future__ import annotations

from reconciler.input.ipam import Addresses
from reconciler.input.spec import Endpoint
from reconciler.model import HOSTS_MARK, HostsFile
from reconciler.planners.services import address_of

HEADER = "\n".join([HOSTS_MARK.rstrip("\n"), "127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]) + "\n"


def own_lines(ep: Endpoint, addresses: Addresses) -> tuple[str, ...]:
    """One line per address of the endpoint, naming it and its aliases on that address's network."""
    out = []
    for iface in ep.interfaces:
        names = " ".join(dict.fromkeys((ep.name, *iface.aliases)))
        found = (address_of(addresses, ep, iface.network, version) for version in (4, 6))
        out += [f"{address}\t{names}\n" for address in found if address is not None]
    return tuple(out)


def hosts_file(ep: Endpoint, lines: tuple[str, ...]) -> HostsFile:
    return HostsFile(ep.netns, HEADER + "".join(lines), owner=ep.owner)
