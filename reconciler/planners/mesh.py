"""The routing mesh: a Service on an overlay network, across declared Hosts, reaches its backends on
every host (Docker's swarm services, in nftables alone, as Kubernetes' nftables kube-proxy).

Each host balances its own clients' connections (to the VIP, or to an `ingress` hostPort) over the
backends the Service's trafficPolicy allows: all of them (`cluster`), or its own (`local`). A local
backend is DNATed to as on a bridge. A remote one is DNATed to its overlay address and, for that
path only, SNATed to this host's mesh address on the network (spec.mesh), so its reply comes back
here, where conntrack undoes both. The mesh address sits on a macvlan of the network's bridge with a
MAC of its own: the other hosts' VXLAN links know it (overlay.py writes it like an endpoint's) and
send its frames here. A host with no backend it may use refuses at once (`trafficPolicy: local`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import reconciler.planners.firewall as fw
from reconciler.input.ipam import Addresses
from reconciler.input.spec import (
    Endpoint,
    Manifests,
    Network,
    Service,
    mesh_endpoint,
    mesh_networks,
)
from reconciler.model import Address, KernelObject, Macvlan, NftRule


@dataclass(frozen=True)
class Backend:
    """A selected endpoint's address on the Service's network, and the host it lives on."""

    name: str
    address: str
    host: str | None
    remote: bool

    @property
    def shown(self) -> str:
        return f"{self.name}@{self.host}" if self.host else self.name


def meshed(m: Manifests, service: Service) -> bool:
    """A Service balanced across hosts: on an overlay network, with Hosts declared."""
    return any(n.name == service.network for n in mesh_networks(m))


def selected(service: Service, m: Manifests, addresses: Addresses, version: int, local_only: bool) -> list[Backend]:
    """The Service's backends this host spreads over, by name: its own, and (IPv4, not `local_only`)
    the other hosts'."""
    out = []
    for ep in sorted((e for e in m.endpoints if service.selects(e)), key=lambda e: e.name):
        remote = not m.is_local(ep)
        address = addresses.get((ep.name, service.network, version))
        if address is not None and not (remote and (local_only or version != 4)):
            out.append(Backend(ep.name, str(address), ep.host, remote))
    return out


def own_address(m: Manifests, network: str, addresses: Addresses) -> str | None:
    """This host's mesh address on `network` (None when it has none)."""
    endpoint = _own_endpoint(m, network)
    address = addresses.get((endpoint.name, network, 4)) if endpoint else None
    return str(address) if address is not None else None


def _own_endpoint(m: Manifests, network: str) -> Endpoint | None:
    found = [n for n in mesh_networks(m) if n.name == network]
    return mesh_endpoint(found[0], m.hosts, m.host) if found and m.host else None


def affinity_seed(service: Service) -> int | None:
    """`affinity: clientIP`: a jhash seed of the Service's own, the same on every host (a client then
    reaches the same backend through whichever host it enters by)."""
    if service.affinity != "clientIP":
        return None
    return int.from_bytes(hashlib.sha256(f"affinity\0{service.name}".encode()).digest()[:4], "big") or 1


def network_objects(network: Network, m: Manifests, addresses: Addresses, bridge: str) -> list[KernelObject]:
    """This host's mesh interface on the network's bridge, with its mesh address (as a host address)."""
    endpoint = _own_endpoint(m, network.name)
    address = own_address(m, network.name, addresses)
    if endpoint is None or address is None:
        return []
    iface = endpoint.interfaces[0]
    link = Macvlan(ns=None, name=iface.name, parent=bridge, mode="bridge", mtu=network.mtu,
                   ipv6=False, owner=network.owner, mac=iface.mac_address)
    return [link, Address(None, iface.name, f"{address}/32", owner=network.owner)]


def snat_rules(network: Network, bridge: str, remote: list[tuple[str, str]]) -> list[NftRule]:
    """(backend address, mesh address) pairs: a DNATed connection leaving for a remote backend
    takes this host's mesh address as its source (before the hairpin masquerade can take it)."""
    return [fw.rule(network.owner, fw.POSTROUTING, f"mesh-{backend}", [
        fw.ct_status("dnat"), fw.addr("daddr", backend), fw.meta("oifname", bridge), fw.snat(snat)])
        for backend, snat in sorted(set(remote))]
