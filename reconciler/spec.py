"""Typed manifest objects (what the user declared), built from schema-valid Documents."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from ipaddress import IPv4Address, IPv6Address, IPv4Network, IPv6Network, ip_address, ip_network

from reconciler.errors import Location
from reconciler.manifest import Document

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network


def hashed_once(cls: type) -> type:
    """A frozen dataclass that is a memo key (planners.endpoint.objects_of): its hash, deep and asked
    for on every plan, is computed once per object."""
    generated = cls.__hash__

    def __hash__(self) -> int:
        try:
            return self.__dict__["_hash"]
        except KeyError:
            value = self.__dict__["_hash"] = generated(self)
            return value

    cls.__hash__ = __hash__  # type: ignore[method-assign]
    return cls


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
    name: str
    masquerade: bool = True
    icc: bool = True
    ipv6_mode: str = "nat"


MACVLAN_MODES = ("bridge", "vepa", "private", "passthru")
IPVLAN_MODES = ("l2", "l3", "l3s")
IPVLAN_FLAGS = ("bridge", "private", "vepa")


@dataclass(frozen=True)
class LowerOptions:
    """macvlan / ipvlan options. `parent` None: an owned dummy parent, and the network is internal."""

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
    """An overlay network's VXLAN: its VNI, UDP port, and the names of its bridge and VXLAN links."""

    vni: int
    port: int = VXLAN_PORT
    vni_declared: bool = False
    vxlan: str = ""


@hashed_once
@dataclass(frozen=True)
class Network:
    """A Network manifest."""

    name: str
    driver: str
    subnets: tuple[Subnet, ...]
    internal: bool = False
    mtu: int | None = 1500
    enable_ipv6: bool = False
    enable_ipv4: bool = True
    bridge: BridgeOptions | None = None
    lower: LowerOptions | None = None
    overlay: OverlayOptions | None = None
    labels: tuple[tuple[str, str], ...] = ()
    source: Document | None = field(default=None, compare=False, repr=False)

    @property
    def owner(self) -> str:
        return f"network/{self.name}"

    def first_subnet(self, version: int) -> Subnet | None:
        return next((s for s in self.subnets if s.version == version), None)

    @property
    def l3(self) -> bool:
        """ipvlan l3/l3s: no gateway on the segment, the default route is `default dev <iface>`."""
        return self.driver == "ipvlan" and self.lower is not None and self.lower.mode in ("l3", "l3s")

    @property
    def parent(self) -> str | None:
        """The link the endpoints' macvlan/ipvlan interfaces hang off (a dummy one when none is given)."""
        if self.lower is None:
            return None
        return self.lower.parent or dummy_parent_name(self.name)


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
    source: Document | None = field(default=None, compare=False, repr=False)

    @property
    def owner(self) -> str:
        return f"endpoint/{self.name}"

    def interface_on(self, network: str) -> Interface | None:
        return next((i for i in self.interfaces if i.network == network), None)


@dataclass(frozen=True)
class ServicePort:
    port: int
    target_port: int
    protocol: str = "tcp"
    host_port: int | None = None
    index: int = 0


@dataclass(frozen=True)
class Service:
    """A Service manifest: a VIP on `network`, balanced over the endpoints whose labels match `selector`."""

    name: str
    network: str
    selector: tuple[tuple[str, str], ...]
    ports: tuple[ServicePort, ...]
    vip: IPv4Address | None = None
    source: Document | None = field(default=None, compare=False, repr=False)

    @property
    def owner(self) -> str:
        return f"service/{self.name}"

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
class Manifests:
    """Everything declared in one set of manifest paths."""

    networks: tuple[Network, ...] = ()
    endpoints: tuple[Endpoint, ...] = ()
    hosts: tuple[Host, ...] = ()
    services: tuple[Service, ...] = ()
    host: str | None = None  # the Host these manifests are applied on (None: no Hosts are declared)

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
        return tuple(e for e in self.endpoints if self.is_local(e))

    @property
    def local_networks(self) -> tuple[Network, ...]:
        """The networks this host takes part in: all without Hosts; else those its endpoints use."""
        if not self.hosts:
            return self.networks
        used = {i.network for e in self.local_endpoints for i in e.interfaces}
        return tuple(n for n in self.networks if n.name in used)

    @property
    def owners(self) -> frozenset[str]:
        return frozenset(o.owner for o in (*self.networks, *self.endpoints, *self.services))


# Links we name ourselves in the host namespace: veth host ends (`nr-`, planners.context.host_ifname),
# hostAccess shims, macvlan/ipvlan links in transit (appliers.lower), dummy parents, overlay bridges
# and VXLAN links. A declared bridge must not look like one of them.
GENERATED_PREFIXES = ("nr-", "nrs-", "nrt-", "dm-", "ov-", "vx-")

HOST_SHIM = "@host"  # the allocation name of a hostAccess shim: never a valid endpoint name


def shim_ifname(network: str) -> str:
    """The host's shim interface of a macvlan/ipvlan network with hostAccess (`nrs-` + 10 hex)."""
    return "nrs-" + hashlib.sha256(network.encode()).hexdigest()[:10]


def vip_endpoint(service: Service) -> Endpoint:
    """A Service's VIP is allocated as if it were an endpoint of its network (never a valid endpoint name)."""
    vip = Interface(network=service.network, name="vip", ipv4_address=service.vip)
    return Endpoint(name=f"@service/{service.name}", netns="", interfaces=(vip,), source=service.source)


def shim_endpoint(network: Network) -> Endpoint | None:
    """hostAccess: the host takes part in the network through a shim, with an allocated address."""
    if network.lower is None or not network.lower.host_access:
        return None
    shim = Interface(network=network.name, name=shim_ifname(network.name))
    return Endpoint(name=HOST_SHIM, netns="", interfaces=(shim,), source=network.source)


def where(obj: Network | Endpoint, *path: str | int) -> Location:
    return obj.source.where(*path) if obj.source else Location("?")


def default_bridge_name(network: str) -> str:
    """`br-<name>` when it fits in 15 characters, else a stable shortened form."""
    name = f"br-{network}"
    if len(name) <= 15:
        return name
    digest = hashlib.sha256(network.encode()).hexdigest()[:4]
    return f"br-{network[:7]}-{digest}"


def overlay_link_names(network: str) -> tuple[str, str]:
    """The bridge and VXLAN link of an overlay network: the same on every host."""
    digest = hashlib.sha256(network.encode()).hexdigest()
    return "ov-" + digest[:12], "vx-" + digest[:12]


def derived_vni(network: str) -> int:
    """A VNI from the network's name (1 .. 2^24-1): every host derives the same one."""
    return int.from_bytes(hashlib.sha256(f"vni\0{network}".encode()).digest()[:4], "big") % 0xFFFFFF + 1


def dummy_parent_name(network: str) -> str:
    """The owned dummy parent of a macvlan/ipvlan network declared without one (Docker: `dm-<id>`)."""
    return "dm-" + hashlib.sha256(network.encode()).hexdigest()[:12]


def parse_network(doc: Document) -> Network:
    spec = doc.data["spec"]
    driver = spec["driver"]
    bridge, lower = None, None
    if driver == "bridge":
        opts = spec.get("bridge", {})
        bridge = BridgeOptions(
            name=opts.get("name") or default_bridge_name(doc.name),
            masquerade=opts.get("masquerade", True),
            icc=opts.get("icc", True),
            ipv6_mode=opts.get("ipv6Mode", "nat"),
        )
    elif driver in ("macvlan", "ipvlan"):
        lower = _parse_lower(driver, spec)
    overlay = None
    if driver == "overlay":
        opts = spec.get("overlay", {})
        bridge_name, vxlan_name = overlay_link_names(doc.name)
        bridge = BridgeOptions(name=bridge_name)
        overlay = OverlayOptions(vni=int(opts.get("vni", derived_vni(doc.name))), port=int(opts.get("port", VXLAN_PORT)),
                                 vni_declared="vni" in opts, vxlan=vxlan_name)
    internal = spec.get("internal", False) or (lower is not None and lower.parent is None)
    mtu = spec.get("mtu", 1500 if driver == "bridge" else None)  # macvlan/ipvlan: the parent's; overlay: underlay's - 50
    return Network(
        name=doc.name,
        driver=driver,
        subnets=tuple(_parse_subnet(s, driver in ("bridge", "overlay")) for s in subnet_dicts(spec.get("ipam"))),
        internal=internal,
        mtu=int(mtu) if mtu is not None else None,  # the schema's "integer" admits 1500.0
        enable_ipv6=spec.get("enableIPv6", False),
        enable_ipv4=spec.get("enableIPv4", True),
        bridge=bridge,
        lower=lower,
        overlay=overlay,
        labels=tuple(sorted(doc.data["metadata"].get("labels", {}).items())),
        source=doc,
    )


def subnet_dicts(ipam: dict | None) -> list[dict]:
    if not ipam:
        return []
    return ipam["subnets"] if "subnets" in ipam else [ipam]


def _parse_lower(driver: str, spec: dict) -> LowerOptions:
    """Docker: `internal` ignores the parent (a dummy one is used), as does giving none."""
    opts = spec.get(driver, {})
    parent = None if spec.get("internal", False) else opts.get("parent")
    return LowerOptions(
        parent=parent,
        mode=opts.get("mode", "bridge" if driver == "macvlan" else "l2"),
        flag=opts.get("flag", "bridge"),
        host_access=opts.get("hostAccess", False),
    )


def _parse_subnet(raw: dict, default_gateway: bool = True) -> Subnet:
    subnet = ip_network(raw["subnet"], strict=False)
    if "gateway" in raw:
        gateway = ip_address(raw["gateway"])
    else:
        gateway = next(iter(subnet.hosts()), subnet.network_address) if default_gateway else None
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
        sysctls=tuple(sorted((k, _sysctl_value(v)) for k, v in spec.get("sysctls", {}).items())),
        labels=tuple(sorted(doc.data["metadata"].get("labels", {}).items())),
        host=spec.get("host"),
        ports=tuple(_parse_port(raw, i, interfaces) for i, raw in enumerate(spec.get("ports", []))),
        source=doc,
    )


def _sysctl_value(value: str | float) -> str:
    """As the kernel reads it back (observe reads values with runs of blanks collapsed): "0  1" is "0 1"."""
    return " ".join(str(int(value) if isinstance(value, float) else value).split())


def _parse_port(raw: dict, index: int, interfaces: tuple[Interface, ...]) -> Port:
    return Port(
        host_port=int(raw["hostPort"]), container_port=int(raw["containerPort"]), protocol=raw.get("protocol", "tcp"),
        host_ip=ip_address(raw["hostIp"]) if raw.get("hostIp") and raw["hostIp"] not in ("0.0.0.0", "::") else None,
        network=raw.get("network") or (interfaces[0].network if interfaces else ""), index=index,
    )


def parse_service(doc: Document) -> Service:
    spec = doc.data["spec"]
    ports = tuple(
        ServicePort(int(p["port"]), int(p.get("targetPort", p["port"])), p.get("protocol", "tcp"),
                    int(p["hostPort"]) if "hostPort" in p else None, i)
        for i, p in enumerate(spec["ports"])
    )
    return Service(name=doc.name, network=spec["network"], selector=tuple(sorted(spec["selector"].items())),
                   ports=ports, vip=IPv4Address(spec["vip"]) if spec.get("vip") else None, source=doc)


def parse_host(doc: Document) -> Host:
    underlay = doc.data["spec"]["underlay"]
    return Host(name=doc.name, address=ip_address(underlay["address"]), interface=underlay.get("interface"), source=doc)


def _parse_interface(raw: dict, index: int) -> Interface:
    v4, v6 = raw.get("ipv4Address"), raw.get("ipv6Address")
    return Interface(
        network=raw["network"],
        name=raw.get("name") or f"eth{index}",
        ipv4_address=IPv4Address(v4) if v4 else None,
        ipv6_address=IPv6Address(v6) if v6 else None,
        mac_address=raw["macAddress"].lower() if raw.get("macAddress") else None,
        index=index,
        aliases=tuple(raw.get("aliases", ())),
    )
