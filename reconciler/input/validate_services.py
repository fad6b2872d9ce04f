"""Semantic checks of Services and published ports: their networks, VIPs, and that each host address,
port and protocol is published once."""

from __future__ import annotations

from reconciler.errors import Problem
from reconciler.input.spec import Endpoint, Manifests, Service
from reconciler.input.validate_common import (
    IPAddress,
    Path,
    duplicates,
    problem,
    reserved_by,
)

NAT_DRIVERS = ("bridge", "overlay")  # published ports and services: traffic that crosses the host's netfilter


def service_problems(m: Manifests) -> list[Problem]:
    problems = duplicates(m.services, lambda s: s.name, "metadata", "name", what="service name")
    networks = {n.name: n for n in m.networks}
    statics = {a: e.name for e in m.endpoints for i in e.interfaces for a in (i.ipv4_address,) if a is not None}
    for service in m.services:
        network = networks.get(service.network)
        if network is None:
            problems.append(problem(service, f"unknown network {service.network!r}", "spec", "network"))
            continue
        if not service.has_vip:
            problems += _dnsrr_problems(service)
            continue
        if network.driver not in NAT_DRIVERS:
            message = f"network {network.name!r} is {network.driver}: services need a bridge or overlay network"
            problems.append(problem(service, message, "spec", "network"))
        if service.vip is not None and not network.auto_subnet:  # else validate_pools names it
            pools = [s for s in network.subnets if s.version == 4]
            if not any(service.vip in s.subnet for s in pools):
                problems.append(problem(service, f"vip {service.vip} is outside the subnets of network {network.name!r}", "spec", "vip"))
            elif reserved := reserved_by(service.vip, pools):
                problems.append(problem(service, f"vip {service.vip} is reserved as {reserved} of network {network.name!r}", "spec", "vip"))
            elif service.vip in statics:
                problems.append(problem(service, f"vip {service.vip} is already used by {statics[service.vip]}", "spec", "vip"))
    return problems


def _dnsrr_problems(service: Service) -> list[Problem]:
    """A dnsrr Service is names only (as Docker's --endpoint-mode dnsrr): no VIP, nothing published."""
    found = [problem(service, "endpointMode dnsrr has no VIP: remove vip, or use endpointMode vip", "spec", "vip")
             ] if service.vip is not None else []
    return found + [problem(service, "endpointMode dnsrr publishes nothing on the host (no VIP to balance): remove "
                                     "hostPort, or use endpointMode vip", "spec", "ports", p.index, "hostPort")
                    for p in service.ports if p.host_port is not None]


def exposure_problems(m: Manifests) -> list[Problem]:
    """Each host address, port and protocol is published once (all addresses overlap every one of them)."""
    networks = {n.name: n for n in m.networks}
    seen: list[tuple[str, int, IPAddress | None, str, object]] = []  # (protocol, port, ip or None, who, where)
    problems = []

    def publish(obj: Endpoint | Service, who: str, protocol: str, port: int, ip: IPAddress | None, path: Path) -> None:
        for proto, other_port, other_ip, other_who, where in seen:
            if (proto, other_port) == (protocol, port) and (ip is None or other_ip is None or ip == other_ip):
                exposure = f"{ip or '0.0.0.0'}:{port}/{protocol}"
                problems.append(problem(obj, f"{exposure} is already published by {other_who} (at {where})", *path))
                return
        seen.append((protocol, port, ip, who, obj.source.where(*path) if obj.source else "?"))

    for endpoint in m.endpoints:
        for port in endpoint.ports:
            path = ("spec", "ports", port.index)
            iface = endpoint.interface_on(port.network)
            if iface is None:
                problems.append(problem(endpoint, f"ports: network {port.network!r} is not one of this endpoint's", *path, "network"))
            elif networks.get(port.network) is not None and networks[port.network].driver not in NAT_DRIVERS:
                problems.append(problem(endpoint, f"ports: network {port.network!r} is {networks[port.network].driver}: "
                                                   "ports are published from bridge and overlay networks", *path, "network"))
            publish(endpoint, f"endpoint {endpoint.name}", port.protocol, port.host_port, port.host_ip, (*path, "hostPort"))
    for service in m.services:
        for service_port in service.ports:
            if service_port.host_port is not None:
                publish(service, f"service {service.name}", service_port.protocol, service_port.host_port, None,
                        ("spec", "ports", service_port.index, "hostPort"))
    return problems
