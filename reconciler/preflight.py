"""Checks against the kernel that change nothing, made before planning: are the parents of the
macvlan/ipvlan networks there and usable, do subnets stay clear of the host's own networks
(reconciler/hostnets.py), and what must the upstream router learn (underlay hints)."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import ip_address, ip_interface

from reconciler import hostnets
from reconciler.errors import ConflictError
from reconciler.plan import HostLink, Observed
from reconciler.planners.overlay import underlay_link
from reconciler.spec import Manifests, Network


class PreflightError(ConflictError):
    """The host lacks something the manifests need (a parent link); nothing was changed."""


@dataclass(frozen=True)
class Findings:
    errors: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def check(m: Manifests, observed: Observed) -> Findings:
    """Problems with parents (errors), parents that are down, and underlay hints (notes)."""
    if observed.host_links is None:  # not read from a kernel (planner fixtures): nothing to check
        return Findings()
    errors: list[str] = []
    notes: list[str] = []
    for network in m.local_networks:
        if network.lower is not None and network.lower.parent is not None:
            error, note = _parent(network, observed.host_links)
            errors += [error] if error else []
            notes += [note] if note else []
        notes += underlay_hints(network, observed.host_links)
        if network.overlay is not None:
            errors += _overlay_mtu(network, m, observed.host_links)
    errors += hostnets.problems(m.local_networks, observed.host_links, observed.host_routes or ())
    if published(m):
        errors += bound_port_problems(m, listening())
    return Findings(tuple(errors), tuple(notes))


def published(m: Manifests) -> list[tuple[str, str, int, str | None]]:
    """(who, protocol, host port, host address or None for all) of everything published on this host."""
    out = [(f"endpoint {e.name}", p.protocol, p.host_port, str(p.host_ip) if p.host_ip else None)
           for e in m.local_endpoints for p in e.ports]
    local = {n.name for n in m.local_networks}
    out += [(f"service {s.name}", p.protocol, p.host_port, None)
            for s in m.services if s.network in local for p in s.ports if p.host_port is not None]
    return out


def bound_port_problems(m: Manifests, sockets: set[tuple[str, int, str]]) -> list[str]:
    """A host port that a process on this host already holds cannot be published (DNAT would hide it)."""
    problems = []
    for who, protocol, port, address in published(m):
        held = sorted(a for proto, p, a in sockets if (proto, p) == (protocol, port)
                      and (address is None or a in (address, "0.0.0.0", "::")))
        if held:
            problems.append(f"{who}: {address or '0.0.0.0'}:{port}/{protocol} is already bound by a process on this "
                            f"host (on {held[0]})")
    return problems


def listening() -> set[tuple[str, int, str]]:
    """(protocol, port, address) of the TCP sockets listening and UDP sockets bound in this namespace."""
    found = set()
    for protocol, name, listen_only in (("tcp", "tcp", True), ("tcp", "tcp6", True), ("udp", "udp", False),
                                        ("udp", "udp6", False)):
        try:
            lines = open(f"/proc/net/{name}").read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state = fields[1], fields[3]
            if listen_only and state != "0A":
                continue
            hex_address, hex_port = local.split(":")
            found.add((protocol, int(hex_port, 16), _address(hex_address)))
    return found


def _address(hex_address: str) -> str:
    """/proc/net's address: 32-bit words in host byte order (little endian here)."""
    raw = bytes.fromhex(hex_address)
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ip_address(words))


def _overlay_mtu(network: Network, m: Manifests, links: dict[str, HostLink]) -> list[str]:
    """A declared overlay MTU must leave room for the VXLAN headers on this host's underlay."""
    host = m.host_named(m.host)
    if host is None or network.mtu is None:
        return []
    link = underlay_link(host, links)
    if host.interface and link is None:
        return [f"host {host.name}: underlay interface {host.interface} does not exist on this machine"]
    overhead = host.vxlan_overhead
    if link is not None and network.mtu > link.mtu - overhead:
        return [f"network {network.name}: mtu {network.mtu} is too large for the underlay {link.name} "
                f"(mtu {link.mtu}; VXLAN needs {overhead} bytes: at most {link.mtu - overhead})"]
    return []


def require(m: Manifests, observed: Observed) -> tuple[str, ...]:
    """The notes, or PreflightError with every error."""
    findings = check(m, observed)
    if findings.errors:
        raise PreflightError(list(findings.errors))
    return findings.notes


def _parent(network: Network, links: dict[str, HostLink]) -> tuple[str, str]:
    """(error, note) for the parent of one network; empty strings when all is well."""
    lower = network.lower
    assert lower is not None and lower.parent is not None, "a macvlan or ipvlan network with a parent"
    name = lower.parent
    who = f"network {network.name}: parent {name}"
    link = links.get(name)
    if link is None and lower.vlan is not None:
        base = lower.vlan[0]
        link = links.get(base)  # netreconcile makes the sub-interface on it
        if link is None:
            return f"{who} is a VLAN of {base}, which does not exist on this host", ""
    elif link is None:
        return f"{who} does not exist on this host", ""
    what = who if link.name == name else f"{who}: its base {link.name}"
    if link.master:
        return f"{what} is a port of {link.master}, and a bridge port cannot carry {network.driver} links", ""
    if not link.up:
        return "", f"warning: {what} is down; its endpoints get no traffic until it is up"
    return "", ""


def underlay_hints(network: Network, links: dict[str, HostLink]) -> list[str]:
    """Routed subnets (ipvlan l3/l3s, a bridge's IPv6 in `ipv6Mode: routed`): the upstream router must
    send them to this host."""
    if network.bridge is not None and network.enable_ipv6 and network.bridge.ipv6_mode == "routed":
        return [f"underlay: network {network.name}'s {s.subnet} is routed (ipv6Mode: routed, no NAT): the upstream "
                f"router needs `ip -6 route add {s.subnet} via <this host's IPv6 address>`"
                for s in network.subnets if s.version == 6]
    lower = network.lower
    if not network.l3 or lower is None or lower.parent is None:
        return []
    link = links.get(lower.parent)
    hints = []
    for s in network.subnets:
        ours = [str(ip_interface(a).ip) for a in (link.addresses if link else ()) if ip_interface(a).version == s.version]
        via = ours[0] if ours else f"<this host's IPv{s.version} address on {lower.parent}>"
        hints.append(f"underlay: network {network.name} is routed (ipvlan {lower.mode}): the router of "
                     f"{lower.parent}'s segment needs `ip route add {s.subnet} via {via}`")
    return hints
