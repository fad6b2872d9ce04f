"""Semantic checks of `ipam: {mode: dhcp}`: only where endpoints join a LAN at layer 2 (macvlan, ipvlan
l2) through a parent, and nothing that the LAN's DHCP server decides is given in the manifests."""

from __future__ import annotations

from reconciler.errors import Problem
from reconciler.input.spec import Manifests, Network
from reconciler.input.validate_common import problem

SERVER_DECIDES = ("subnet", "subnets", "gateway", "ipRange", "auxAddresses")


def dhcp_problems(m: Manifests) -> list[Problem]:
    problems: list[Problem] = []
    for network in (n for n in m.networks if n.dhcp):
        problems += _network_problems(network)
    dhcp = {n.name for n in m.networks if n.dhcp}
    for endpoint in m.endpoints:
        for iface in (i for i in endpoint.interfaces if i.network in dhcp):
            for field_name, address in (("ipv4Address", iface.ipv4_address), ("ipv6Address", iface.ipv6_address)):
                if address is not None:
                    message = (f"{field_name} {address}: network {iface.network!r} takes its addresses from the "
                               "LAN's DHCP server (ipam mode dhcp): remove it, or reserve it on the server")
                    problems.append(problem(endpoint, message, "spec", "interfaces", iface.index, field_name))
    for service in (s for s in m.services if s.network in dhcp):
        message = f"network {service.network!r} takes its addresses from the LAN's DHCP server (ipam mode dhcp): a Service needs a network whose subnet is declared"
        problems.append(problem(service, message, "spec", "network"))
    return problems


def _network_problems(network: Network) -> list[Problem]:
    lower = network.lower
    if lower is None or network.l3:
        what = f"ipvlan {lower.mode}" if lower is not None else network.driver
        article = "an" if what[0] in "aeiou" else "a"
        message = (f"ipam mode dhcp: {article} {what} network does not join a LAN at layer 2; only macvlan and "
                   "ipvlan l2 networks take their addresses from the LAN's DHCP server")
        return [problem(network, message, "spec", "ipam", "mode")]
    raw = network.source.data["spec"]["ipam"] if network.source else {}
    problems = [problem(network, f"ipam mode dhcp: {key} is the DHCP server's to decide: remove it", "spec", "ipam", key)
                for key in SERVER_DECIDES if key in raw]
    if lower.parent is None:
        problems.append(problem(network, "ipam mode dhcp needs a parent: the link to the LAN whose DHCP server gives the addresses", "spec", "ipam", "mode"))
    if network.enable_ipv6:
        problems.append(problem(network, "ipam mode dhcp gives IPv4 addresses only (DHCPv4): remove enableIPv6", "spec", "enableIPv6"))
    if lower.host_access:
        problems.append(problem(network, "hostAccess needs a declared subnet for the host's shim address: not with ipam mode dhcp", "spec", network.driver, "hostAccess"))
    return problems
