"""What the checks across endpoints need to know of them to tell, without a pass over them, that they
would find nothing: tallies of their names, namespaces, static addresses, hosts file names, bridge
ports... The watch's ManifestCache keeps one up to date with the files that changed (`count` their
endpoints out and in); otherwise it is made whole. A tally only ever lets a check skip the endpoints
when they cannot give it a problem; on any repeat the check walks them all, as it always did."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from reconciler.input.spec import Endpoint, IPAddress, Manifests
from reconciler.input.validate_names import interface_claims, reserved_hostname

K = TypeVar("K")
MIN_ROOM = 1022  # the fewest bridge ports an endpoint's network has room for (validate_limits: an overlay's)


class Tally(Generic[K]):
    """How many times each key is counted, and how many keys are counted more than `once` times."""

    def __init__(self, once: int = 1) -> None:
        self.counts: dict[K, int] = {}
        self.once = once
        self.repeated = 0

    def count(self, key: K, step: int) -> None:
        before = self.counts.get(key, 0)
        after = before + step
        self.repeated += (after > self.once) - (before > self.once)
        if after:
            self.counts[key] = after
        else:
            del self.counts[key]


class EndpointIndex:
    """Tallies of a set of endpoints: those counted in (step 1) less those counted out (step -1)."""

    def __init__(self) -> None:
        self.names, self.netns, self.statics = Tally[str](), Tally[str](), Tally[IPAddress]()
        self.claims = Tally[tuple[str, str]]()  # (network, a name its hosts files give)
        self.reserved = 0  # claims on a name every hosts file gives the loopback
        self.hosts = Tally[str | None]()
        self.interfaces = Tally[str]()  # by network
        self.static_networks = Tally[str]()  # interfaces with a static address, by network
        self.bridge_ports = Tally[tuple[str, str | None]](once=MIN_ROOM)  # interfaces by (network, host)
        self.with_ports = 0  # endpoints publishing ports

    @classmethod
    def of(cls, endpoints: Iterable[Endpoint]) -> EndpointIndex:
        index = cls()
        index.count(endpoints, 1)
        return index

    def count(self, endpoints: Iterable[Endpoint], step: int) -> None:
        for endpoint in endpoints:
            self.names.count(endpoint.name, step)
            self.netns.count(endpoint.netns, step)
            self.hosts.count(endpoint.host, step)
            self.with_ports += step if endpoint.ports else 0
            for iface in endpoint.interfaces:
                self._count_interface(endpoint, iface.network, step)
                for address in (iface.ipv4_address, iface.ipv6_address):
                    if address is not None:
                        self.statics.count(address, step)
                        self.static_networks.count(iface.network, step)
                for _, _, name in interface_claims(endpoint, iface):
                    self.claims.count((iface.network, name), step)
                    self.reserved += step if reserved_hostname(name) else 0

    def _count_interface(self, endpoint: Endpoint, network: str, step: int) -> None:
        self.interfaces.count(network, step)
        self.bridge_ports.count((network, endpoint.host), step)


@dataclass(frozen=True)
class Needs:
    """Which checks across endpoints must walk them (the others would find nothing there)."""

    names: bool
    netns: bool
    statics: bool  # the same static address twice
    passthru: bool
    hosts: bool
    bridge_ports: bool
    auto: bool  # a static address on a network that picks its subnet
    dhcp: bool  # a static address on a DHCP network
    exposure: bool
    vips: bool  # a service's VIP that is an endpoint's static address
    hostnames: bool

    @classmethod
    def of(cls, index: EndpointIndex, m: Manifests) -> Needs:
        return cls(
            names=index.names.repeated > 0, netns=index.netns.repeated > 0, statics=index.statics.repeated > 0,
            passthru=any(index.interfaces.counts.get(n.name, 0) > 1 for n in m.networks
                         if n.lower and n.driver == "macvlan" and n.lower.mode == "passthru"),
            hosts=_hosts_needed(index, m), bridge_ports=index.bridge_ports.repeated > 0,
            auto=any(index.static_networks.counts.get(n.name, 0) for n in m.networks if n.auto_subnet),
            dhcp=any(index.static_networks.counts.get(n.name, 0) for n in m.networks if n.dhcp),
            exposure=index.with_ports > 0, vips=any(s.vip in index.statics.counts for s in m.services),
            hostnames=_hostnames_needed(index, m))


def _hosts_needed(index: EndpointIndex, m: Manifests) -> bool:
    """Whether some endpoint lacks spec.host once Hosts are declared, or names one not declared."""
    names = {h.name for h in m.hosts}
    return any(host not in names if host is not None else bool(m.hosts) for host in index.hosts.counts)


def _hostnames_needed(index: EndpointIndex, m: Manifests) -> bool:
    """Whether an endpoint's name in the hosts files of a network is reserved, or given twice, or a Service's."""
    return index.claims.repeated > 0 or index.reserved > 0 or any(
        (s.network, s.name) in index.claims.counts for s in m.services)
