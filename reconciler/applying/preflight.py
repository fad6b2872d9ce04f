"""Checks against the kernel that change nothing, made before planning: are the parents of the
macvlan/ipvlan networks there and usable, do MTUs stay at IPv6's minimum at least, do subnets stay
clear of the host's own networks (reconciler/planning/hostnets.py), does the kernel take the endpoints'
sysctls (reconciler/kernel/sysctl_probe.py), and what must the upstream router learn (underlay hints)."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import ip_address, ip_interface
from pathlib import Path

from reconciler.errors import PreflightError
from reconciler.input.spec import Manifests, Network, where
from reconciler.input.validate_names import PARENT_NOT_OURS
from reconciler.kernel import sysctl_probe
from reconciler.planners.overlay import underlay_link
from reconciler.planning import hostnets, subnets
from reconciler.planning.plan import HostLink, Observed

MIN_MTU = 1280  # IPv6's: below it the kernel drops a link's IPv6 settings, which netreconcile writes on every link
BELOW_MINIMUM = f"below IPv6's minimum of {MIN_MTU} (the kernel then drops the link's IPv6 settings, which netreconcile writes)"


@dataclass(frozen=True)
class Findings:
    """What the preflight found: errors (nothing may be changed) and notes (warnings, hints)."""

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
    auto_errors, conflicts = subnets.findings(m, observed)
    errors += auto_errors
    notes += conflicts
    errors += sysctl_probe.problems(m.local_endpoints)
    if published(m):
        errors += bound_port_problems(m, listening())
    return Findings(tuple(dict.fromkeys(errors)), tuple(notes))  # a missing underlay: once for all its overlays


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


# /proc/net's socket tables: (protocol, table, whether only listening sockets count: TCP's state 0A).
SOCKET_TABLES = (("tcp", "tcp", True), ("tcp", "tcp6", True), ("udp", "udp", False), ("udp", "udp6", False))
LISTEN = "0A"


def listening() -> set[tuple[str, int, str]]:
    """(protocol, port, address) of the TCP sockets listening and UDP sockets bound in this namespace."""
    found: set[tuple[str, int, str]] = set()
    for protocol, name, listen_only in SOCKET_TABLES:
        try:
            table = Path(f"/proc/net/{name}").read_text()
        except OSError:
            continue
        found |= sockets(protocol, table, listen_only)
    return found


def sockets(protocol: str, table: str, listen_only: bool) -> set[tuple[str, int, str]]:
    """(protocol, port, address) of each socket in one /proc/net table (its header line skipped)."""
    found = set()
    for row in table.splitlines()[1:]:
        fields = row.split()
        local, state = fields[1], fields[3]
        if not listen_only or state == LISTEN:
            hex_address, hex_port = local.split(":")
            found.add((protocol, int(hex_port, 16), _address(hex_address)))
    return found


def _address(hex_address: str) -> str:
    """/proc/net's address: 32-bit words in host byte order (little endian here)."""
    raw = bytes.fromhex(hex_address)
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ip_address(words))


def _overlay_mtu(network: Network, m: Manifests, links: dict[str, HostLink]) -> list[str]:
    """An overlay's MTU on this host's underlay: a declared one must leave room for the VXLAN headers,
    and the underlay's less those headers (when none is declared) must not fall below IPv6's minimum."""
    host = m.host_named(m.host)
    if host is None:
        return []
    link = underlay_link(host, links)
    if host.interface and link is None:
        return [f"host {host.name}: underlay interface {host.interface} does not exist on this machine"]
    overhead = host.vxlan_overhead
    if link is not None and network.mtu is None and link.mtu - overhead < MIN_MTU:
        return [(f"{_at(network, 'metadata', 'name')}: the underlay {link.name} of host {host.name} has mtu {link.mtu}, which "
                 f"leaves {link.mtu - overhead} for the overlay (VXLAN needs {overhead} bytes), {BELOW_MINIMUM}: raise "
                 f"{link.name}'s mtu to at least {MIN_MTU + overhead}")]
    if link is not None and network.mtu is not None and network.mtu > link.mtu - overhead:
        return [(f"network {network.name}: mtu {network.mtu} is too large for the underlay {link.name} "
                 f"(mtu {link.mtu}; VXLAN needs {overhead} bytes: at most {link.mtu - overhead})")]
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
    if link.owned and not (link.kind == "vlan" and link.name == name):  # the VLAN we make on the base is fine
        return f"{what} is a {link.kind} that netreconcile manages: {PARENT_NOT_OURS}", ""
    if mtu := _lower_mtu_problem(network, link):
        return mtu, ""
    if link.master:
        return f"{what} is a port of {link.master}, and a bridge port cannot carry {network.driver} links", ""
    if not link.up:
        return "", f"warning: {what} is down; its endpoints get no traffic until it is up"
    return "", ""


def _lower_mtu_problem(network: Network, parent: HostLink) -> str:
    """A macvlan/ipvlan link takes its parent's MTU, and may not be larger: below IPv6's minimum, or
    larger than the parent, the kernel refuses what netreconcile writes."""
    if network.mtu is None and parent.mtu < MIN_MTU:
        return (f"{_at(network, 'spec', network.driver, 'parent')}: parent {parent.name} has mtu {parent.mtu}, which its "
                f"{network.driver} links take, {BELOW_MINIMUM}: raise {parent.name}'s mtu to at least {MIN_MTU}")
    if network.mtu is not None and network.mtu > parent.mtu:
        return (f"{_at(network, 'spec', 'mtu')}: mtu {network.mtu} is larger than parent {parent.name}'s ({parent.mtu}): the "
                f"kernel refuses a {network.driver} link larger than its parent")
    return ""


def _at(network: Network, *path: str) -> str:
    """`network NAME (FILE:LINE)`: where a message about it points."""
    at = where(network, *path)
    return f"network {network.name} ({at.file}:{at.line})"


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
