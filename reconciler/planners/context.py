"""What every driver planner shares, as plain data: built once per plan by planners.builder."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from reconciler.frozen import Slot
from reconciler.input.ipam import AllocKey
from reconciler.input.spec import (
    Endpoint,
    Interface,
    IPAddress,
    Manifests,
    Network,
    Subnet,
)
from reconciler.input.spec.naming import endpoint_mac
from reconciler.model import Key
from reconciler.planners.services import Exposure
from reconciler.planning.plan import HostLink

AttachmentFields = tuple[Interface, Network, "IPAddress | None", "IPAddress | None", bool]  # an Attachment's, in order


@dataclass(frozen=True)
class Context:
    """The manifests, the allocated addresses, every network as this host builds it (an overlay with
    its effective MTU), what is published here (and to which endpoint addresses), and what the host
    holds: same-named kernel objects that are not ours (e.g. a parent), and its links when observed."""

    manifests: Manifests
    addresses: dict[AllocKey, IPAddress]
    networks: Mapping[str, Network]
    exposures: tuple[Exposure, ...]
    exposed: frozenset[tuple[str, str]]  # (network, address) of every endpoint that traffic is DNATed to
    foreign: frozenset[Key] = frozenset()
    host_links: Mapping[str, HostLink] | None = None
    search: tuple[str, ...] = ()  # the host's DNS search domains

    def address(self, endpoint: Endpoint, iface: Interface, version: int) -> IPAddress | None:
        return self.addresses.get((endpoint.name, iface.network, version))

    def attachment(self, endpoint: Endpoint, iface: Interface) -> Attachment:
        """All that the planners of an endpoint's interface read: see Attachment."""
        return Attachment(*self.attachment_fields(endpoint, iface))

    def attachment_fields(self, endpoint: Endpoint, iface: Interface) -> AttachmentFields:
        """The fields of the interface's Attachment, as a plain tuple: what the Planner compares with those
        it kept (a tuple of the same objects compares at once; an Attachment is built only to plan)."""
        network, v4 = self.networks[iface.network], self.address(endpoint, iface, 4)
        exposed = v4 is not None and bool(self.exposed) and (network.name, str(v4)) in self.exposed  # str: slow
        return iface, network, v4, self.address(endpoint, iface, 6), exposed

    def cidrs(self, endpoint: Endpoint, iface: Interface, host: bool = False) -> list[str]:
        """The interface's addresses with the prefix length of the subnet that holds each (`host`: as
        host addresses, /32 or /128, which add no route for the subnet)."""
        return self._plain(endpoint, iface).cidrs(host)

    def mac(self, endpoint: Endpoint, iface: Interface) -> str:
        return self._plain(endpoint, iface).mac(endpoint.name)

    def _plain(self, endpoint: Endpoint, iface: Interface) -> Attachment:
        network = self.manifests.network(iface.network)
        return Attachment(iface, network, self.address(endpoint, iface, 4), self.address(endpoint, iface, 6))


@dataclass(frozen=True)
class Attachment:
    """One interface of an endpoint as this host makes it: the interface, its network as this host
    builds it, its allocated addresses, and whether traffic is DNATed to its IPv4 address. The
    planners of an endpoint read nothing else, so what they make can be memoised on it."""

    iface: Interface
    network: Network
    ipv4: IPAddress | None
    ipv6: IPAddress | None
    exposed: bool = False

    def address(self, version: int) -> IPAddress | None:
        return self.ipv4 if version == 4 else self.ipv6

    def subnet(self, version: int) -> Subnet | None:
        """The network's subnet that holds the address of that family (found once per Attachment: an
        endpoint's planners ask it six times)."""
        found = _SUBNETS.get(self)
        if found is None:
            found = _SUBNETS.set(self, (self._holding(self.ipv4), self._holding(self.ipv6)))
        return found[version != 4]

    def _holding(self, address: IPAddress | None) -> Subnet | None:
        if address is not None:
            for s in self.network.subnets:
                if address in s.subnet:
                    return s
        return None

    def cidrs(self, host: bool = False) -> list[str]:
        """Its addresses with the prefix length of the subnet that holds each (`host`: as host
        addresses, /32 or /128, which add no route for the subnet)."""
        out = []
        for version in (4, 6):
            subnet = self.subnet(version)
            if subnet is not None:
                length = subnet.subnet.max_prefixlen if host else subnet.subnet.prefixlen
                out.append(f"{self.address(version)}/{length}")
        return out

    def mac(self, endpoint: str) -> str:
        """The declared MAC, else Docker's 02:42 + IPv4 address, else 02:42 + a digest of the names."""
        return self.iface.mac_address or endpoint_mac(endpoint, self.iface.network, self.ipv4)


_SUBNETS: Slot[tuple[Subnet | None, Subnet | None]] = Slot("_subnets")  # Attachment.subnet's, by family
