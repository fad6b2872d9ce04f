"""Network services, with no daemon: published ports and load-balanced Services as DNAT rules in our
nftables table (Docker's layout), and the hosts files through which endpoints find each other.

A published port or a Service port is an `Exposure`: traffic to a host-side address and port is
DNATed to one backend, or spread over several in turn (numgen). DNAT runs in nat-PREROUTING (from
outside and from endpoints) and nat-OUTPUT (from the host itself, 127.0.0.1 included); the network's
bridge then accepts that port, masquerades hairpin traffic (an endpoint reaching a neighbour through
the host) and 127.0.0.1-sourced traffic, and lets route_localnet pass the latter.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.model import HOSTS_MARK, Address, HostsFile, NftRule
from reconciler.planners import firewall as fw
from reconciler.planners.context import Context
from reconciler.planners.memo import Memo
from reconciler.spec import Endpoint, Manifests, Network, Service


@dataclass(frozen=True)
class Exposure:
    network: str
    owner: str
    label: str
    match: tuple[dict, ...]   # what the host side is: `fib daddr type local`, or `ip daddr X`
    protocol: str
    port: int
    backends: tuple[str, ...]
    target: int
    text: str                 # what `plan` states, e.g. `publishes 0.0.0.0:8080/tcp -> web1:80`
    version: int = 4


ALL = {4: "0.0.0.0", 6: "[::]"}
SUFFIX = {4: "", 6: "-v6"}  # rule labels: IPv4 rules keep their names, IPv6 ones are told apart


def exposures(m: Manifests, ctx: Context) -> list[Exposure]:
    local = {n.name for n in m.local_networks}
    out = [e for ep in m.local_endpoints for e in _published(ep, ctx)]
    out += [e for s in m.services if s.network in local for e in _service(s, m, ctx)]
    return out


def _published(ep: Endpoint, ctx: Context) -> list[Exposure]:
    """Each published port, per family the endpoint has an address in (and its hostIp, if given, is of)."""
    out = []
    for port, version in ((p, v) for p in ep.ports for v in (4, 6)):
        iface = ep.interface_on(port.network)
        address = ctx.address(ep, iface, version) if iface else None
        if address is None or (port.host_ip is not None and port.host_ip.version != version):
            continue
        match = (fw.fib_local(),) if port.host_ip is None else (fw.addr("daddr", str(port.host_ip)),)
        label = f"publish-{port.protocol}-{port.host_ip or 'all'}-{port.host_port}{SUFFIX[version]}"
        shown = port.exposure if port.host_ip or version == 4 else f"{ALL[6]}:{port.host_port}/{port.protocol}"
        text = f"publishes {shown} -> {ep.name}:{port.container_port}"
        out.append(Exposure(port.network, ep.owner, label, match, port.protocol, port.host_port, (str(address),),
                            port.container_port, text, version))
    return out


def backends(service: Service, m: Manifests, ctx: Context, version: int = 4) -> list[tuple[str, str]]:
    """(endpoint name, address) of the selected endpoints on this host. On an overlay network too: the
    hairpin masquerade rewrites the client to the gateway address, which every host carries, so a reply
    from another host's backend would end at that host's gateway, not here."""
    chosen = [e for e in m.endpoints if service.selects(e) and m.is_local(e)]
    out = []
    for ep in sorted(chosen, key=lambda e: e.name):
        address = ctx.address(ep, ep.interface_on(service.network), version)
        if address is not None:
            out.append((ep.name, str(address)))
    return out


def vip(service: Service, ctx: Context, version: int = 4) -> str | None:
    address = ctx.addresses.get((f"@service/{service.name}", service.network, version))
    return str(address) if address is not None else None


def _service(service: Service, m: Manifests, ctx: Context) -> list[Exposure]:
    out = []
    for version in (4, 6):
        chosen = backends(service, m, ctx, version)
        address = vip(service, ctx, version)
        if not chosen or address is None:
            continue
        names, addresses = ", ".join(n for n, _ in chosen), tuple(a for _, a in chosen)
        shown = address if version == 4 else f"[{address}]"
        for p in service.ports:
            out.append(Exposure(service.network, service.owner, f"vip-{p.protocol}-{p.port}{SUFFIX[version]}",
                                (fw.addr("daddr", address),), p.protocol, p.port, addresses, p.target_port,
                                f"balances {shown}:{p.port}/{p.protocol} -> {names} :{p.target_port}", version))
            if p.host_port is not None:
                out.append(Exposure(service.network, service.owner, f"publish-{p.protocol}-all-{p.host_port}{SUFFIX[version]}",
                                    (fw.fib_local(),), p.protocol, p.host_port, addresses, p.target_port,
                                    f"publishes {ALL[version]}:{p.host_port}/{p.protocol} -> service {service.name} "
                                    f":{p.target_port}", version))
    return out


def nat_rules(found: list[Exposure]) -> list[NftRule]:
    rules = []
    for e in found:
        expr = [*e.match, fw.dport(e.protocol, e.port), fw.dnat(list(e.backends), e.target, e.version)]
        rules += [fw.rule(e.owner, fw.PREROUTING, e.label, expr), fw.rule(e.owner, fw.OUTPUT, e.label, expr)]
    return rules


def bridge_rules(network: Network, found: list[Exposure]) -> tuple[list[NftRule], list[NftRule]]:
    """(accepts for the bridge's in-chain, masquerades for nat-POSTROUTING) of this network's exposures."""
    mine = [e for e in found if e.network == network.name]
    if not mine:
        return [], []
    br = network.bridge.name
    accepts, seen = [], set()
    for e in mine:
        for backend in e.backends:
            if (backend, e.protocol, e.target) in seen:
                continue
            seen.add((backend, e.protocol, e.target))
            accepts.append(fw.rule(network.owner, f"in-{br}", f"exposed-{backend}-{e.protocol}-{e.target}", [
                fw.addr("daddr", backend), fw.dport(e.protocol, e.target), fw.verdict("accept")]))
    masquerades = [
        fw.rule(network.owner, fw.POSTROUTING, f"hairpin-{s.subnet}", [
            fw.ct_status("dnat"), fw.addr("saddr", str(s.subnet)), fw.meta("oifname", br), {"masquerade": None}])
        for s in network.subnets if s.version == 4 or network.enable_ipv6
    ]
    masquerades.append(fw.rule(network.owner, fw.POSTROUTING, "localhost", [
        fw.addr("saddr", "127.0.0.0/8"), fw.meta("oifname", br), {"masquerade": None}]))
    return accepts, masquerades


def vip_addresses(m: Manifests, ctx: Context) -> list[Address]:
    """A Service's VIP sits on its network's bridge (as a host address): endpoints reach it on-link."""
    local = {n.name: n for n in m.local_networks}
    out = []
    for service, version in ((s, v) for s in m.services for v in (4, 6)):
        address = vip(service, ctx, version)
        network = local.get(service.network)
        if address is not None and network is not None and network.bridge is not None:
            out.append(Address(None, network.bridge.name, f"{address}/{32 if version == 4 else 128}", owner=service.owner))
    return out


def hosts_files(m: Manifests, ctx: Context) -> list[HostsFile]:
    blocks = _network_blocks(m, ctx)
    hosts_file_of.next_generation()
    out = []
    for ep in m.local_endpoints:
        mine = tuple((blocks[i.network].text, tuple(blocks[i.network].lines.get(ep.name, ())))
                     for i in ep.interfaces if i.network in blocks)
        out.append(hosts_file_of(ep, mine))
    return out


def _hosts_file(ep: Endpoint, blocks: tuple[tuple[str, tuple[str, ...]], ...]) -> HostsFile:
    """The endpoint's file from the blocks of its networks: each block's text and its own lines in it."""
    return HostsFile(ep.netns, hosts_text(ep, [Block(text, {ep.name: list(own)}) for text, own in blocks]), owner=ep.owner)


hosts_file_of = Memo(_hosts_file)


HEADER = "\n".join([HOSTS_MARK.rstrip("\n"), "127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]) + "\n"


@dataclass(frozen=True)
class Block:
    """A network's part of the hosts files: one line per address, and whose line each is."""

    text: str                       # every line, each ending in a newline
    lines: dict[str, list[str]]     # endpoint name -> its lines


def _network_blocks(m: Manifests, ctx: Context) -> dict[str, Block]:
    """Per network, the address and names of every endpoint on it, then of every Service on it: built
    once, so that each endpoint's file is its own lines plus its networks' blocks without them."""
    lines: dict[str, list[tuple[str, str]]] = {n.name: [] for n in m.networks}
    for ep in m.endpoints:
        for iface in ep.interfaces:
            for version in (4, 6):
                address = ctx.address(ep, iface, version)
                if address is not None and iface.network in lines:
                    names = " ".join(dict.fromkeys((ep.name, *iface.aliases)))
                    lines[iface.network].append((ep.name, f"{address}\t{names}\n"))
    for service, version in ((s, v) for s in m.services for v in (4, 6)):
        address = vip(service, ctx, version)
        if address is not None and service.network in lines:
            lines[service.network].append(("", f"{address}\t{service.name}\n"))
    blocks = {}
    for network, entries in lines.items():
        mine: dict[str, list[str]] = {}
        for owner, line in entries:
            mine.setdefault(owner, []).append(line)
        blocks[network] = Block("".join(line for _, line in entries), mine)
    return blocks


def hosts_text(ep: Endpoint, networks: list[Block]) -> str:
    """Itself first, then on each of its networks every other endpoint (name and aliases) and Service."""
    own = [line for block in networks for line in block.lines.get(ep.name, ())]
    others = []
    for block in networks:
        text = "\n" + block.text
        for line in block.lines.get(ep.name, ()):
            text = text.replace("\n" + line, "\n", 1)
        others.append(text[1:])
    return HEADER + "".join(own) + "".join(others)
