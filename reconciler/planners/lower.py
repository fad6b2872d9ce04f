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

from collections.abc import Iterable

from reconciler.input.spec import (
    Endpoint,
    LowerOptions,
    Network,
    dummy_parent_name,
    shim_endpoint,
)
from reconciler.model import (
    Address,
    Dummy,
    Ipvlan,
    KernelObject,
    Key,
    LowerLink,
    Macvlan,
    NftRule,
    Route,
    Vlan,
    link_key,
)
from reconciler.planners.context import Attachment, Context


def parent_objects(networks: Iterable[Network], foreign: frozenset[Key]) -> list[KernelObject]:
    """The parents netreconcile owns: one dummy per parentless network, one VLAN link per name in use
    (one that existed before, `foreign`, stays theirs)."""
    objects: list[KernelObject] = []
    vlans: dict[str, list[Network]] = {}
    for network in networks:
        options = network.options
        if not isinstance(options, LowerOptions):
            continue
        if options.parent is None:
            objects.append(Dummy(dummy_parent_name(network.name), owner=network.owner))
        elif options.vlan and link_key(None, options.parent) not in foreign:
            vlans.setdefault(options.parent, []).append(network)
    for name, users in sorted(vlans.items()):
        base, vlan_id = _vlan(users[0])
        objects.append(Vlan(name, base, vlan_id, owner=" ".join(sorted(u.owner for u in users))))
    return objects


def _vlan(network: Network) -> tuple[str, int]:
    vlan = options_of(network).vlan
    assert vlan is not None, f"network {network.name}'s parent is no VLAN"
    return vlan


def options_of(network: Network) -> LowerOptions:
    assert isinstance(network.options, LowerOptions), f"network {network.name} is {network.driver}"
    return network.options


def network_objects(network: Network, ctx: Context) -> list[KernelObject]:
    """With hostAccess, the host's shim and its host address in each of the network's subnets."""
    shim = shim_endpoint(network)
    if shim is None:
        return []
    iface = shim.interfaces[0]
    mode = "bridge" if network.driver == "macvlan" else options_of(network).mode
    link = _link(network, None, iface.name, network.owner, mode, ctx.mac(shim, iface))
    return [link, *(Address(None, iface.name, cidr, owner=network.owner) for cidr in ctx.cidrs(shim, iface, host=True))]


def interface_objects(ep: Endpoint, att: Attachment) -> list[KernelObject]:
    network, iface = att.network, att.iface
    link = _link(network, ep.netns, iface.name, ep.owner, options_of(network).mode, att.mac(ep.name))
    objects: list[KernelObject] = [link]
    objects += [Address(ep.netns, iface.name, cidr, owner=ep.owner) for cidr in att.cidrs()]
    shim = shim_endpoint(network)
    if shim is not None:
        via = shim.interfaces[0].name
        objects += [Route(None, cidr, None, via, owner=network.owner) for cidr in att.cidrs(host=True)]
    return objects


def _link(network: Network, ns: str | None, name: str, owner: str, mode: str, mac: str) -> LowerLink:
    options = options_of(network)
    parent = options.parent or dummy_parent_name(network.name)
    if options.driver == "macvlan":
        return Macvlan(ns=ns, name=name, parent=parent, mode=mode, mtu=network.mtu, ipv6=network.enable_ipv6,
                       owner=owner, mac=mac)
    flag = options.flag if ns else "bridge"
    return Ipvlan(ns=ns, name=name, parent=parent, mode=mode, mtu=network.mtu, ipv6=network.enable_ipv6, owner=owner,
                  flag=flag)


def firewall_rules(network: Network, ctx: Context) -> list[NftRule]:
    return []
