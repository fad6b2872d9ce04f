"""What every driver planner gets: the manifests and the allocated addresses."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property

from reconciler.ipam import AllocKey
from reconciler.model import Key
from reconciler.spec import Endpoint, Interface, IPAddress, Manifests, Network


@dataclass(frozen=True)
class Context:
    manifests: Manifests
    addresses: dict[AllocKey, IPAddress]
    foreign: frozenset[Key] = frozenset()  # same-named kernel objects that are not ours (e.g. a parent)
    host_links: dict | None = None  # every link of the host namespace by name (plan.HostLink), when observed

    @cached_property
    def exposures(self) -> list:
        """Published ports and Service ports on this host (planners.services.Exposure), computed once."""
        from reconciler.planners import services

        return services.exposures(self.manifests, self)

    @cached_property
    def exposed(self) -> frozenset[tuple[str, str]]:
        """(network, address) of every endpoint that traffic is DNATed to."""
        return frozenset((e.network, b) for e in self.exposures for b in e.backends)

    def address(self, endpoint: Endpoint, iface: Interface, version: int) -> IPAddress | None:
        return self.addresses.get((endpoint.name, iface.network, version))

    def cidrs(self, endpoint: Endpoint, iface: Interface, host: bool = False) -> list[str]:
        """The interface's addresses with the prefix length of the subnet that holds each (`host`: as
        host addresses, /32 or /128, which add no route for the subnet)."""
        network = self.manifests.network(iface.network)
        out = []
        for version in (4, 6):
            address = self.address(endpoint, iface, version)
            subnet = next((s.subnet for s in network.subnets if address is not None and address in s.subnet), None)
            if subnet is not None:
                out.append(f"{address}/{subnet.max_prefixlen if host else subnet.prefixlen}")
        return out

    def mac(self, endpoint: Endpoint, iface: Interface) -> str:
        """The declared MAC, else Docker's 02:42 + IPv4 address, else 02:42 + a digest of the names."""
        if iface.mac_address:
            return iface.mac_address
        v4 = self.address(endpoint, iface, 4)
        tail = v4.packed if v4 is not None else hashlib.sha256(f"{endpoint.name}/{iface.network}".encode()).digest()[:4]
        return ":".join(f"{b:02x}" for b in (0x02, 0x42, *tail))


def host_ifname(endpoint: Endpoint, network: Network) -> str:
    """The host end of an endpoint's veth: stable, unique and recognisable (`nr-` + 10 hex)."""
    return "nr-" + hashlib.sha256(f"{endpoint.name}\0{network.name}".encode()).hexdigest()[:10]


def stable_mac(kind: str, name: str) -> str:
    """A locally administered MAC derived from a link's name: the same after any recreation.

    Bridges need one of their own (as Docker sets one): without it a bridge takes its lowest port's
    MAC and changes it, the gateway's MAC, whenever that port goes. Host veth ends get one so that
    the whole kernel state is a function of the manifests (a rollback restores it exactly)."""
    digest = hashlib.sha256(f"{kind}\0{name}".encode()).digest()
    return ":".join(f"{b:02x}" for b in (0x02, *digest[:5]))


def bridge_mac(name: str) -> str:
    return stable_mac("bridge", name)
