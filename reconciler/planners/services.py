"""Network services, with no daemon: published ports and load-balanced Services as DNAT rules in our
nftables table (Docker's layout). The hosts files through which endpoints find each other: hostsfiles.

A published port or a Service port is an `Exposure`: traffic to a host-side address and port is
DNATed to one backend, or spread over several in turn (numgen). DNAT runs in nat-PREROUTING (from
outside and from endpoints) and nat-OUTPUT (from the host itself, 127.0.0.1 included); the network's
bridge then accepts that port, masquerades hairpin traffic (an endpoint reaching a neighbour through
the host) and 127.0.0.1-sourced traffic, and lets route_localnet pass the latter.
"""

from __future__ import annotations

from dataclasses import dataclass

import reconciler.planners.firewall as fw
import reconciler.planners.mesh as mesh
from reconciler.input.ipam import Addresses
from reconciler.input.spec import (
    BridgeOptions,
    Endpoint,
    IPAddress,
    Manifests,
    Network,
    Service,
    ServicePort,
)
from reconciler.input.spec.naming import vip_name
from reconciler.model import Address, NftRule


@dataclass(frozen=True)
class Exposure:
    """Traffic to a host-side address and port, DNATed to its backends (see the module's docstring)."""

    network: str
    owner: str
    label: str
    match: tuple[fw.Json, ...]  # what the host side is: `fib daddr type local`, or `ip daddr X`
    protocol: str
    port: int
    backends: tuple[str, ...]
    target: int
    text: str                 # what `plan` states, e.g. `publishes 0.0.0.0:8080/tcp -> web1:80`
    version: int = 4
    remote: tuple[str, ...] = ()  # backends on other hosts (planners.mesh), reached with `snat` as source
    snat: str | None = None
    seed: int | None = None   # affinity clientIP: backends picked by a hash of the client's address


ALL = {4: "0.0.0.0", 6: "[::]"}
SUFFIX = {4: "", 6: "-v6"}  # rule labels: IPv4 rules keep their names, IPv6 ones are told apart


def exposures(m: Manifests, addresses: Addresses) -> tuple[Exposure, ...]:
    """Published ports and Service ports on this host."""
    local = {n.name for n in m.local_networks}
    out = [e for ep in m.local_endpoints if ep.ports for e in _published(ep, addresses)]  # most publish none
    out += [e for s in m.services if s.network in local for e in _service(s, m, addresses)]
    return tuple(out)


def address_of(addresses: Addresses, endpoint: Endpoint, network: str, version: int) -> IPAddress | None:
    return addresses.get((endpoint.name, network, version))


def _published(ep: Endpoint, addresses: Addresses) -> list[Exposure]:
    """Each published port, per family the endpoint has an address in (and its hostIp, if given, is of)."""
    out = []
    for port, version in ((p, v) for p in ep.ports for v in (4, 6)):
        iface = ep.interface_on(port.network)
        address = address_of(addresses, ep, iface.network, version) if iface else None
        if address is None or (port.host_ip is not None and port.host_ip.version != version):
            continue
        match = (fw.fib_local(),) if port.host_ip is None else (fw.addr("daddr", str(port.host_ip)),)
        label = f"publish-{port.protocol}-{port.host_ip or 'all'}-{port.host_port}{SUFFIX[version]}"
        shown = port.exposure if port.host_ip or version == 4 else f"{ALL[6]}:{port.host_port}/{port.protocol}"
        text = f"publishes {shown} -> {ep.name}:{port.container_port}"
        out.append(Exposure(port.network, ep.owner, label, match, port.protocol, port.host_port, (str(address),),
                            port.container_port, text, version))
    return out


def backends(service: Service, m: Manifests, addresses: Addresses, version: int = 4) -> list[tuple[str, str]]:
    """(endpoint name, address) of the selected endpoints on this host. On an overlay network too: the
    hairpin masquerade rewrites the client to the gateway address, which every host carries, so a reply
    from another host's backend would end at that host's gateway, not here."""
    chosen = [e for e in m.endpoints if service.selects(e) and m.is_local(e)]
    out = []
    for ep in sorted(chosen, key=lambda e: e.name):
        address = address_of(addresses, ep, service.network, version)
        if address is not None:
            out.append((ep.name, str(address)))
    return out


def vip(service: Service, addresses: Addresses, version: int = 4) -> str | None:
    address = addresses.get((vip_name(service.name), service.network, version))
    return str(address) if address is not None else None


def _service(service: Service, m: Manifests, addresses: Addresses) -> list[Exposure]:
    out = []
    for version in (4, 6):
        address = vip(service, addresses, version)
        if address is None:
            continue
        if mesh.meshed(m, service):
            out += [e for p in service.ports for e in _meshed_port(service, p, address, m, addresses, version)]
            continue
        chosen = backends(service, m, addresses, version)
        if chosen:
            out += [e for p in service.ports for e in _service_port(service, p, address, chosen, version)]
    return out


def _service_port(service: Service, p: ServicePort, address: str, chosen: list[tuple[str, str]],
                  version: int) -> list[Exposure]:
    """A Service port balanced on its VIP, and published on the host too when it has a hostPort."""
    names, to = ", ".join(n for n, _ in chosen), tuple(a for _, a in chosen)
    shown = address if version == 4 else f"[{address}]"
    seed = mesh.affinity_seed(service)
    out = [Exposure(service.network, service.owner, f"vip-{p.protocol}-{p.port}{SUFFIX[version]}",
                    (fw.addr("daddr", address),), p.protocol, p.port, to, p.target_port,
                    f"balances {shown}:{p.port}/{p.protocol} -> {names} :{p.target_port}", version, seed=seed)]
    if p.host_port is not None:
        out.append(_host_port(service, p, to, version, seed))
    return out


def _host_port(service: Service, p: ServicePort, to: tuple[str, ...], version: int, seed: int | None,
               remote: tuple[str, ...] = (), snat: str | None = None) -> Exposure:
    assert p.host_port is not None
    return Exposure(service.network, service.owner, f"publish-{p.protocol}-all-{p.host_port}{SUFFIX[version]}",
                    (fw.fib_local(),), p.protocol, p.host_port, to, p.target_port,
                    f"publishes {ALL[version]}:{p.host_port}/{p.protocol} -> service {service.name} :{p.target_port}",
                    version, remote, snat, seed)


def _meshed_port(service: Service, p: ServicePort, address: str, m: Manifests, addresses: Addresses,
                 version: int) -> list[Exposure]:
    """A port of a Service balanced across hosts (planners.mesh): its VIP over the backends its
    trafficPolicy allows, and its hostPort here when published `ingress`, or `host` with local backends."""
    local_only = service.traffic_policy == "local"
    chosen = mesh.selected(service, m, addresses, version, local_only)
    snat = mesh.own_address(m, service.network, addresses)
    if any(b.remote for b in chosen) and snat is None:
        chosen = [b for b in chosen if not b.remote]
    if not chosen and not local_only:
        return []
    to, remote = tuple(b.address for b in chosen), tuple(b.address for b in chosen if b.remote)
    snat = snat if remote else None
    seed, shown = mesh.affinity_seed(service), address if version == 4 else f"[{address}]"
    text = _balance_text(service, p, shown, chosen, snat)
    out = [Exposure(service.network, service.owner, f"vip-{p.protocol}-{p.port}{SUFFIX[version]}",
                    (fw.addr("daddr", address),), p.protocol, p.port, to, p.target_port, text, version,
                    remote, snat, seed)]
    if m.publish_of(service, p) == "ingress":
        out.append(_host_port(service, p, to, version, seed, remote, snat))
    elif p.host_port is not None and any(not b.remote for b in chosen):
        local = tuple(b.address for b in chosen if not b.remote)
        out.append(_host_port(service, p, local, version, seed))
    return out


def _balance_text(service: Service, p: ServicePort, shown: str, chosen: list[mesh.Backend], snat: str | None) -> str:
    """`balances web 10.200.0.250:80/tcp -> api1@node-b, api2@node-c (remote: snat 10.200.0.254)`."""
    head = f"balances {service.name} {shown}:{p.port}/{p.protocol}"
    if not chosen:
        return f"{head} -> nothing on this host: refused (trafficPolicy local)"
    target = f" :{p.target_port}" if p.target_port != p.port else ""
    remote = f" (remote: snat {snat})" if snat else ""
    return f"{head} -> {', '.join(b.shown for b in chosen)}{target}{remote}"


def nat_rules(found: tuple[Exposure, ...]) -> list[NftRule]:
    """DNAT in prerouting and output; a port with no backend here (trafficPolicy local) refused at input."""
    rules = []
    for e in found:
        if not e.backends:
            rules.append(fw.rule(e.owner, fw.INPUT, e.label, [*e.match, fw.dport(e.protocol, e.port), fw.reject(e.protocol)]))
            continue
        expr = [*e.match, fw.dport(e.protocol, e.port), fw.dnat(list(e.backends), e.target, e.version, e.seed)]
        rules += [fw.rule(e.owner, fw.PREROUTING, e.label, expr), fw.rule(e.owner, fw.OUTPUT, e.label, expr)]
    return rules


def bridge_rules(network: Network, bridge: BridgeOptions,
                 found: tuple[Exposure, ...]) -> tuple[list[NftRule], list[NftRule]]:
    """(accepts for the bridge's in-chain, masquerades for nat-POSTROUTING) of this network's exposures."""
    mine = [e for e in found if e.network == network.name]
    if not mine:
        return [], []
    remote = [(b, e.snat) for e in mine if e.snat for b in e.remote]
    return _accepts(network, bridge.name, mine), mesh.snat_rules(network, bridge.name, remote) + _masquerades(network, bridge.name)


def _accepts(network: Network, br: str, mine: list[Exposure]) -> list[NftRule]:
    """The bridge's in-chain accepts each backend's exposed port (once, whatever exposes it)."""
    accepts, seen = [], set()
    for e in mine:
        for backend in e.backends:
            if (backend, e.protocol, e.target) in seen:
                continue
            seen.add((backend, e.protocol, e.target))
            accepts.append(fw.rule(network.owner, f"in-{br}", f"exposed-{backend}-{e.protocol}-{e.target}", [
                fw.addr("daddr", backend), fw.dport(e.protocol, e.target), fw.verdict("accept")]))
    return accepts


def _masquerades(network: Network, br: str) -> list[NftRule]:
    """Hairpin traffic (DNATed from the bridge's own subnets) and 127.0.0.1-sourced traffic."""
    masquerades = [
        fw.rule(network.owner, fw.POSTROUTING, f"hairpin-{s.subnet}", [
            fw.ct_status("dnat"), fw.addr("saddr", str(s.subnet)), fw.meta("oifname", br), {"masquerade": None}])
        for s in network.subnets if s.version == 4 or network.enable_ipv6
    ]
    masquerades.append(fw.rule(network.owner, fw.POSTROUTING, "localhost", [
        fw.addr("saddr", "127.0.0.0/8"), fw.meta("oifname", br), {"masquerade": None}]))
    return masquerades


def vip_addresses(m: Manifests, addresses: Addresses) -> list[Address]:
    """A Service's VIP sits on its network's bridge (as a host address): endpoints reach it on-link."""
    local = {n.name: n for n in m.local_networks}
    out = []
    for service, version in ((s, v) for s in m.services for v in (4, 6)):
        address = vip(service, addresses, version)
        network = local.get(service.network)
        bridge = network.bridge if network is not None else None
        if address is not None and network is not None and bridge is not None:
            out.append(Address(None, bridge.name, f"{address}/{32 if version == 4 else 128}", owner=service.owner))
    return out
