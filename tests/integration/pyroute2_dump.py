"""Run inside a sandbox: what every network namespace holds, as pyroute2 decodes it, as JSON on stdout.

The independent reading of tests/integration/test_observe_crosscheck.py: it imports nothing of
reconciler/ and lists namespaces from /run/netns itself. For the sandbox's own namespace ("") and
each named one: every link (its kind, mark, alias, flags, MTU, MAC, master, peer, driver data, IPv6
and route_localnet from its per-family configuration, bridge port flags from an AF_BRIDGE dump),
every address, every route of every table, every neighbour and forwarding entry, and the ids that
namespace gives the others (to tell which namespace a veth's peer lives in).

pyroute2 0.9.7 cannot decode IFLA_IPVLAN_FLAGS: an ipvlan's flag is left out (null).
"""

from __future__ import annotations

import json
import os
import socket
import sys
from typing import Any

from pyroute2 import IPRoute

NETNS_DIR = "/run/netns"
AF_BRIDGE = 7
PORT_FLAGS = {"isolated": "IFLA_BRPORT_ISOLATED", "hairpin": "IFLA_BRPORT_MODE", "learning": "IFLA_BRPORT_LEARNING"}


def main() -> None:
    names = sorted(os.listdir(NETNS_DIR)) if os.path.isdir(NETNS_DIR) else []
    paths = {"": "/proc/self/ns/net", **{name: os.path.join(NETNS_DIR, name) for name in names}}
    json.dump({name: namespace(name, paths) for name in paths}, sys.stdout, indent=1, sort_keys=True)


def namespace(name: str, paths: dict[str, str]) -> dict[str, Any]:
    """Everything `name` holds ("": the sandbox's own namespace)."""
    fds = {other: os.open(path, os.O_RDONLY) for other, path in paths.items()}  # opened here: the caller's namespace
    try:
        with IPRoute(**({"netns": name, "flags": 0} if name else {})) as ipr:
            ports = {m["index"]: port_flags(m) for m in ipr.get_links(family=AF_BRIDGE)}
            return {
                "links": [link(m, ports.get(m["index"])) for m in ipr.get_links()],
                "addresses": [address(m) for m in ipr.get_addr()],
                "routes": [route(m) for m in ipr.route("dump", family=socket.AF_UNSPEC)],
                "neighbours": [neighbour(m) for family in (socket.AF_INET, socket.AF_INET6, AF_BRIDGE)
                               for m in ipr.get_neighbours(family=family)],
                "nsids": {other: (ipr.get_netnsid(fd=fd) or {}).get("nsid") for other, fd in fds.items()},
            }
    finally:
        for fd in fds.values():
            os.close(fd)


def link(m: Any, port: dict[str, bool] | None) -> dict[str, Any]:
    info = m.get_attr("IFLA_LINKINFO")
    kind = info.get_attr("IFLA_INFO_KIND") if info else None
    data = info.get_attr("IFLA_INFO_DATA") if info else None
    return {
        "index": m["index"], "name": m.get_attr("IFLA_IFNAME"), "kind": kind or "",
        "up": bool(m["flags"] & 1), "group": m.get_attr("IFLA_GROUP"), "alias": m.get_attr("IFLA_IFALIAS") or "",
        "mtu": m.get_attr("IFLA_MTU"), "mac": m.get_attr("IFLA_ADDRESS"), "master": m.get_attr("IFLA_MASTER"),
        "link": m.get_attr("IFLA_LINK"), "link_netnsid": m.get_attr("IFLA_LINK_NETNSID"),
        "port": port, "driver": driver_data(kind, data), **devconf(m),
    }


def driver_data(kind: str | None, data: Any) -> dict[str, Any] | None:
    if data is None or not hasattr(data, "get_attr"):
        return None
    if kind == "macvlan":
        return {"mode": data.get_attr("IFLA_MACVLAN_MODE")}
    if kind == "ipvlan":
        return {"mode": data.get_attr("IFLA_IPVLAN_MODE"), "flag": None}
    if kind == "vlan":
        return {"id": data.get_attr("IFLA_VLAN_ID")}
    if kind == "vxlan":
        return {"vni": data.get_attr("IFLA_VXLAN_ID"), "port": data.get_attr("IFLA_VXLAN_PORT"),
                "local": data.get_attr("IFLA_VXLAN_LOCAL") or data.get_attr("IFLA_VXLAN_LOCAL6"),
                "link": data.get_attr("IFLA_VXLAN_LINK"), "learning": data.get_attr("IFLA_VXLAN_LEARNING"),
                "proxy": data.get_attr("IFLA_VXLAN_PROXY")}
    return None


def devconf(m: Any) -> dict[str, Any]:
    """disable_ipv6 and route_localnet from the link's per-family configuration (IFLA_AF_SPEC)."""
    spec = m.get_attr("IFLA_AF_SPEC")
    inet = spec.get_attr("AF_INET") if spec else None
    inet6 = spec.get_attr("AF_INET6") if spec else None
    conf6 = inet6.get_attr("IFLA_INET6_CONF") if inet6 else None
    return {"disable_ipv6": conf6["disable_ipv6"] if conf6 else None,
            "route_localnet": inet["route_localnet"] if inet else None}


def port_flags(m: Any) -> dict[str, bool] | None:
    """A bridge port's flags, from IFLA_PROTINFO of an AF_BRIDGE dump (not the link info that observe reads)."""
    info = m.get_attr("IFLA_PROTINFO")
    return {flag: bool(info.get_attr(attr)) for flag, attr in PORT_FLAGS.items()} if info else None


def address(m: Any) -> dict[str, Any]:
    return {"family": m["family"], "index": m["index"], "prefixlen": m["prefixlen"],
            "address": m.get_attr("IFA_LOCAL") or m.get_attr("IFA_ADDRESS")}


def route(m: Any) -> dict[str, Any]:
    hops = m.get_attr("RTA_MULTIPATH")
    return {"family": m["family"], "dst": m.get_attr("RTA_DST"), "dst_len": m["dst_len"],
            "table": m.get_attr("RTA_TABLE") or m["table"], "protocol": m["proto"], "type": m["type"],
            "oif": m.get_attr("RTA_OIF") or (hops[0]["oif"] if hops else None), "gateway": m.get_attr("RTA_GATEWAY")}


def neighbour(m: Any) -> dict[str, Any]:
    return {"family": m["family"], "index": m["ifindex"], "state": m["state"], "flags": m["flags"],
            "dst": m.get_attr("NDA_DST"), "mac": m.get_attr("NDA_LLADDR"), "master": m.get_attr("NDA_MASTER")}


if __name__ == "__main__":
    main()
