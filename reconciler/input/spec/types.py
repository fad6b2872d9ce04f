"""The typed spec: what the user declared, as frozen objects built from schema-valid Documents."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import ClassVar

from reconciler.errors import Location
from reconciler.frozen import hashed_once
from reconciler.input.manifest import Document
from reconciler.input.spec.naming import (
    HOST_SHIM,
    dummy_parent_name,
    shim_ifname,
    vip_name,
)

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network


@dataclass(frozen=True)
class Subnet:
    """One IPAM pool of a network. A bridge's `gateway` defaults to the first host address; the
    macvlan and ipvlan drivers have one only when the manifest gives it (the router of the LAN)."""

    subnet: IPNetwork
    gateway: IPAddress | None
    ip_range: IPNetwork | None = None
    aux_addresses: tuple[tuple[str, IPAddress], ...] = ()

    @property
    def version(self) -> int:
        return self.subnet.version


@dataclass(frozen=True)
class BridgeOptions:
    """The bridge driver's options: its bridge, NAT out, inter-container traffic, IPv6 NAT or routed.
    An overlay network builds such a bridge on each host too (OverlayOptions.bridge)."""

    name: str
    masquerade: bool = True
    icc: bool = True
    ipv6_mode: str = "nat"
    driver: ClassVar[str] = "bridge"


@dataclass(frozen=True)
class LowerOptions:
    """The macvlan and ipvlan drivers' options. `parent` None: an owned dummy parent, and the network
    is internal."""

    driver: str  # macvlan or ipvlan
    parent: str | None
    mode: str
    flag: str = "bridge"
    host_access: bool = False

    @property
    def vlan(self) -> tuple[str, int] | None:
        """`eth0.60` means VLAN 60 on eth0 (Docker's convention): (base, id), else None."""
        if self.parent is None or "." not in self.parent:
            return None
        base, _, tag = self.parent.rpartition(".")
        return (base, int(tag)) if tag.isdigit() and base else None


VXLAN_PORT = 4789
VXLAN_OVERHEAD = 50  # outer Ethernet, IP, UDP and VXLAN headers (IPv4 underlay)
VXLAN_OVERHEAD_V6 = 70  # the same over an IPv6 underlay (its header is 20 bytes longer)


@dataclass(frozen=True)
class OverlayOptions:
    """An overlay network's VXLAN: its VNI, UDP port and link name, and the bridge it builds on each
    host (as the bridge driver's, with that driver's defaults)."""

    vni: int
    bridge: BridgeOptions
    port: int = VXLAN_PORT
    vni_declared: bool = False
    vxlan: str = ""
    driver: ClassVar[str] = "overlay"


NetworkOptions = BridgeOptions | LowerOptions | OverlayOptions  # which one tells the driver


@hashed_once
@dataclass(frozen=True)
class Dns:
    """The embedded resolver's settings of a Network or an Endpoint: `ttl` of the network's names
    (None on an Endpoint), `servers` other names are forwarded to (None: the network's, else the host's)."""

    ttl: int | None = None
    servers: tuple[IPAddress, ...] | None = None


@dataclass(frozen=True)
class Network:
    """A Network manifest. Its `options` are its driver's: per-driver code narrows them with isinstance."""

    name: str
    subnets: tuple[Subnet, ...]
    options: NetworkOptions
    internal: bool = False
    mtu: int | None = 1500
    enable_ipv6: bool = False
    enable_ipv4: bool = True
    labels: tuple[tuple[str, str], ...] = ()
    dns: Dns = field(default_factory=lambda: Dns())
    source: Document | None = field(default=None, compare=False, repr=False)
    auto_subnet: bool = False  # no `ipam`, or `ipam: {subnet: auto}`: subnets picked from the address pools
    dhcp: bool = False  # `ipam: {mode: dhcp}`: the LAN's DHCP server gives the addresses (macvlan, ipvlan l2)

    @property
    def driver(self) -> str:
        return self.options.driver

    @property
    def bridge(self) -> BridgeOptions | None:
        """The bridge this network builds: a bridge network's, or an overlay network's on each host."""
        if isinstance(self.options, OverlayOptions):
            return self.options.bridge
        return self.options if isinstance(self.options, BridgeOptions) else None

    @property
    def lower(self) -> LowerOptions | None:
        return self.options if isinstance(self.options, LowerOptions) else None

    @property
    def overlay(self) -> OverlayOptions | None:
        return self.options if isinstance(self.options, OverlayOptions) else None

    @property
    def owner(self) -> str:
        return f"network/{self.name}"

    def first_subnet(self, version: int) -> Subnet | None:
        return next((s for s in self.subnets if s.version == version), None)

    @property
    def l3(self) -> bool:
        """ipvlan l3/l3s: no gateway on the segment, the default route is `default dev <iface>`."""
        return isinstance(self.options, LowerOptions) and self.driver == "ipvlan" and self.options.mode in ("l3", "l3s")

    @property
    def parent(self) -> str | None:
        """The link the endpoints' macvlan/ipvlan interfaces hang off (a dummy one when none is given)."""
        if not isinstance(self.options, LowerOptions):
            return None
        return self.options.parent or dummy_parent_name(self.name)


@hashed_once
@dataclass(frozen=True)
class Interface:
    """One interface of an endpoint, attached to a network."""

    network: str
    name: str
    ipv4_address: IPv4Address | None = None
    ipv6_address: IPv6Address | None = None
    mac_address: str | None = None
    index: int = 0
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Port:
    """A published port: hostIp:hostPort/protocol on the host goes to containerPort of the endpoint."""

    host_port: int
    container_port: int
    protocol: str = "tcp"
    host_ip: IPAddress | None = None  # None: every address of the host
    network: str = ""
    index: int = 0

    @property
    def exposure(self) -> str:
        return f"{self.host_ip or '0.0.0.0'}:{self.host_port}/{self.protocol}"


@hashed_once
@dataclass(frozen=True)
class Endpoint:
    """An Endpoint manifest: a network namespace acting as a container."""

    name: str
    netns: str
    interfaces: tuple[Interface, ...]
    sysctls: tuple[tuple[str, str], ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    host: str | None = None
    ports: tuple[Port, ...] = ()
    dns: Dns = field(default_factory=lambda: Dns())
    source: Document | None = field(default=None, compare=False, repr=False)

    @property
    def owner(self) -> str:
        return f"endpoint/{self.name}"

    def interface_on(self, network: str) -> Interface | None:
        return next((i for i in self.interfaces if i.network == network), None)


@dataclass(frozen=True)
class ServicePort:
    """A port of a service: the one it is reached on, the endpoint's it goes to (targetPort), its protocol."""

    port: int
    target_port: int
    protocol: str = "tcp"
    host_port: int | None = None
    index: int = 0
    publish: str | None = None  # ingress | host; None: ingress on an overlay network, else host


@dataclass(frozen=True)
class Service:
    """A Service manifest: a VIP on `network`, balanced over the endpoints whose labels match `selector`."""

    name: str
    network: str
    selector: tuple[tuple[str, str], ...]
    ports: tuple[ServicePort, ...]
    vip: IPv4Address | None = None
    endpoint_mode: str = "vip"  # or "dnsrr": no VIP, the name resolves to the backends
    traffic_policy: str = "cluster"  # or "local": only this host's backends, the client's address kept
    affinity: str = "none"  # or "clientIP": a hash of the client's address picks the backend
    source: Document | None = field(default=None, compare=False, repr=False)

    @property
    def owner(self) -> str:
        return f"service/{self.name}"

    @property
    def has_vip(self) -> bool:
        return self.endpoint_mode == "vip"

    def selects(self, endpoint: Endpoint) -> bool:
        return set(self.selector) <= set(endpoint.labels) and endpoint.interface_on(self.network) is not None


@dataclass(frozen=True)
class Host:
    """A Host manifest: a machine applying the same manifests; `address` is its underlay address (VTEP)."""

    name: str
    address: IPAddress
    interface: str | None = None
    source: Document | None = field(default=None, compare=False, repr=False)

    @property
    def vxlan_overhead(self) -> int:
        return VXLAN_OVERHEAD if self.address.version == 4 else VXLAN_OVERHEAD_V6


@dataclass(frozen=True)
class Pool:
    """An address pool: `base` cut into subnets of prefix length `size`."""

    base: IPNetwork
    size: int

    @property
    def version(self) -> int:
        return self.base.version

    def __str__(self) -> str:
        return f"{self.base} in /{self.size}s"


@dataclass(frozen=True)
class AddressPools:
    """An AddressPools manifest: the pools automatic subnets come from, in place of the default ones."""

    name: str
    pools: tuple[Pool, ...]
    source: Document | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Manifests:
    """Everything declared in one set of manifest paths."""

    networks: tuple[Network, ...] = ()
    endpoints: tuple[Endpoint, ...] = ()
    hosts: tuple[Host, ...] = ()
    services: tuple[Service, ...] = ()
    address_pools: tuple[AddressPools, ...] = ()  # at most one (validation)
    host: str | None = None  # the Host these manifests are applied on (None: no Hosts are declared)
    # What `attached` answers, made by whoever has it at hand (the watch's cache, from each file's), for
    # these very endpoints: a copy with other endpoints makes its own.
    attached_index: tuple[tuple[Endpoint, ...], Attached] | None = field(default=None, compare=False, repr=False)

    def network(self, name: str) -> Network:
        return self._networks_by_name[name]

    @cached_property
    def _networks_by_name(self) -> dict[str, Network]:
        return {n.name: n for n in self.networks}

    def host_named(self, name: str | None) -> Host | None:
        return next((h for h in self.hosts if h.name == name), None)

    def is_local(self, endpoint: Endpoint) -> bool:
        return not self.hosts or endpoint.host == self.host

    @property
    def local_endpoints(self) -> tuple[Endpoint, ...]:
        """The endpoints that live on this host (all of them when no Hosts are declared)."""
        if not self.hosts:  # the common case, asked several times a plan: no pass over thousands
            return self.endpoints
        return tuple(e for e in self.endpoints if self.is_local(e))

    @property
    def local_networks(self) -> tuple[Network, ...]:
        """The networks this host takes part in: all without Hosts; else those its endpoints use, and
        every overlay network a Service publishes a port of with `publish: ingress` (the routing mesh)."""
        if not self.hosts:
            return self.networks
        used = {i.network for e in self.local_endpoints for i in e.interfaces}
        return tuple(n for n in self.networks if n.name in used or self.ingress_network(n.name))

    def ingress_network(self, network: str) -> bool:
        """An overlay network with a Service port published on every host (`publish: ingress`)."""
        return any(s.network == network and any(self.publish_of(s, p) == "ingress" for p in s.ports)
                   for s in self.services if s.has_vip and s.ports)

    def publish_of(self, service: Service, port: ServicePort) -> str | None:
        """How a port with a hostPort is published: as declared, else `ingress` on an overlay network
        and `host` elsewhere; None without a hostPort."""
        if port.host_port is None:
            return None
        network = self._networks_by_name.get(service.network)
        return port.publish or ("ingress" if network is not None and network.overlay is not None else "host")

    @cached_property
    def owners(self) -> frozenset[str]:
        declared: list[Network | Endpoint | Service] = [*self.networks, *self.endpoints, *self.services]
        return frozenset(o.owner for o in declared)

    def attached(self, network: str) -> tuple[tuple[Endpoint, Interface], ...]:
        """The interfaces on `network`, each with its endpoint, in manifest order."""
        return self._attached.get(network, ())

    @cached_property
    def _attached(self) -> Attached:
        if self.attached_index is not None and self.attached_index[0] is self.endpoints:
            return self.attached_index[1]
        return attached_by_network(self.endpoints)


Attached = Mapping[str, tuple[tuple[Endpoint, Interface], ...]]  # the interfaces on each network, with their endpoint


def attached_by_network(endpoints: Iterable[Endpoint]) -> dict[str, tuple[tuple[Endpoint, Interface], ...]]:
    """The interfaces on each network, each with its endpoint, in manifest order."""
    found: dict[str, list[tuple[Endpoint, Interface]]] = {}
    for e in endpoints:  # one pass: a pass per network would make N x networks
        for i in e.interfaces:
            found.setdefault(i.network, []).append((e, i))
    return {network: tuple(pairs) for network, pairs in found.items()}


def vip_endpoint(service: Service) -> Endpoint:
    """A Service's VIP is allocated as if it were an endpoint of its network (never a valid endpoint name)."""
    vip = Interface(network=service.network, name="vip", ipv4_address=service.vip)
    return Endpoint(name=vip_name(service.name), netns="", interfaces=(vip,), source=service.source)


def shim_endpoint(network: Network) -> Endpoint | None:
    """hostAccess: the host takes part in the network through a shim, with an allocated address."""
    if not isinstance(network.options, LowerOptions) or not network.options.host_access:
        return None
    shim = Interface(network=network.name, name=shim_ifname(network.name))
    return Endpoint(name=HOST_SHIM, netns="", interfaces=(shim,), source=network.source)


def where(obj: Network | Endpoint, *path: str | int) -> Location:
    return obj.source.where(*path) if obj.source else Location("?")
