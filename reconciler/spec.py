"""Typed manifest objects (what the user declared), built from schema-valid Documents."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address, IPv4Network, IPv6Network, ip_address, ip_network

from reconciler.errors import Location
from reconciler.manifest import Document

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network


@dataclass(frozen=True)
class Subnet:
    """One IPAM pool of a network. `gateway` defaults to the first host address."""

    subnet: IPNetwork
    gateway: IPAddress
    ip_range: IPNetwork | None = None
    aux_addresses: tuple[tuple[str, IPAddress], ...] = ()

    @property
    def version(self) -> int:
        return self.subnet.version


@dataclass(frozen=True)
class BridgeOptions:
    name: str
    masquerade: bool = True
    icc: bool = True


@dataclass(frozen=True)
class Network:
    """A Network manifest."""

    name: str
    driver: str
    subnets: tuple[Subnet, ...]
    internal: bool = False
    mtu: int = 1500
    enable_ipv6: bool = False
    bridge: BridgeOptions | None = None
    labels: tuple[tuple[str, str], ...] = ()
    source: Document | None = field(default=None, compare=False, repr=False)

    @property
    def owner(self) -> str:
        return f"network/{self.name}"

    def first_subnet(self, version: int) -> Subnet | None:
        return next((s for s in self.subnets if s.version == version), None)


@dataclass(frozen=True)
class Interface:
    """One interface of an endpoint, attached to a network."""

    network: str
    name: str
    ipv4_address: IPv4Address | None = None
    ipv6_address: IPv6Address | None = None
    mac_address: str | None = None
    index: int = 0


@dataclass(frozen=True)
class Endpoint:
    """An Endpoint manifest: a network namespace acting as a container."""

    name: str
    netns: str
    interfaces: tuple[Interface, ...]
    sysctls: tuple[tuple[str, str], ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    source: Document | None = field(default=None, compare=False, repr=False)

    @property
    def owner(self) -> str:
        return f"endpoint/{self.name}"


@dataclass(frozen=True)
class Manifests:
    """Everything declared in one set of manifest paths."""

    networks: tuple[Network, ...] = ()
    endpoints: tuple[Endpoint, ...] = ()

    def network(self, name: str) -> Network:
        return next(n for n in self.networks if n.name == name)

    @property
    def owners(self) -> frozenset[str]:
        return frozenset(o.owner for o in (*self.networks, *self.endpoints))


def where(obj: Network | Endpoint, *path: str | int) -> Location:
    return obj.source.where(*path) if obj.source else Location("?")


def default_bridge_name(network: str) -> str:
    """`br-<name>` when it fits in 15 characters, else a stable shortened form."""
    name = f"br-{network}"
    if len(name) <= 15:
        return name
    digest = hashlib.sha256(network.encode()).hexdigest()[:4]
    return f"br-{network[:7]}-{digest}"


def parse_network(doc: Document) -> Network:
    spec = doc.data["spec"]
    driver = spec["driver"]
    bridge = None
    if driver == "bridge":
        opts = spec.get("bridge", {})
        bridge = BridgeOptions(
            name=opts.get("name") or default_bridge_name(doc.name),
            masquerade=opts.get("masquerade", True),
            icc=opts.get("icc", True),
        )
    return Network(
        name=doc.name,
        driver=driver,
        subnets=tuple(_parse_subnet(s) for s in _subnet_dicts(spec.get("ipam"))),
        internal=spec.get("internal", False),
        mtu=int(spec.get("mtu", 1500)),  # the schema's "integer" admits 1500.0
        enable_ipv6=spec.get("enableIPv6", False),
        bridge=bridge,
        labels=tuple(sorted(doc.data["metadata"].get("labels", {}).items())),
        source=doc,
    )


def _subnet_dicts(ipam: dict | None) -> list[dict]:
    if not ipam:
        return []
    return ipam["subnets"] if "subnets" in ipam else [ipam]


def _parse_subnet(raw: dict) -> Subnet:
    subnet = ip_network(raw["subnet"], strict=False)
    gateway = ip_address(raw["gateway"]) if "gateway" in raw else next(iter(subnet.hosts()), subnet.network_address)
    return Subnet(
        subnet=subnet,
        gateway=gateway,
        ip_range=ip_network(raw["ipRange"], strict=False) if "ipRange" in raw else None,
        aux_addresses=tuple(sorted((k, ip_address(v)) for k, v in raw.get("auxAddresses", {}).items())),
    )


def parse_endpoint(doc: Document) -> Endpoint:
    spec = doc.data["spec"]
    interfaces = tuple(_parse_interface(raw, i) for i, raw in enumerate(spec["interfaces"]))
    return Endpoint(
        name=doc.name,
        netns=spec.get("netns") or doc.name,
        interfaces=interfaces,
        sysctls=tuple(sorted((k, str(int(v) if isinstance(v, float) else v)) for k, v in spec.get("sysctls", {}).items())),
        labels=tuple(sorted(doc.data["metadata"].get("labels", {}).items())),
        source=doc,
    )


def _parse_interface(raw: dict, index: int) -> Interface:
    v4, v6 = raw.get("ipv4Address"), raw.get("ipv6Address")
    return Interface(
        network=raw["network"],
        name=raw.get("name") or f"eth{index}",
        ipv4_address=IPv4Address(v4) if v4 else None,
        ipv6_address=IPv6Address(v6) if v6 else None,
        mac_address=raw["macAddress"].lower() if raw.get("macAddress") else None,
        index=index,
    )
