"""Automatic subnets on this host: what the host holds (its networks, its name servers, the subnets
its kernel already gives our networks) for input/pools.py to pick from, and the conflicts found later.

A bridge network's subnet is picked clear of the host's networks, then kept: a route that appears
later over it (a VPN that comes up after us) is a conflict to report, never a reason to renumber a
live network. An overlay network's subnet is the same on every host: a host whose own networks
overlap it cannot pick another alone, and refuses.
"""

from __future__ import annotations

from ipaddress import ip_interface, ip_network

from reconciler.input.pools import HostView, Taken, assign
from reconciler.input.spec import IPNetwork, Manifests, Network, where
from reconciler.model import Address
from reconciler.planning.hostnets import HostNetwork, host_networks, overlapped
from reconciler.planning.plan import Observed

CONFLICT = "conflict: "  # a note of plan and status the watch's log repeats


def resolve(m: Manifests, observed: Observed) -> tuple[Manifests, tuple[str, ...]]:
    """The manifests with their automatic subnets picked on this host, and a line explaining each."""
    picked, choices = assign(m, host_view(m, observed))
    return picked, tuple(map(str, choices))


def host_view(m: Manifests, observed: Observed) -> HostView:
    held = host_networks(observed.host_links or {}, observed.host_routes or ())
    taken = [Taken(h.network, h.as_ip_shows_it) for h in held]
    taken += [Taken(ip_network(a), f"name server {a} (/etc/resolv.conf)") for a in observed.name_servers]
    return HostView(tuple(taken), _kept(m, observed))


def _kept(m: Manifests, observed: Observed) -> dict[str, tuple[IPNetwork, ...]]:
    """The subnets of the addresses our bridges hold, by network: what the kernel gives each now."""
    bridges = {n.bridge.name: n for n in m.networks if n.auto_subnet and n.bridge and n.overlay is None}
    if not bridges:  # no pass over every observed object for none
        return {}
    kept: dict[str, list[IPNetwork]] = {}
    for obj in observed.objects.values():
        network = bridges.get(obj.ifname) if isinstance(obj, Address) and obj.ns is None else None
        if isinstance(obj, Address) and network is not None and network.owner in obj.owner.split():
            kept.setdefault(network.name, []).append(ip_interface(obj.address).network)
    return {name: tuple(sorted(subnets, key=str)) for name, subnets in kept.items()}


def findings(m: Manifests, observed: Observed) -> tuple[list[str], list[str]]:
    """(errors, notes) of the automatic subnets against this host: an overlay's that overlaps the
    host's networks or another network here is an error; a bridge's, kept, that a route or an address
    now overlaps is a conflict note."""
    if observed.host_links is None:
        return [], []
    held = host_networks(observed.host_links, observed.host_routes or ())
    errors: list[str] = []
    notes: list[str] = []
    for network in (n for n in m.local_networks if n.auto_subnet):
        for s in network.subnets:
            for h in overlapped(s, held):
                if network.overlay is not None:
                    errors.append(_shared(network, s.subnet, str(h)))
                else:
                    notes.append(_conflict(network, s.subnet, h))
        if network.overlay is not None:
            errors += [_shared(network, s.subnet, f"{o.subnet} of network {other.name}")
                       for other in m.local_networks if other is not network
                       for s in network.subnets for o in other.subnets
                       if s.version == o.version and s.subnet.overlaps(o.subnet)]
    return errors, notes


def _shared(network: Network, subnet: IPNetwork, what: str) -> str:
    at = where(network, "spec", "ipam", "subnet")
    return (f"network {network.name} ({at.file}:{at.line}): subnet {subnet}, picked automatically from the manifests "
            f"and shared by every host of the overlay, overlaps {what} on this host; a host cannot pick another alone: "
            "declare a subnet (or AddressPools) clear of it on every host")


def _conflict(network: Network, subnet: IPNetwork, held: HostNetwork) -> str:
    return (f"{CONFLICT}network {network.name}'s subnet {subnet} (picked automatically, kept while the network is live) "
            f"now overlaps {held}; it is not renumbered behind your back: remove that route or address, or "
            "declare another subnet for the network")
