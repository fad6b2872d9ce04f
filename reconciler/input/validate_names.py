"""Names that reach the kernel, file paths and hosts files: each must be one the kernel takes, and no
two objects may answer to one name in a hosts file.

Control characters are refused in every string earlier, by the schema pass (schema._key_problems).
"""

from __future__ import annotations

from itertools import repeat

from reconciler.errors import Problem
from reconciler.input.spec import (
    GENERATED_PREFIXES,
    Endpoint,
    Host,
    Interface,
    Manifests,
    Network,
    Service,
)

# Every namespace has `lo`; the kernel refuses links named `all` or `default` (they would clash with
# /proc/sys/net/*/conf/all and /default).
RESERVED_IFNAMES = ("lo", "all", "default")
# What the hosts files already give (planners.hostsfiles.HEADER), and what Debian's /etc/hosts gives.
RESERVED_HOSTNAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback", "ip6-localnet",
                                "ip6-mcastprefix", "ip6-allnodes", "ip6-allrouters", "ip6-allhosts"})
PARENT_NOT_OURS = "a parent must be a link of the host that netreconcile does not manage"
NETNS_BYTES = 255  # a namespace is a file under /run/netns: NAME_MAX


def name_problems(m: Manifests, endpoints: bool = True) -> list[Problem]:
    """Names the kernel would refuse or hosts files would confuse (without `endpoints`, leaving out
    those of each endpoint alone: endpoint_name_problems)."""
    problems = []
    bridges = {n.bridge.name: n for n in reversed(m.networks) if n.bridge is not None}  # the first of a name
    for network in m.networks:
        problems += _bridge_name_problems(network) + _parent_problems(network, bridges)
    for host in m.hosts:
        problems += _underlay_problems(host)
    for endpoint in m.endpoints if endpoints else ():
        problems += endpoint_name_problems(endpoint)
    return problems + hostname_problems(m)


def endpoint_name_problems(endpoint: Endpoint) -> list[Problem]:
    """The checks of name_problems that look at one endpoint alone."""
    return _netns_problems(endpoint) + _interface_name_problems(endpoint)


def _problem(obj: Network | Endpoint | Host | Service, message: str, *path: str | int) -> Problem:
    assert obj.source is not None
    return obj.source.problem(message, *path)


def _bridge_name_problems(network: Network) -> list[Problem]:
    """A bridge network's bridge, declared or `br-<network>`: its name is in /proc/sys paths."""
    if network.driver != "bridge" or network.bridge is None:
        return []
    name = network.bridge.name
    path = _bridge_name_path(network)
    which = f"bridge name {name!r}" + ("" if path[0] == "spec" else " (the default, br-<network>: set spec.bridge.name)")
    if "." in name:
        return [_problem(network, f"{which} contains '.': the kernel's sysctl paths (net.ipv6.conf.<link>.*) cannot name it", *path)]
    if name in RESERVED_IFNAMES:
        return [_problem(network, f"{which} is reserved by the kernel ({', '.join(RESERVED_IFNAMES)})", *path)]
    if name.startswith(GENERATED_PREFIXES):
        prefixes = ", ".join(f"{p}..." for p in GENERATED_PREFIXES)
        return [_problem(network, f"{which} looks like a link netreconcile makes itself ({prefixes}): choose another", *path)]
    return []


def _bridge_name_path(network: Network) -> tuple[str, ...]:
    """Where a bridge network's bridge is named: spec.bridge.name, or its name (br-<network>)."""
    declared = network.source and (network.source.data["spec"].get("bridge") or {}).get("name")
    return ("spec", "bridge", "name") if declared else ("metadata", "name")


def _parent_problems(network: Network, bridges: dict[str, Network]) -> list[Problem]:
    """A parent is a link of the host that is not ours: ours come and go with the manifests (a bridge
    replaced or deleted takes the macvlan/ipvlan links on it along), and a name like ours may be made
    by netreconcile later."""
    lower = network.lower
    if lower is None or lower.parent is None:
        return []
    parent, path = lower.parent, ("spec", network.driver, "parent")
    if parent in (".", ".."):
        return [_problem(network, f"parent {parent!r} is not an interface name", *path)]
    base = lower.vlan[0] if lower.vlan else parent
    which = f"parent {parent!r}" + (f" (a VLAN of {base!r})" if base != parent else "")
    if base in bridges:
        owner = bridges[base]
        where = owner.source.where(*_bridge_name_path(owner)) if owner.source else "?"
        return [_problem(network, f"{which} is the bridge of network {owner.name!r} (at {where}): {PARENT_NOT_OURS}", *path)]
    if base.startswith(GENERATED_PREFIXES):
        prefixes = ", ".join(f"{p}..." for p in GENERATED_PREFIXES)
        return [_problem(network, f"{which} looks like a link netreconcile makes itself ({prefixes}): {PARENT_NOT_OURS}", *path)]
    return []



def _underlay_problems(host: Host) -> list[Problem]:
    if host.interface in (".", ".."):
        return [_problem(host, f"interface {host.interface!r} is not an interface name", "spec", "underlay", "interface")]
    return []


def _netns_problems(endpoint: Endpoint) -> list[Problem]:
    size = len(endpoint.netns.encode())
    if size > NETNS_BYTES:
        message = f"netns is {size} bytes long: a namespace is a file under /run/netns, whose name takes at most {NETNS_BYTES} bytes"
        return [_problem(endpoint, message, "spec", "netns")]
    return []


def _interface_name_problems(endpoint: Endpoint) -> list[Problem]:
    """Interfaces inside the endpoint's namespace: their names are in /proc/sys paths too."""
    problems = []
    for iface in endpoint.interfaces:
        path = ("spec", "interfaces", iface.index, "name")
        if "." in iface.name:
            message = f"interface name {iface.name!r} contains '.': the kernel's sysctl paths (net.ipv6.conf.<link>.*) cannot name it"
            problems.append(_problem(endpoint, message, *path))
        elif iface.name in RESERVED_IFNAMES:
            message = f"interface name {iface.name!r} is reserved by the kernel ({', '.join(RESERVED_IFNAMES)})"
            problems.append(_problem(endpoint, message, *path))
    return problems


def reserved_hostname(name: str) -> bool:
    """A name every hosts file already gives the loopback (RFC 6761: anything under .localhost too)."""
    return name in RESERVED_HOSTNAMES or name.endswith(".localhost")


Claim = tuple[Endpoint | Service, str, tuple[str | int, ...], str]  # who, as what, at which path, the name


def hostname_problems(m: Manifests) -> list[Problem]:
    """Per network, each name in the hosts files means one object: endpoint names, then aliases, then
    Services; a later claim on a taken name is refused at the later object, naming the first."""
    problems = []
    for network in m.networks:
        claims = _claims(m, network.name)
        if _all_fine([c[3] for c in claims]):
            continue
        problems += [_problem(obj, f"{what} {name!r} is a name every hosts file already gives the loopback: choose another", *path)
                     for obj, what, path, name in claims if reserved_hostname(name)]
        problems += _collisions(network.name, [c for c in claims if not reserved_hostname(c[3])])
    return list(dict.fromkeys(problems))  # an endpoint on several networks is reported once per name


def _all_fine(names: list[str]) -> bool:
    """Whether no name is reserved or given twice (then a network's claims need no look one by one):
    tested in C, not per claim (thousands on each plan of the watch)."""
    return (len(set(names)) == len(names) and RESERVED_HOSTNAMES.isdisjoint(names)
            and not any(map(str.endswith, names, repeat(".localhost"))))


def _collisions(network: str, claims: list[Claim]) -> list[Problem]:
    first: dict[str, Claim] = {}
    problems = []
    for claim in claims:
        obj, what, path, name = claim
        other, other_what, other_path, _ = first.setdefault(name, claim)
        duplicate = what == other_what != "alias"  # two endpoints or Services of one name: reported as such
        if other is not obj and not duplicate:
            where = other.source.where(*other_path) if other.source else "?"
            message = f"{what} {name!r} is already {_as(other, other_what)} on network {network!r} (at {where})"
            problems.append(_problem(obj, message, *path))
    return problems


def _as(obj: Endpoint | Service, what: str) -> str:
    kind = "service" if isinstance(obj, Service) else "endpoint"
    return f"the name of {kind} {obj.name!r}" if what.endswith("name") else f"an alias of endpoint {obj.name!r}"


def _claims(m: Manifests, network: str) -> list[Claim]:
    """The names the hosts files give on `network`: (object, what, path, name)."""
    attached = m.attached(network)
    claims: list[Claim] = [(endpoint, "endpoint name", ("metadata", "name"), endpoint.name) for endpoint, _ in attached]
    claims += [(endpoint, "alias", path, alias) for endpoint, iface in attached
               for what, path, alias in interface_claims(endpoint, iface) if what == "alias"]
    return claims + [(service, "service name", ("metadata", "name"), service.name)
                     for service in m.services if service.network == network]


def interface_claims(endpoint: Endpoint, iface: Interface) -> list[tuple[str, tuple[str | int, ...], str]]:
    """The names an interface gives in its network's hosts files: (what, path, name); the endpoint's
    name, then its aliases (the hosts files write each once)."""
    return [("endpoint name", ("metadata", "name"), endpoint.name)] + [
        ("alias", ("spec", "interfaces", iface.index, "aliases", index), alias) for index, alias in enumerate(iface.aliases)
        if alias != endpoint.name and alias not in iface.aliases[:index]]
