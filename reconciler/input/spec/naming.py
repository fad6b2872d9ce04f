"""The names, MACs and VNIs netreconcile derives from the manifests' names: stable, so every host
derives the same ones and a link recreated gets its old ones back. A leaf: it imports nothing of ours.
"""

from __future__ import annotations

import hashlib
from ipaddress import IPv4Address, IPv6Address

# Links we name ourselves in the host namespace: veth host ends (`nr-`, host_ifname), hostAccess shims,
# macvlan/ipvlan links in transit (appliers.lower), dummy parents, overlay bridges and VXLAN links.
# A declared bridge must not look like one of them.
GENERATED_PREFIXES = ("nr-", "nrs-", "nrt-", "dm-", "ov-", "vx-")

HOST_SHIM = "@host"  # the allocation name of a hostAccess shim: never a valid endpoint name


def _hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def host_ifname(endpoint: str, network: str) -> str:
    """The host end of an endpoint's veth: stable, unique and recognisable (`nr-` + 10 hex)."""
    return "nr-" + _hex(f"{endpoint}\0{network}")[:10]


def shim_ifname(network: str) -> str:
    """The host's shim interface of a macvlan/ipvlan network with hostAccess (`nrs-` + 10 hex)."""
    return "nrs-" + _hex(network)[:10]


def default_bridge_name(network: str) -> str:
    """`br-<name>` when it fits in 15 characters, else a stable shortened form."""
    name = f"br-{network}"
    if len(name) <= 15:
        return name
    return f"br-{network[:7]}-{_hex(network)[:4]}"


def overlay_link_names(network: str) -> tuple[str, str]:
    """The bridge and VXLAN link of an overlay network: the same on every host."""
    digest = _hex(network)
    return "ov-" + digest[:12], "vx-" + digest[:12]


def mesh_ifname(network: str) -> str:
    """The host's routing-mesh interface on an overlay network's bridge (`nr-m` + 10 hex: no veth's)."""
    return "nr-m" + _hex(network)[:10]


def mesh_name(host: str) -> str:
    """The allocation name of a host's routing-mesh address: never a valid endpoint name."""
    return f"@mesh/{host}"


def dummy_parent_name(network: str) -> str:
    """The owned dummy parent of a macvlan/ipvlan network declared without one (Docker: `dm-<id>`)."""
    return "dm-" + _hex(network)[:12]


def vip_name(service: str) -> str:
    """The allocation name of a Service's VIP: never a valid endpoint name."""
    return f"@service/{service}"


def derived_vni(network: str) -> int:
    """A VNI from the network's name (1 .. 2^24-1): every host derives the same one."""
    return int.from_bytes(hashlib.sha256(f"vni\0{network}".encode()).digest()[:4], "big") % 0xFFFFFF + 1


def stable_mac(kind: str, name: str) -> str:
    """A locally administered MAC derived from a link's name: the same after any recreation.

    Bridges need one of their own (as Docker sets one): without it a bridge takes its lowest port's
    MAC and changes it, the gateway's MAC, whenever that port goes. Host veth ends get one so that
    the whole kernel state is a function of the manifests (a rollback restores it exactly)."""
    return _mac(b"\x02" + hashlib.sha256(f"{kind}\0{name}".encode()).digest()[:5])


def bridge_mac(name: str) -> str:
    return stable_mac("bridge", name)


def endpoint_mac(endpoint: str, network: str, ipv4: IPv4Address | IPv6Address | None) -> str:
    """An endpoint interface's MAC when none is declared: Docker's 02:42 + its IPv4 address, else
    02:42 + a digest of the names."""
    tail = ipv4.packed if ipv4 is not None else hashlib.sha256(f"{endpoint}/{network}".encode()).digest()[:4]
    return _mac(b"\x02\x42" + tail)


def _mac(octets: bytes) -> str:
    """The octets as a MAC: two lowercase hex digits each, colon-separated (bytes.hex: one C call)."""
    return octets.hex(":")
