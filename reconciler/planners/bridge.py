"""The bridge driver, as Docker's: a Linux bridge with the gateway, a veth per endpoint, NAT out.

Firewall, per bridge (Docker's nftables layout): traffic into the bridge is accepted when it is a
reply, or comes from the same bridge (icc), and dropped otherwise, which isolates networks; traffic
out of the bridge is accepted, or for internal networks dropped unless it stays on the bridge.
The overlay driver builds the same bridge on each host: every function here takes the network's
BridgeOptions (its own, or its overlay's) from `options_of`.
"""

from __future__ import annotations

import reconciler.planners.firewall as fw
import reconciler.planners.services as services
from reconciler.input.spec import (
    BridgeOptions,
    Endpoint,
    Network,
    OverlayOptions,
    Subnet,
)
from reconciler.input.spec.naming import bridge_mac, host_ifname, stable_mac
from reconciler.model import Address, Bridge, KernelObject, NftRule, Veth
from reconciler.planners.context import Attachment, Context


def options_of(network: Network) -> BridgeOptions:
    """The bridge of a bridge network, or of an overlay network (the drivers that build one)."""
    options = network.options
    if isinstance(options, OverlayOptions):
        return options.bridge
    assert isinstance(options, BridgeOptions), f"network {network.name} ({network.driver}) has no bridge"
    return options


def network_objects(network: Network, ctx: Context) -> list[KernelObject]:
    return bridge_objects(network, options_of(network), any(e.network == network.name for e in ctx.exposures))


def bridge_objects(network: Network, options: BridgeOptions, exposed: bool) -> list[KernelObject]:
    """The bridge, with route_localnet when a port is published to its endpoints, and its gateways."""
    name = options.name
    bridge = Bridge(name, network.mtu, True, network.enable_ipv6, bridge_mac(name), owner=network.owner,
                    localnet=True if exposed else None)
    objects: list[KernelObject] = [bridge]
    for s in network.subnets:
        objects.append(Address(None, name, f"{s.gateway}/{s.subnet.prefixlen}", owner=network.owner))
    return objects


def interface_objects(ep: Endpoint, att: Attachment) -> list[KernelObject]:
    network, iface, options = att.network, att.iface, options_of(att.network)
    name = host_ifname(ep.name, network.name)
    veth = Veth(
        name=name,
        ns=ep.netns,
        peer=iface.name,
        mac=att.mac(ep.name),
        mtu=network.mtu,
        host_mac=stable_mac("veth", name),
        master=options.name,
        isolated=not options.icc,
        ipv6=network.enable_ipv6,
        owner=ep.owner,
        # DNATed traffic may come back from the endpoint's own port: br_netfilter bridges such a
        # packet back out of the port it came in by, which needs hairpin
        hairpin=True if att.exposed else None,
    )
    return [veth, *(Address(ep.netns, iface.name, cidr, owner=ep.owner) for cidr in att.cidrs())]


def firewall_rules(network: Network, ctx: Context) -> list[NftRule]:
    return bridge_rules(network, options_of(network), ctx.exposures)


def bridge_rules(network: Network, options: BridgeOptions, exposures: tuple[services.Exposure, ...]) -> list[NftRule]:
    """The bridge's chains: in (replies, icc, exposed ports, then drop) and out, and its NAT rules."""
    br, owner = options.name, network.owner
    chain_in, chain_out = f"in-{br}", f"out-{br}"
    accepts, masquerades = services.bridge_rules(network, options, exposures)
    rules = [
        fw.rule(owner, fw.FORWARD, "jump-in", [fw.meta("oifname", br), fw.verdict("jump", chain_in)]),
        fw.rule(owner, fw.FORWARD, "jump-out", [fw.meta("iifname", br), fw.verdict("jump", chain_out)]),
        fw.rule(owner, chain_in, "established", [fw.ct_state("established", "related"), fw.verdict("accept")]),
        fw.rule(owner, chain_in, "icc", [fw.meta("iifname", br), fw.verdict("accept" if options.icc else "drop")]),
        *accepts,  # published ports and service backends, then Docker's "unpublished port drop"
        fw.rule(owner, chain_in, "drop", [fw.verdict("drop")]),
        *masquerades,
    ]
    if network.internal:
        rules.append(fw.rule(owner, chain_out, "internal", [fw.meta("oifname", br, "!="), fw.verdict("drop")]))
    else:
        rules.append(fw.rule(owner, chain_out, "accept", [fw.verdict("accept")]))
    return rules + _nat_rules(network, options) + _direct_access_rules(network, options)


def _natted(network: Network, options: BridgeOptions) -> list[Subnet]:
    """The subnets behind NAT: IPv4 ones, and IPv6 ones unless `ipv6Mode: routed`."""
    return [s for s in network.subnets
            if s.version == 4 or (network.enable_ipv6 and options.ipv6_mode == "nat")]


def _nat_rules(network: Network, options: BridgeOptions) -> list[NftRule]:
    """Masquerade what leaves the host from the subnet (Docker: `oifname != br saddr subnet masquerade`)."""
    if network.internal or not options.masquerade:
        return []
    return [
        fw.rule(network.owner, fw.POSTROUTING, f"masquerade-{s.subnet}", [
            fw.addr("saddr", str(s.subnet)), fw.meta("oifname", options.name, "!="), {"masquerade": None},
        ])
        for s in _natted(network, options)
    ]


def _direct_access_rules(network: Network, options: BridgeOptions) -> list[NftRule]:
    """Drop packets sent straight to endpoint addresses from outside the bridge (Docker's raw rule);
    a routed subnet is meant to be reached directly (its bridge's in-chain still filters)."""
    return [
        fw.rule(network.owner, fw.RAW_PREROUTING, f"direct-{s.subnet}", [
            fw.addr("daddr", str(s.subnet)), fw.addr("daddr", f"{s.gateway}", "!="),
            fw.meta("iifname", options.name, "!="), fw.verdict("drop"),
        ])
        for s in _natted(network, options)
    ]
