"""The typed spec read from schema-valid Documents: one parser per kind (parse_network, ...)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from typing import Any

from reconciler.input.manifest import Document
from reconciler.input.spec.naming import (
    default_bridge_name,
    derived_vni,
    overlay_link_names,
)
from reconciler.input.spec.types import (
    VXLAN_PORT,
    AddressPools,
    BridgeOptions,
    Dns,
    Endpoint,
    Host,
    Interface,
    IPAddress,
    IPNetwork,
    LowerOptions,
    Network,
    NetworkOptions,
    OverlayOptions,
    Pool,
    Port,
    Service,
    ServicePort,
    Subnet,
)

Raw = dict[str, Any]  # a mapping of a schema-valid document, as YAML loaded it


def parse_network(doc: Document) -> Network:
    spec = doc.data["spec"]
    options = _parse_options(doc.name, spec)
    lower = isinstance(options, LowerOptions)
    mtu = spec.get("mtu", 1500 if options.driver == "bridge" else None)  # macvlan/ipvlan: the parent's; overlay: underlay's - 50
    return Network(
        name=doc.name,
        subnets=tuple(_parse_subnet(s, not lower) for s in subnet_dicts(spec.get("ipam"))),
        options=options,
        internal=spec.get("internal", False) or (isinstance(options, LowerOptions) and options.parent is None),
        mtu=int(mtu) if mtu is not None else None,  # the schema's "integer" admits 1500.0
        enable_ipv6=spec.get("enableIPv6", False),
        enable_ipv4=spec.get("enableIPv4", True),
        labels=tuple(sorted(doc.data["metadata"].get("labels", {}).items())),
        dns=_parse_dns(spec.get("dns", {})),
        source=doc,
        auto_subnet=auto_subnet(spec),
        dhcp=is_dhcp(spec),
    )


def _parse_dns(raw: Raw) -> Dns:
    servers = raw.get("servers")
    return Dns(ttl=int(raw["ttl"]) if "ttl" in raw else None,
               servers=tuple(ip_address(a) for a in servers) if servers is not None else None)


AUTO = "auto"


def auto_subnet(spec: Raw) -> bool:
    """Docker's default: a bridge or overlay network without `ipam` picks its subnets from the pools,
    as does one with `ipam: {subnet: auto}` (macvlan and ipvlan share a LAN: its subnet must be given)."""
    ipam: Raw | None = spec.get("ipam")
    if not ipam:
        return spec.get("driver") in ("bridge", "overlay")
    return ipam.get("subnet") == AUTO


def _parse_options(name: str, spec: Raw) -> NetworkOptions:
    driver = spec["driver"]
    if driver == "bridge":
        return _parse_bridge(name, spec.get("bridge", {}))
    if driver == "overlay":
        return _parse_overlay(name, spec.get("overlay", {}))
    return _parse_lower(driver, spec)


def _parse_bridge(name: str, opts: Raw) -> BridgeOptions:
    return BridgeOptions(
        name=opts.get("name") or default_bridge_name(name),
        masquerade=opts.get("masquerade", True),
        icc=opts.get("icc", True),
        ipv6_mode=opts.get("ipv6Mode", "nat"),
    )


def _parse_overlay(name: str, opts: Raw) -> OverlayOptions:
    """An overlay network's VXLAN, and the bridge it builds on each host: both named from its name."""
    bridge_name, vxlan_name = overlay_link_names(name)
    return OverlayOptions(
        vni=int(opts.get("vni", derived_vni(name))),
        bridge=BridgeOptions(name=bridge_name),
        port=int(opts.get("port", VXLAN_PORT)),
        vni_declared="vni" in opts,
        vxlan=vxlan_name,
    )


DHCP = "dhcp"


def is_dhcp(spec: Raw) -> bool:
    """`ipam: {mode: dhcp}`: the addresses come from the LAN's DHCP server."""
    ipam: Raw = spec.get("ipam") or {}
    return ipam.get("mode") == DHCP


def subnet_dicts(ipam: Raw | None) -> list[Raw]:
    if not ipam or ipam.get("subnet") == AUTO or "mode" in ipam:
        return []
    subnets: list[Raw] = ipam.get("subnets", [ipam])
    return subnets


def _parse_lower(driver: str, spec: Raw) -> LowerOptions:
    """Docker: `internal` ignores the parent (a dummy one is used), as does giving none; but a DHCP
    network keeps it, its server being on the parent's LAN (internal: no default route through it)."""
    opts = spec.get(driver, {})
    parent = None if spec.get("internal", False) and not is_dhcp(spec) else opts.get("parent")
    return LowerOptions(
        driver=driver,
        parent=parent,
        mode=opts.get("mode", "bridge" if driver == "macvlan" else "l2"),
        flag=opts.get("flag", "bridge"),
        host_access=opts.get("hostAccess", False),
    )


def _parse_subnet(raw: Raw, default_gateway: bool = True) -> Subnet:
    subnet = ip_network(raw["subnet"], strict=False)
    gateway: IPAddress | None = None
    if "gateway" in raw:
        gateway = ip_address(raw["gateway"])
    elif default_gateway:
        gateway = _first_host(subnet)
    return Subnet(
        subnet=subnet,
        gateway=gateway,
        ip_range=ip_network(raw["ipRange"], strict=False) if "ipRange" in raw else None,
        aux_addresses=tuple(sorted((k, ip_address(v)) for k, v in raw.get("auxAddresses", {}).items())),
    )


def _first_host(subnet: IPNetwork) -> IPAddress:
    for host in subnet.hosts():
        return host
    return subnet.network_address


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
        dns=_parse_dns(spec.get("dns", {})),
        source=doc,
    )


def _sysctl_value(value: str | float) -> str:
    """As the kernel reads it back (observe reads values with runs of blanks collapsed): "0  1" is "0 1"."""
    return " ".join(str(int(value) if isinstance(value, float) else value).split())


def _parse_port(raw: Raw, index: int, interfaces: tuple[Interface, ...]) -> Port:
    return Port(
        host_port=int(raw["hostPort"]), container_port=int(raw["containerPort"]), protocol=raw.get("protocol", "tcp"),
        host_ip=ip_address(raw["hostIp"]) if raw.get("hostIp") and raw["hostIp"] not in ("0.0.0.0", "::") else None,
        network=raw.get("network") or (interfaces[0].network if interfaces else ""), index=index,
    )


def parse_service(doc: Document) -> Service:
    spec = doc.data["spec"]
    ports = tuple(
        ServicePort(int(p["port"]), int(p.get("targetPort", p["port"])), p.get("protocol", "tcp"),
                    int(p["hostPort"]) if "hostPort" in p else None, i, p.get("publish"))
        for i, p in enumerate(spec["ports"])
    )
    return Service(name=doc.name, network=spec["network"], selector=tuple(sorted(spec["selector"].items())),
                   ports=ports, vip=IPv4Address(spec["vip"]) if spec.get("vip") else None,
                   endpoint_mode=spec.get("endpointMode", "vip"), traffic_policy=spec.get("trafficPolicy", "cluster"),
                   affinity=spec.get("affinity", "none"), source=doc)


def parse_address_pools(doc: Document) -> AddressPools:
    pools = tuple(Pool(ip_network(p["base"], strict=False), int(p["size"])) for p in doc.data["spec"]["pools"])
    return AddressPools(name=doc.name, pools=pools, source=doc)


def parse_host(doc: Document) -> Host:
    underlay = doc.data["spec"]["underlay"]
    return Host(name=doc.name, address=ip_address(underlay["address"]), interface=underlay.get("interface"), source=doc)


def _parse_interface(raw: Raw, index: int) -> Interface:
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
