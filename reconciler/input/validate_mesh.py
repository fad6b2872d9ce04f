"""Semantic checks of the routing mesh: how Service ports are published and balanced (publish,
trafficPolicy, affinity), and the mesh address each host takes on an overlay network, which no
declared address may hold."""

from __future__ import annotations

from reconciler.errors import Problem
from reconciler.input.spec import (
    Manifests,
    Network,
    Service,
    mesh_address,
    mesh_networks,
)
from reconciler.input.validate_common import problem, reserved_by


def mesh_problems(m: Manifests) -> list[Problem]:
    networks = {n.name: n for n in m.networks}
    problems = [p for s in m.services for p in _publish_problems(s, networks.get(s.network))]
    problems += [p for s in m.services if not s.has_vip for p in _dnsrr_problems(s)]
    for network in mesh_networks(m):
        problems += _address_problems(m, network)
    return problems


def _publish_problems(service: Service, network: Network | None) -> list[Problem]:
    problems = []
    for port in service.ports:
        path = ("spec", "ports", port.index, "publish")
        if port.publish is not None and port.host_port is None:
            problems.append(problem(service, f"publish {port.publish} needs a hostPort: add one, or remove publish", *path))
        elif port.publish == "ingress" and network is not None and network.overlay is None:
            problems.append(problem(service, f"publish ingress needs an overlay network (network {network.name!r} is "
                                             f"{network.driver}, on one host): use publish host", *path))
    return problems


def _dnsrr_problems(service: Service) -> list[Problem]:
    """endpointMode dnsrr balances nothing: no policy or affinity of its own."""
    found = []
    if service.traffic_policy != "cluster":
        found.append(problem(service, "endpointMode dnsrr has no VIP to balance: remove trafficPolicy", "spec", "trafficPolicy"))
    if service.affinity != "none":
        found.append(problem(service, "endpointMode dnsrr has no VIP to balance: remove affinity", "spec", "affinity"))
    return found


def _address_problems(m: Manifests, network: Network) -> list[Problem]:
    """Each host's mesh address exists, and nothing declared holds it."""
    first = next(s for s in m.services if s.network == network.name and s.has_vip)
    pools = [s for s in network.subnets if s.version == 4]
    held = {i.ipv4_address: e for e in m.endpoints for i in e.interfaces if i.network == network.name and i.ipv4_address}
    vips = {s.vip: s for s in m.services if s.network == network.name and s.vip is not None}
    problems = []
    for host in sorted(m.hosts, key=lambda h: h.name):
        address = mesh_address(network, m.hosts, host.name)
        if address is None:
            if pools:
                problems.append(problem(first, f"network {network.name!r} has no room for a mesh address per host "
                                               f"({len(m.hosts)} hosts; needs a larger subnet)", "spec", "network"))
            return problems
        what = f"the mesh address of host {host.name} on network {network.name!r} (Hosts in name order take the top of the subnet)"
        if (reserved := reserved_by(address, pools)) is not None:
            problems.append(problem(network, f"{address}, {reserved}, is {what}: choose another", "spec", "ipam"))
        if address in held:
            endpoint = held[address]
            iface = next(i for i in endpoint.interfaces if i.ipv4_address == address)
            problems.append(problem(endpoint, f"ipv4Address {address} is {what}: choose another",
                                    "spec", "interfaces", iface.index, "ipv4Address"))
        if address in vips:
            problems.append(problem(vips[address], f"vip {address} is {what}: choose another", "spec", "vip"))
    return problems
