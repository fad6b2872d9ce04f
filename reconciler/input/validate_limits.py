"""Values that would fail mid-apply or cut the host off: subnets over ranges the host uses itself,
CIDRs with host bits, MACs no interface can take, sysctl values the kernel cannot take, bridges fuller
than a Linux bridge can be."""

from __future__ import annotations

from collections import defaultdict
from ipaddress import IPv4Network, IPv6Network, ip_interface

from reconciler.errors import Problem
from reconciler.input.spec import (
    Endpoint,
    Host,
    IPNetwork,
    Manifests,
    Network,
    subnet_dicts,
)
from reconciler.model import sysctl_interface

# Ranges the host itself uses: a network over them would take the host's own loopback, link-local or
# multicast traffic (its firewall rules drop what reaches the bridge's subnet from elsewhere).
SPECIAL = (
    (IPv4Network("127.0.0.0/8"), "loopback"), (IPv4Network("169.254.0.0/16"), "link-local"),
    (IPv4Network("224.0.0.0/4"), "multicast"), (IPv4Network("0.0.0.0/8"), "'this network'"),
    (IPv4Network("240.0.0.0/4"), "reserved"),
    (IPv6Network("::1/128"), "loopback"), (IPv6Network("fe80::/10"), "link-local"), (IPv6Network("ff00::/8"), "multicast"),
    (IPv6Network("::/128"), "the unspecified address"), (IPv6Network("::ffff:0:0/96"), "IPv4-mapped"),
)
SHORTEST_PREFIX = {4: 8, 6: 16}
PRIVATE = {4: "10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16", 6: "fd00::/8"}
BRIDGE_PORTS = 1023  # a Linux bridge numbers its ports 1..1023 (BR_MAX_PORTS 1024, port 0 unused)
SYSCTL_VALUE_BYTES = 4095  # the most the kernel reads from one write to /proc/sys (a page, less its NUL)


def limit_problems(m: Manifests, endpoints: bool = True) -> list[Problem]:
    """Values that would fail mid-apply (without `endpoints`, leaving out those of each endpoint alone:
    endpoint_limit_problems)."""
    problems = []
    for network in m.networks:
        problems += _cidr_problems(network)
    for endpoint in m.endpoints if endpoints else ():
        problems += endpoint_limit_problems(endpoint)
    for host in m.hosts:
        problems += _underlay_problems(host)
    return problems + _port_problems(m)


def endpoint_limit_problems(endpoint: Endpoint) -> list[Problem]:
    """The checks of limit_problems that look at one endpoint alone."""
    return _mac_problems(endpoint) + _sysctl_problems(endpoint)


def _problem(obj: Network | Endpoint | Host, message: str, *path: str | int) -> Problem:
    assert obj.source is not None
    return obj.source.problem(message, *path)


def _cidr_problems(network: Network) -> list[Problem]:
    ipam = (network.source.data["spec"].get("ipam") if network.source else None) or {}
    problems = []
    for index, raw in enumerate(subnet_dicts(ipam)):
        path = ("spec", "ipam", "subnets", index) if "subnets" in ipam else ("spec", "ipam")
        for field in ("subnet", "ipRange"):
            if field in raw:
                problems += _host_bits(network, field, raw[field], (*path, field))
        if fault := special_range(ip_interface(raw["subnet"]).network):
            problems.append(_problem(network, f"subnet {raw['subnet']} {fault}", *path, "subnet"))
    return problems


def _host_bits(network: Network, field: str, written: str, path: tuple[str | int, ...]) -> list[Problem]:
    given = ip_interface(written)
    if given.ip == given.network.network_address:
        return []
    return [_problem(network, f"{field} {written} has host bits set: the network is {given.network} (write that)", *path)]


def special_range(net: IPNetwork) -> str | None:
    """Why a subnet cannot be a network's, or None: it overlaps a range the host uses itself, or is
    wider than any network needs (it would take in such ranges and the host's own LAN)."""
    for special, what in SPECIAL:
        if special.version == net.version and net.overlaps(special):
            return f"overlaps {special} ({what}), which the host uses itself: choose a subnet inside a private range ({PRIVATE[net.version]})"
    if net.prefixlen < SHORTEST_PREFIX[net.version]:
        return f"is wider than /{SHORTEST_PREFIX[net.version]}: it would take in ranges the host uses itself; declare a smaller one"
    return None


def _underlay_problems(host: Host) -> list[Problem]:
    """A VTEP's address is where the other hosts send the network's traffic: one of this host's own."""
    address = host.address
    what = ("the unspecified address" if address.is_unspecified else "a loopback address" if address.is_loopback
            else "a multicast address" if address.is_multicast else "the broadcast address" if str(address) == "255.255.255.255"
            else None)
    if what is None:
        return []
    return [_problem(host, f"underlay address {address} is {what}: a VTEP needs an address of this host that the others reach",
                     "spec", "underlay", "address")]


def _mac_problems(endpoint: Endpoint) -> list[Problem]:
    problems = []
    for iface in endpoint.interfaces:
        mac = iface.mac_address
        if mac is None:
            continue
        octets = bytes.fromhex(mac.replace(":", ""))
        if octets[0] & 1:
            problems.append(_problem(endpoint, f"macAddress {mac} is a multicast address (the first octet is odd): an interface needs a unicast one",
                                     "spec", "interfaces", iface.index, "macAddress"))
        elif not any(octets):
            problems.append(_problem(endpoint, f"macAddress {mac} is all zeros: the kernel gives no interface that address",
                                     "spec", "interfaces", iface.index, "macAddress"))
    return problems


def _sysctl_problems(endpoint: Endpoint) -> list[Problem]:
    problems = []
    for key, value in endpoint.sysctls:
        fault = sysctl_value_fault(value) or _interface_fault(endpoint, key)
        if fault:
            problems.append(_problem(endpoint, f"sysctls.{key}: {fault}", "spec", "sysctls", key))
    return problems


def _interface_fault(endpoint: Endpoint, key: str) -> str | None:
    """A per-interface sysctl names an interface the endpoint's namespace has (its own, or lo), and not
    one netreconcile keeps in step with the network itself."""
    name = sysctl_interface(key)
    if name is None:
        return None
    own = [i.name for i in endpoint.interfaces]
    if name not in (*own, "lo"):
        return f"{name!r} is not an interface of this endpoint (it has {', '.join([*own, 'lo'])})"
    if key == f"net.ipv6.conf.{name}.disable_ipv6" and name != "lo":
        return "netreconcile sets it on every interface it makes, from the network's enableIPv6"
    return None


def sysctl_value_fault(value: str) -> str | None:
    """Why `value` (spaces already collapsed) cannot be written to /proc/sys, or None."""
    if not value:
        return "the value is empty: the kernel takes no empty value"
    if "/" in value:
        return f"the value {value!r} contains '/', which no sysctl value has"
    if len(value.encode()) > SYSCTL_VALUE_BYTES:
        return f"the value is {len(value.encode())} bytes long: the kernel reads at most {SYSCTL_VALUE_BYTES}"
    return None


def _port_problems(m: Manifests) -> list[Problem]:
    """A bridge network's bridge holds every local endpoint's veth (an overlay's also its VXLAN link)."""
    attached: dict[tuple[str, str | None], list[Endpoint]] = defaultdict(list)
    for endpoint in m.endpoints:
        for iface in endpoint.interfaces:
            attached[(iface.network, endpoint.host)].append(endpoint)
    problems = []
    for network in m.networks:
        if network.driver not in ("bridge", "overlay"):
            continue
        room = BRIDGE_PORTS - (network.driver == "overlay")
        for (name, host), endpoints in attached.items():
            if name == network.name and len(endpoints) > room:
                problems.append(_full_bridge(network, host, endpoints, room))
    return problems


def _full_bridge(network: Network, host: str | None, endpoints: list[Endpoint], room: int) -> Problem:
    first_over = endpoints[room]
    where = first_over.source.where("metadata", "name") if first_over.source else "?"
    on = f" on host {host!r}" if host else ""
    vxlan = " less its VXLAN link" if network.driver == "overlay" else ""
    message = (f"{len(endpoints)} endpoints attach to network {network.name!r}{on}: a Linux bridge holds {BRIDGE_PORTS} ports{vxlan}, "
               f"room for {room} (the first over is {first_over.name!r}, at {where})")
    return _problem(network, message, "metadata", "name")
