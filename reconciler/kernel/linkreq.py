"""The attributes of the link requests netreconcile makes (a new link's name, mark, MTU, MAC and namespace;
each kind's IFLA_INFO_DATA), in rtnetlink's wire format (reconciler/kernel/rtnl.py). No socket here."""

from __future__ import annotations

import struct
from ipaddress import ip_address

from reconciler.kernel import rtnl


def link_attrs(name: str, group: int, mtu: int | None = None, mac: str | None = None, netns_fd: int | None = None) -> bytes:
    """A new link's name, group (our mark), MTU, MAC and namespace, as attributes."""
    named = rtnl.nla_str(rtnl.IFLA_IFNAME, name) + rtnl.nla_u32(rtnl.IFLA_GROUP, group)
    return named + optional_link_attrs(mtu, mac, netns_fd)


def optional_link_attrs(mtu: int | None = None, mac: str | None = None, netns_fd: int | None = None,
                        master: int | None = None) -> bytes:
    """The attributes of those given (not None)."""
    body = b""
    for kind, value in ((rtnl.IFLA_MTU, mtu), (rtnl.IFLA_NET_NS_FD, netns_fd), (rtnl.IFLA_MASTER, master)):
        if value is not None:
            body += rtnl.nla_u32(kind, value)
    return body + (rtnl.nla(rtnl.IFLA_ADDRESS, rtnl.mac_bytes(mac)) if mac is not None else b"")


def veth_data(peer: str, group: int, mtu: int | None = None, mac: str | None = None, netns_fd: int | None = None) -> bytes:
    """A veth's IFLA_INFO_DATA: its peer, born with these attributes (in the namespace of `netns_fd`)."""
    peer_msg = rtnl.IFINFOMSG.pack(rtnl.AF_UNSPEC, 0, 0, 0, 0) + link_attrs(peer, group, mtu, mac, netns_fd)
    return rtnl.nla(rtnl.VETH_INFO_PEER, peer_msg)


def macvlan_data(mode: int) -> bytes:
    return rtnl.nla_u32(rtnl.IFLA_MACVLAN_MODE, mode)


def ipvlan_data(mode: int, flag: int) -> bytes:
    return rtnl.nla(rtnl.IFLA_IPVLAN_MODE, struct.pack("=H", mode)) + rtnl.nla(rtnl.IFLA_IPVLAN_FLAGS, struct.pack("=H", flag))


def vxlan_data(vni: int, port: int, local: str | None, link: int | None) -> bytes:
    """No learning, ARP/NDP answered from the neighbour table (proxy), the given VNI, port and VTEP."""
    data = rtnl.nla_u32(rtnl.IFLA_VXLAN_ID, vni) + rtnl.nla(rtnl.IFLA_VXLAN_PORT, struct.pack("!H", port))
    if local is not None:
        address = ip_address(local)
        data += rtnl.nla(rtnl.IFLA_VXLAN_LOCAL if address.version == 4 else rtnl.IFLA_VXLAN_LOCAL6, address.packed)
    data += rtnl.nla(rtnl.IFLA_VXLAN_LEARNING, b"\0") + rtnl.nla(rtnl.IFLA_VXLAN_PROXY, b"\1")
    if link is not None:
        data += rtnl.nla_u32(rtnl.IFLA_VXLAN_LINK, link)
    return data


def vlan_data(vlan_id: int) -> bytes:
    return rtnl.nla(rtnl.IFLA_VLAN_ID, struct.pack("=H", vlan_id))
