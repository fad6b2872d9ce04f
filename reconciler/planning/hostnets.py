"""Subnets against the host's own networks, a preflight check.

A bridge or overlay network's subnet lives on our bridge: its connected route and the direct-access
drop (`raw-PREROUTING ip daddr <subnet> ... drop`) take every packet for the subnet. When the subnet
overlaps an address of the host, or a route that is not ours (in any table: VPNs put theirs in
others), that is the host's own LAN, loopback or VPN traffic. macvlan and ipvlan networks are not
checked: they are meant to share their parent's LAN, and they put neither a connected route nor a
drop on the host.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import ip_interface, ip_network

from reconciler.input.spec import IPNetwork, Network, Subnet, where
from reconciler.model import ROUTE_PROTO
from reconciler.planning.plan import HostLink, HostRoute

CHECKED_DRIVERS = ("bridge", "overlay")
LINK_LOCAL = ip_network("fe80::/10")
TABLE_NAMES = {253: "default", 254: "main"}
ADVICE = "choose a subnet that does not overlap the host's networks"


@dataclass(frozen=True)
class HostNetwork:
    """An address or a route of the host that is not ours, as a message names it."""

    network: IPNetwork  # what a subnet must not overlap (an address: its prefix)
    name: str           # the route's destination, or the address as the host holds it
    device: str | None
    what: str           # "address", or "route, table main"

    def __str__(self) -> str:
        on = f" on {self.device}" if self.device else ""
        return f"{self.name}{on} ({self.what})"

    @property
    def as_ip_shows_it(self) -> str:
        """As `ip` lists it: "route 172.17.0.0/16 dev wg0 table 51820", "address 10.0.0.2/24 dev eth0"."""
        kind, _, table = self.what.partition(", table ")
        dev = f" dev {self.device}" if self.device else ""
        return f"{kind} {self.name}{dev}" + (f" table {table}" if table else "")


def problems(networks: Iterable[Network], links: dict[str, HostLink], routes: Iterable[HostRoute]) -> list[str]:
    """One message per subnet of a checked network and host network it overlaps."""
    held = host_networks(links, routes)
    return [_message(n, i, s, h) for n in networks if n.driver in CHECKED_DRIVERS and not n.auto_subnet
            for i, s in enumerate(n.subnets) for h in overlapped(s, held)]


def overlapped(subnet: Subnet, held: list[HostNetwork]) -> list[HostNetwork]:
    """The host networks the subnet overlaps (automatic subnets are checked in planning/subnets.py)."""
    return [h for h in held if subnet.version == h.network.version and subnet.subnet.overlaps(h.network)]


def host_networks(links: dict[str, HostLink], routes: Iterable[HostRoute]) -> list[HostNetwork]:
    """The routes that are not ours (default routes and link-local ones left out), then the addresses
    that are not ours, except those whose own connected route is already named."""
    held = [HostNetwork(ip_network(r.dst), r.dst, r.device, f"route, table {TABLE_NAMES.get(r.table, r.table)}")
            for r in routes if _counts(r, links)]
    named = {(h.network, h.device) for h in held}
    for link in links.values():
        for address in () if link.owned else link.addresses:
            prefix = ip_interface(address).network
            if not _link_local(prefix) and (prefix, link.name) not in named:
                held.append(HostNetwork(prefix, address, link.name, "address"))
    return held


def _counts(route: HostRoute, links: dict[str, HostLink]) -> bool:
    dst = ip_network(route.dst)
    return not _ours(route, links) and not _default(dst) and not _link_local(dst)


def _ours(route: HostRoute, links: dict[str, HostLink]) -> bool:
    """Ours: our protocol, or on a link of ours (the connected route of one of our addresses included)."""
    link = links.get(route.device) if route.device else None
    return route.protocol == ROUTE_PROTO or (link is not None and link.owned)


def _default(network: IPNetwork) -> bool:
    """A default route, or half of one: 0.0.0.0/1 and 128.0.0.0/1 stand for it in VPNs (OpenVPN's def1)."""
    return network.prefixlen <= 1


def _link_local(network: IPNetwork) -> bool:
    return network.network_address in LINK_LOCAL and network.prefixlen >= LINK_LOCAL.prefixlen


def _message(network: Network, index: int, subnet: Subnet, held: HostNetwork) -> str:
    ipam = network.source.data["spec"].get("ipam", {}) if network.source else {}
    path = ("spec", "ipam", "subnets", index, "subnet") if "subnets" in ipam else ("spec", "ipam", "subnet")
    at = where(network, *path)
    return f"network {network.name} ({at.file}:{at.line}): subnet {subnet.subnet} overlaps {held}; {ADVICE}"
