"""The routing mesh's address of each host on an overlay network (Docker's `lb-<network>` endpoint):
what a host rewrites the source to when it sends a Service's connection to another host's backend, so
that the reply comes back through it. Taken from the manifests alone, so every host agrees: declared
Hosts in name order take the top addresses of the network's first IPv4 subnet, below the broadcast
address (node-a .254, node-b .253, ... in a /24)."""

from __future__ import annotations

from ipaddress import IPv4Address

from reconciler.input.spec.naming import mesh_ifname, mesh_name, stable_mac
from reconciler.input.spec.types import Endpoint, Host, Interface, Manifests, Network


def mesh_networks(m: Manifests) -> tuple[Network, ...]:
    """The overlay networks with a load-balanced Service, across declared Hosts: each host gets a mesh address."""
    if not m.hosts:
        return ()
    with_vip = {s.network for s in m.services if s.has_vip}
    return tuple(n for n in m.networks if n.overlay is not None and n.name in with_vip)


def mesh_address(network: Network, hosts: tuple[Host, ...], host: str) -> IPv4Address | None:
    """`host`'s mesh address on `network`: the index of the host in name order, counted down from the
    address below the broadcast address (None when the subnet is too small or has no IPv4)."""
    subnet = network.first_subnet(4)
    names = sorted(h.name for h in hosts)
    if subnet is None or host not in names:
        return None
    index = names.index(host)
    if subnet.subnet.num_addresses < len(names) + 4:
        return None
    return IPv4Address(int(subnet.subnet.broadcast_address) - 1 - index)


def mesh_endpoint(network: Network, hosts: tuple[Host, ...], host: str) -> Endpoint | None:
    """The host's mesh address as an endpoint of the network (a macvlan of the host on its bridge, with
    a MAC of its own: the other hosts' VXLAN links answer ARP for it and send its frames to its host)."""
    address = mesh_address(network, hosts, host)
    if address is None:
        return None
    iface = Interface(network=network.name, name=mesh_ifname(network.name), ipv4_address=address,
                      mac_address=stable_mac("mesh", f"{network.name}\0{host}"))
    return Endpoint(name=mesh_name(host), netns="", interfaces=(iface,), host=host, source=network.source)


def mesh_endpoints(m: Manifests, network: Network) -> list[Endpoint]:
    """Every declared host's mesh endpoint on `network` (none when it is not a mesh network)."""
    if network.name not in {n.name for n in mesh_networks(m)}:
        return []
    found = (mesh_endpoint(network, m.hosts, h.name) for h in m.hosts)
    return [e for e in found if e is not None]
