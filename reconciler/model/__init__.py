"""Kernel objects: the same frozen types describe desired and observed state, so a diff is a comparison.

A field whose desired value is None means "not managed". `key` identifies an object; fields listed in
`immutable` cannot change in place (the object is replaced); `parents` are the keys it lives on.
One module per family (base, namespaces, links, entries, nftables); import them from here. They
import only reconciler.frozen and each other's base, never this package.
"""

from reconciler.model.base import (
    ALIAS_PREFIX,
    IPVLAN_FLAGS,
    IPVLAN_MODES,
    MACVLAN_MODES,
    NFT_FAMILY,
    NFT_MARKER,
    NFT_TABLE,
    OWNER_GROUP,
    ROUTE_PROTO,
    HostLinkObject,
    KernelObject,
    Key,
    link_key,
)
from reconciler.model.entries import Address, BridgeFdb, Fdb, Neigh, Route
from reconciler.model.links import (
    Bridge,
    Dummy,
    Ipvlan,
    LowerLink,
    Macvlan,
    Veth,
    Vlan,
    Vxlan,
)
from reconciler.model.namespaces import (
    HOSTS_MARK,
    NETNS_FILES,
    RESOLV_MARK,
    HostsFile,
    InterfaceSysctl,
    Netns,
    NetnsFile,
    ResolvConf,
    Sysctl,
    sysctl,
    sysctl_interface,
)
from reconciler.model.nftables import NftChain, NftRule, NftTable

__all__ = [
    "ALIAS_PREFIX",
    "HOSTS_MARK",
    "IPVLAN_FLAGS",
    "IPVLAN_MODES",
    "MACVLAN_MODES",
    "NETNS_FILES",
    "NFT_FAMILY",
    "NFT_MARKER",
    "NFT_TABLE",
    "OWNER_GROUP",
    "RESOLV_MARK",
    "ROUTE_PROTO",
    "Address",
    "Bridge",
    "BridgeFdb",
    "Dummy",
    "Fdb",
    "HostLinkObject",
    "HostsFile",
    "InterfaceSysctl",
    "Ipvlan",
    "KernelObject",
    "Key",
    "LowerLink",
    "Macvlan",
    "Neigh",
    "Netns",
    "NetnsFile",
    "NftChain",
    "NftRule",
    "NftTable",
    "ResolvConf",
    "Route",
    "Sysctl",
    "Veth",
    "Vlan",
    "Vxlan",
    "link_key",
    "sysctl",
    "sysctl_interface",
]
