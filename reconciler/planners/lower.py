"""The macvlan and ipvlan drivers, as Docker's: endpoints join an existing L2 network through a parent.

Per endpoint interface, a macvlan (its own MAC) or an ipvlan (the parent's MAC) of the parent, born
inside the endpoint's namespace. Parents are the host's own links; netreconcile makes only the ones
Docker makes: an 802.1q sub-interface `eth0.60` that does not exist yet (shared by every network that
names it, and removed with the last of them), and a dummy for a network declared without a parent.
hostAccess adds a shim of the same kind on the host, with a host address, and a host route to each
endpoint, because the kernel never passes traffic between a parent and its own macvlans/ipvlans.
No firewall rules: this traffic does not cross the host's forwarding path.
"""

from __future__ import annotations

from reconciler.model import Address, Dummy, Ipvlan, KernelObject, LowerLink, Macvlan, NftRule, Route, Vlan, link_key
from reconciler.planners.context import Attachment, Context
from reconciler.spec import Endpoint, Interface, Network, shim_endpoint


def parent_objects(networks: tuple[Network, ...], ctx: Context) -> list[KernelObject]:
    """The parents netreconcile owns: one dummy per parentless network, one VLAN link per name in use."""
    objects: list[KernelObject] = []
    vlans: dict[str, list[Network]] = {}
    for network in networks:
        if network.lower is None:
            continue
        if network.lower.parent is None:
            objects.append(Dummy(network.parent, owner=network.owner))
        elif network.lower.vlan and link_key(None, network.lower.parent) not in ctx.foreign:
            vlans.setdefault(network.lower.parent, []).append(network)  # one that existed before stays theirs
    for name, users in sorted(vlans.items()):
        base, vlan_id = users[0].lower.vlan
        objects.append(Vlan(name, base, vlan_id, owner=" ".join(sorted(u.owner for u in users))))
    return objects


def network_objects(network: Network, ctx: Context) -> list[KernelObject]:
    """With hostAccess, the host's shim and its host address in each of the network's subnets."""
    shim = shim_endpoint(network)
    if shim is None:
        return []
    iface = shim.interfaces[0]
    mode = "bridge" if network.driver == "macvlan" else network.lower.mode
    link = _link(network, None, iface.name, network.owner, mode, ctx.mac(shim, iface))
    return [link, *(Address(None, iface.name, cidr, owner=network.owner) for cidr in ctx.cidrs(shim, iface, host=True))]


def interface_objects(ep: Endpoint, att: Attachment) -> list[KernelObject]:
    network, iface = att.network, att.iface
    link = _link(network, ep.netns, iface.name, ep.owner, network.lower.mode, att.mac(ep.name))
    objects: list[KernelObject] = [link]
    objects += [Address(ep.netns, iface.name, cidr, owner=ep.owner) for cidr in att.cidrs()]
    shim = shim_endpoint(network)
    if shim is not None:
        via = shim.interfaces[0].name
        objects += [Route(None, cidr, None, via, owner=network.owner) for cidr in att.cidrs(host=True)]
    return objects


def _link(network: Network, ns: str | None, name: str, owner: str, mode: str, mac: str) -> LowerLink:
    common = dict(ns=ns, name=name, parent=network.parent, mode=mode, mtu=network.mtu, ipv6=network.enable_ipv6,
                  owner=owner)
    if network.driver == "macvlan":
        return Macvlan(**common, mac=mac)
    return Ipvlan(**common, flag=network.lower.flag if ns else "bridge")


def firewall_rules(network: Network, ctx: Context) -> list[NftRule]:
    return []
