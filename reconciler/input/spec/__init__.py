"""The typed spec: what the user declared (types), the names derived from it (naming), and how it is
read from schema-valid Documents (parse). Import from here; the modules import each other, never this.
"""

from reconciler.input.spec.naming import (
    GENERATED_PREFIXES,
    HOST_SHIM,
    default_bridge_name,
    derived_vni,
    dummy_parent_name,
    overlay_link_names,
    shim_ifname,
)
from reconciler.input.spec.parse import (
    AUTO,
    parse_address_pools,
    parse_endpoint,
    parse_host,
    parse_network,
    parse_service,
    subnet_dicts,
)
from reconciler.input.spec.types import (
    VXLAN_OVERHEAD,
    VXLAN_OVERHEAD_V6,
    VXLAN_PORT,
    AddressPools,
    BridgeOptions,
    Endpoint,
    Host,
    Interface,
    IPAddress,
    IPNetwork,
    LowerOptions,
    Manifests,
    Network,
    NetworkOptions,
    OverlayOptions,
    Pool,
    Port,
    Service,
    ServicePort,
    Subnet,
    shim_endpoint,
    vip_endpoint,
    where,
)

__all__ = [
    "AUTO", "AddressPools", "Pool", "parse_address_pools",
    "GENERATED_PREFIXES", "HOST_SHIM", "VXLAN_OVERHEAD", "VXLAN_OVERHEAD_V6", "VXLAN_PORT", "BridgeOptions", "Endpoint",
    "Host", "IPAddress", "IPNetwork", "Interface", "LowerOptions", "Manifests", "Network", "NetworkOptions", "OverlayOptions", "Port",
    "Service", "ServicePort", "Subnet", "default_bridge_name", "derived_vni", "dummy_parent_name", "overlay_link_names",
    "parse_endpoint", "parse_host", "parse_network", "parse_service", "shim_endpoint", "shim_ifname", "subnet_dicts",
    "vip_endpoint", "where",
]
