"""Load, schema-check and semantically check manifests: all problems at once, or typed Manifests."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from itertools import combinations

from reconciler.errors import ManifestError, Problem
from reconciler.input.ipam import allocate, unusable
from reconciler.input.manifest import Document, load_paths
from reconciler.input.parsed import Parsed
from reconciler.input.pools import assign
from reconciler.input.schema import schema_problems
from reconciler.input.spec import (
    Endpoint,
    Interface,
    Manifests,
    Network,
    Subnet,
    parse_address_pools,
    parse_endpoint,
    parse_host,
    parse_network,
    parse_service,
    subnet_dicts,
)
from reconciler.input.validate_common import (
    IPAddress,
    Path,
    duplicates,
    problem,
    where,
)
from reconciler.input.validate_dhcp import dhcp_problems
from reconciler.input.validate_endpoints import EndpointChecks
from reconciler.input.validate_index import EndpointIndex, Needs
from reconciler.input.validate_limits import limit_problems
from reconciler.input.validate_mesh import mesh_problems
from reconciler.input.validate_names import name_problems
from reconciler.input.validate_pools import pool_problems
from reconciler.input.validate_services import (
    exposure_problems,
    service_problems,
)

IFNAME = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")


def load_manifests(paths: Iterable[str], parsed: Parsed | None = None) -> Manifests:
    """The typed manifests under `paths`, or ManifestError naming every problem (files parsed before
    taken from `parsed`: see load_paths)."""
    problems: list[Problem] = []
    valid: defaultdict[str, list[Document]] = defaultdict(list)  # by kind, in order
    invalid_networks: set[str] = set()
    for doc in load_paths(paths, parsed):
        found = schema_problems(doc)
        problems += found
        if not found:
            valid[doc.kind].append(doc)
        elif doc.kind == "Network":
            invalid_networks.add(doc.name)
    manifests = Manifests(
        networks=tuple(parse_network(d) for d in valid["Network"]),
        endpoints=tuple(parse_endpoint(d) for d in valid["Endpoint"]),
        hosts=tuple(parse_host(d) for d in valid["Host"]),
        services=tuple(parse_service(d) for d in valid["Service"]),
        address_pools=tuple(parse_address_pools(d) for d in valid["AddressPools"]),
    )
    # Semantic checks run on the schema-valid documents too, so every problem shows in one run.
    problems += semantic_problems(manifests, invalid_networks)
    if not problems:
        problems += _allocation_problems(manifests)
    if problems:
        raise ManifestError(sorted(problems, key=lambda p: (p.where.file, p.where.line, p.where.column)))
    return manifests


def _allocation_problems(m: Manifests) -> list[Problem]:
    """Automatic subnets picked from the manifests alone (the plan picks them again against the host),
    then every address allocated."""
    try:
        allocate(assign(m)[0])
    except ManifestError as err:
        return err.problems
    return []


def semantic_problems(m: Manifests, invalid_networks: frozenset[str] | set[str] = frozenset(),
                      checks: EndpointChecks | None = None, index: EndpointIndex | None = None,
                      groups: Iterable[Sequence[Endpoint]] | None = None) -> list[Problem]:
    """Every problem the typed manifests have. The watch's cache gives what it keeps between loads:
    `checks` (those of each endpoint alone), `index` (tallies of m.endpoints: a check across endpoints
    walks them only when they may give it a problem) and `groups` (m.endpoints, file by file)."""
    needs = Needs.of(index or EndpointIndex.of(m.endpoints), m)
    problems = duplicates(m.networks, lambda n: n.name, "metadata", "name", what="network name")
    problems += duplicates(m.endpoints if needs.names else (), lambda e: e.name, "metadata", "name", what="endpoint name")
    problems += duplicates(m.endpoints if needs.netns else (), lambda e: e.netns, "spec", "netns", what="netns")
    first_of_name = {n.name: n for n in reversed(m.networks)}
    bridged = [n for n in m.networks if n.bridge and first_of_name[n.name] is n]  # a duplicate is reported once
    problems += duplicates(bridged, lambda n: n.bridge.name if n.bridge else "", "spec", "bridge", "name", what="bridge name")
    problems += _overlapping_subnets(m.networks)
    problems += _shared_parent_problems(m.networks)
    for network in m.networks:
        problems += _network_problems(network)
    problems += (checks or EndpointChecks())(groups or (m.endpoints,), {n.name: n for n in m.networks}, invalid_networks)
    problems += _address_clashes(_only(m, needs.statics))
    problems += _passthru_problems(_only(m, needs.passthru))
    problems += _host_problems(_only(m, needs.hosts))
    problems += _vni_problems(m.networks)
    problems += service_problems(_only(m, needs.vips))
    problems += mesh_problems(m)
    problems += exposure_problems(_only(m, needs.exposure))
    return (problems + name_problems(_only(m, needs.hostnames), endpoints=False)
            + limit_problems(_only(m, needs.bridge_ports), endpoints=False) + pool_problems(_only(m, needs.auto))
            + dhcp_problems(_only(m, needs.dhcp)))


def _only(m: Manifests, walk: bool) -> Manifests:
    """The manifests for a check across endpoints: without the endpoints when they cannot give it a problem."""
    return m if walk else replace(m, endpoints=())


def _host_problems(m: Manifests) -> list[Problem]:
    """Hosts: unique names and underlay addresses; once any is declared, every endpoint names its own."""
    problems = duplicates(m.hosts, lambda h: h.name, "metadata", "name", what="host name")
    problems += duplicates(m.hosts, lambda h: str(h.address), "spec", "underlay", "address", what="underlay address")
    names = {h.name for h in m.hosts}
    for endpoint in m.endpoints:
        if endpoint.host is None and m.hosts:
            problems.append(problem(endpoint, f"spec.host is required once Hosts are declared (hosts: {', '.join(sorted(names))})", "spec"))
        elif endpoint.host is not None and endpoint.host not in names:
            known = "declared: " + ", ".join(sorted(names)) if names else "no Host is declared"
            problems.append(problem(endpoint, f"unknown host {endpoint.host!r} ({known})", "spec", "host"))
    return problems


def _vni_problems(networks: tuple[Network, ...]) -> list[Problem]:
    seen: dict[int, Network] = {}
    problems = []
    for network in networks:
        if network.overlay is None:
            continue
        other = seen.setdefault(network.overlay.vni, network)
        if other is not network:
            how = "" if network.overlay.vni_declared else " (derived from its name: set spec.overlay.vni)"
            message = f"VNI {network.overlay.vni}{how} is already used by overlay network {other.name!r}"
            problems.append(problem(network, message, "spec", "overlay", "vni"))
    return problems


def _passthru_problems(m: Manifests) -> list[Problem]:
    """A passthru macvlan takes over its parent: one interface per network."""
    passthru = {n.name for n in m.networks if n.lower and n.driver == "macvlan" and n.lower.mode == "passthru"}
    seen: dict[str, Endpoint] = {}
    problems = []
    for endpoint in m.endpoints:
        for iface in endpoint.interfaces:
            if iface.network not in passthru:
                continue
            if iface.network in seen:
                message = f"network {iface.network!r} is passthru and already has its one interface (endpoint {seen[iface.network].name!r})"
                problems.append(problem(endpoint, message, "spec", "interfaces", iface.index, "network"))
            seen.setdefault(iface.network, endpoint)
    return problems


def _overlapping_subnets(networks: tuple[Network, ...]) -> list[Problem]:
    pools = [(n, i, s) for n in networks for i, s in enumerate(n.subnets)]
    problems = []
    for (n1, _, s1), (n2, i2, s2) in combinations(pools, 2):
        if s1.version == s2.version and s1.subnet.overlaps(s2.subnet):
            message = f"subnet {s2.subnet} overlaps {s1.subnet} of network {n1.name!r}"
            problems.append(problem(n2, message, *_subnet_path(n2, i2), "subnet"))
    return problems


def _subnet_path(network: Network, index: int) -> tuple[str | int, ...]:
    ipam = network.source.data["spec"].get("ipam", {}) if network.source else {}
    return ("spec", "ipam", "subnets", index) if "subnets" in ipam else ("spec", "ipam")


def _network_problems(network: Network) -> list[Problem]:
    problems = []
    if not network.subnets and not network.auto_subnet and not network.dhcp:
        problems.append(problem(network, "spec.ipam: at least one subnet is required", "spec"))
    problems += _family_problems(network)
    if network.bridge and not IFNAME.match(network.bridge.name):
        problems.append(problem(network, f"bridge name {network.bridge.name!r} is not a valid interface name", "spec"))
    for index, subnet in enumerate(network.subnets):
        problems += _subnet_problems(network, subnet, _subnet_path(network, index))
    return problems + _driver_option_problems(network) + _lower_problems(network)


def _family_problems(network: Network) -> list[Problem]:
    """IPv4 unless `enableIPv4: false` (then IPv6 only); IPv6 subnets only with `enableIPv6: true`."""
    has_v4 = network.first_subnet(4) is not None
    if not network.enable_ipv4 and not network.enable_ipv6:
        return [problem(network, "enableIPv4 and enableIPv6 are both false: the network would carry nothing", "spec", "enableIPv4")]
    if not network.enable_ipv4 and has_v4:
        return [problem(network, "enableIPv4 is false but an IPv4 subnet is given", "spec", "enableIPv4")]
    if network.enable_ipv4 and not has_v4 and network.subnets:
        return [problem(network, "no IPv4 subnet: add one, or set enableIPv4: false for an IPv6-only network", "spec", "ipam")]
    return []


DRIVER_OPTIONS = ("bridge", "macvlan", "ipvlan", "overlay")


def _driver_option_problems(network: Network) -> list[Problem]:
    spec = network.source.data["spec"] if network.source else {}
    return [
        problem(network, f"spec.{block} is given but the driver is {network.driver!r}", "spec", block)
        for block in DRIVER_OPTIONS if block in spec and block != network.driver
    ]


def _lower_problems(network: Network) -> list[Problem]:
    """Docker's rules for a macvlan/ipvlan network on its own."""
    lower, driver = network.lower, network.driver
    if lower is None:
        return []
    problems = []
    if lower.parent == "lo":
        problems.append(problem(network, "parent 'lo': the loopback cannot be a parent", "spec", driver, "parent"))
    if lower.parent and "." in lower.parent and lower.vlan is not None and not 1 <= lower.vlan[1] <= 4094:
        problems.append(problem(network, f"parent {lower.parent!r}: VLAN id {lower.vlan[1]} is not in 1..4094", "spec", driver, "parent"))
    if lower.host_access and (lower.mode if driver == "macvlan" else lower.flag) != "bridge":
        what = f"mode {lower.mode!r}" if driver == "macvlan" else f"flag {lower.flag!r}"
        message = f"hostAccess needs {'mode' if driver == 'macvlan' else 'flag'} 'bridge': the host's shim is a {driver} of the parent too, and {what} keeps {driver}s of one parent apart"
        problems.append(problem(network, message, "spec", driver, "hostAccess"))
    if network.l3:
        for index, raw in enumerate(subnet_dicts(network.source.data["spec"].get("ipam") if network.source else None)):
            if "gateway" in raw:
                message = f"ipvlan {lower.mode} has no gateway on the segment (the default route is `default dev <iface>`): remove it"
                problems.append(problem(network, message, *_subnet_path(network, index), "gateway"))
    return problems


def _shared_parent_problems(networks: tuple[Network, ...]) -> list[Problem]:
    """Docker's rules for networks on one parent: macvlan ones may share it unless one is passthru;
    an ipvlan parent serves one network; macvlan and ipvlan cannot share a parent (one rx handler)."""
    problems = []
    first: dict[str, Network] = {}
    for network in networks:
        if network.lower is None or network.lower.parent is None:
            continue
        other = first.setdefault(network.lower.parent, network)
        if other is network:
            continue
        reason = _sharing_conflict(other, network)
        if reason:
            where = other.source.where("spec", other.driver, "parent") if other.source else "?"
            message = f"parent {network.lower.parent!r} is already used by network {other.name!r} (at {where}): {reason}"
            problems.append(problem(network, message, "spec", network.driver, "parent"))
    return problems


def _sharing_conflict(a: Network, b: Network) -> str:
    if a.driver != b.driver:
        return "a parent carries macvlan or ipvlan links, not both"
    if a.driver == "ipvlan":
        return "an ipvlan parent serves one ipvlan network"
    if "passthru" in {n.lower.mode for n in (a, b) if n.lower is not None}:
        return "a passthru macvlan network needs its parent for itself"
    return ""


def _subnet_problems(network: Network, s: Subnet, path: Path) -> list[Problem]:
    problems = []
    if s.version == 6 and not network.enable_ipv6:
        problems.append(problem(network, f"subnet {s.subnet} is IPv6: set spec.enableIPv6: true", *path, "subnet"))
    if s.subnet.prefixlen >= s.subnet.max_prefixlen - 1 and network.driver in ("bridge", "overlay"):
        message = (f"subnet {s.subnet} is too small for a {network.driver} network: its bridge needs a gateway address "
                   "besides the endpoints' (a /31 or /127 suits ipvlan l3, which reserves no gateway)")
        problems.append(problem(network, message, *path))
    if s.gateway is not None and (s.gateway not in s.subnet or s.gateway in unusable(s)):
        problems.append(problem(network, f"gateway {s.gateway} is not a usable address of {s.subnet}", *path, "gateway"))
    if s.ip_range is not None and (s.ip_range.version != s.version or not s.ip_range.subnet_of(s.subnet)):  # type: ignore[arg-type]  # same version: checked first
        problems.append(problem(network, f"ipRange {s.ip_range} is not inside subnet {s.subnet}", *path, "ipRange"))
    for name, address in s.aux_addresses:
        if address.version != s.version or address not in s.subnet:
            message = f"auxAddresses.{name} {address} is outside subnet {s.subnet}"
            problems.append(problem(network, message, *path, "auxAddresses", name))
    return problems


def _address_clashes(m: Manifests) -> list[Problem]:
    """The same static address given to two interfaces (on any network)."""
    seen: dict[IPAddress, list[tuple[Endpoint, Interface, str]]] = defaultdict(list)
    for endpoint in m.endpoints:
        for iface in endpoint.interfaces:
            for field_name, address in (("ipv4Address", iface.ipv4_address), ("ipv6Address", iface.ipv6_address)):
                if address is not None:
                    seen[address].append((endpoint, iface, field_name))
    problems = []
    for address, users in seen.items():
        first_ep, first_iface, first_field = users[0]
        first = where(first_ep, "spec", "interfaces", first_iface.index, first_field)
        for endpoint, iface, field_name in users[1:]:
            path = ("spec", "interfaces", iface.index, field_name)
            problems.append(problem(endpoint, f"{field_name} {address} is already used by {first_ep.name} (at {first})", *path))
    return problems
