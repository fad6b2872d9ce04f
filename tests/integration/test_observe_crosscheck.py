"""What observe reports against what an independent decoder reads from the same kernel: pyroute2.

Each test applies real manifests in a sandbox (bridge networks dual stack and isolated with a
published port, macvlan endpoints and a hostAccess shim, an overlay over VXLAN on an IPv4 and on an
IPv6 underlay with remote hosts' FDB and neighbour entries in both families), then reads the kernel
twice inside the sandbox:
tests/integration/observe_dump.py runs our observe, tests/integration/pyroute2_dump.py reads every
namespace with pyroute2's IPRoute and imports nothing of ours. Here pyroute2's facts become the
objects observe should report, by the rules the model states (our mark on links and loopbacks, our
route protocol, a veth is a pair whose ends name each other, the entries of our VXLAN links), and
the two must agree object by object, field by field. Then drift is made by hand (port flags, MTU,
MAC, link state, IPv6 and route_localnet settings, a macvlan's mode, extra addresses, routes and a
multipath route, FDB and neighbour entries added and removed) and they must agree again.

Not compared: hosts files, sysctls and our nftables table (no netlink state). Port flags come from
an AF_BRIDGE dump (IFLA_PROTINFO), route_localnet and disable_ipv6 from IFLA_AF_SPEC: other kernel
paths than those observe reads. Link kinds this kernel lacks (ipvlan, vlan, dummy) are not built
here; one of ours that the cross-check cannot decode fails the test.
"""

from __future__ import annotations

import ipaddress
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from builders import (
    LAN_SUBNET,
    PARENT,
    ROUTER,
    converge,
    endpoint,
    lower_network,
    make_lan,
    network,
    write,
)
from test_overlay import host, placed

from reconciler.model import ALIAS_PREFIX, OWNER_GROUP, ROUTE_PROTO

pytestmark = pytest.mark.kernel

HERE = Path(__file__).resolve().parent
MAIN_TABLE, AF_INET, AF_INET6, AF_BRIDGE = 254, 2, 10, 7
NUD_NOARP, NUD_PERMANENT, NTF_SELF = 0x40, 0x80, 0x02
NO_NSID = 0xFFFFFFFF
NETLINK_KINDS = {"netns", "bridge", "veth", "macvlan", "ipvlan", "vlan", "dummy", "vxlan", "address", "route",
                 "fdb", "bridge-fdb", "neigh"}

Objects = dict[tuple, tuple[str, dict[str, Any]]]


def views(sandbox) -> tuple[Objects, Objects]:
    """(what observe reports, what pyroute2 reads made into the objects observe should report)."""
    reported = json.loads(sandbox.sh(f"{sys.executable} {HERE / 'observe_dump.py'}").stdout)
    read = json.loads(sandbox.sh(f"{sys.executable} {HERE / 'pyroute2_dump.py'}").stdout)
    observed = {tuple(o["key"]): (o["kind"], o["fields"]) for o in reported if o["kind"] in NETLINK_KINDS}
    return observed, expected_objects(read)


def disagreements(observed: Objects, expected: Objects) -> list[str]:
    out = [f"observe reports {k}, pyroute2 finds no such object" for k in observed.keys() - expected.keys()]
    out += [f"pyroute2 finds {k} {expected[k][1]}, observe does not report it" for k in expected.keys() - observed.keys()]
    for key in observed.keys() & expected.keys():
        (kind, have), (want_kind, want) = observed[key], expected[key]
        if kind != want_kind:
            out.append(f"{key}: observe says {kind}, pyroute2 {want_kind}")
        out += [f"{key} {name}: observe {have.get(name, '<no field>')!r}, pyroute2 {want.get(name, '<not decoded>')!r}"
                for name in sorted(have.keys() | want.keys()) if have.get(name, ...) != want.get(name, ...)]
    return sorted(out)


def assert_agree(sandbox) -> Objects:
    observed, expected = views(sandbox)
    problems = disagreements(observed, expected)
    assert not problems, "observe and pyroute2 disagree:\n" + "\n".join(problems)
    return observed


# --- pyroute2's facts, made into the objects observe should report

def expected_objects(read: dict[str, dict]) -> Objects:
    host = read[""]
    objects: Objects = {}
    links = {link["index"]: link for link in host["links"]}
    for link in links.values():
        if ours(link):
            host_link(objects, link, links)
    addresses(objects, None, host, links, lambda link: owner(link))
    routes(objects, None, host, links, lambda link: owner(link) if link else "")
    vxlan_entries(objects, host, links)
    for name, ns in read.items():
        lo = next((link for link in ns["links"] if link["name"] == "lo"), None)
        if name and lo is not None and ours(lo):
            endpoint_namespace(objects, name, ns, owner(lo), host, links)
    return objects


def ours(link: dict) -> bool:
    return link["group"] == OWNER_GROUP


def owner(link: dict) -> str:
    return link["alias"][len(ALIAS_PREFIX):] if link["alias"].startswith(ALIAS_PREFIX) else ""


def name_of(links: dict[int, dict], index: int | None) -> str | None:
    return links[index]["name"] if index in links else None


def add(objects: Objects, key: tuple, kind: str, **fields: Any) -> None:
    objects[key] = (kind, fields)


def host_link(objects: Objects, link: dict, links: dict[int, dict]) -> None:
    name, kind, port = link["name"], link["kind"], link["port"] or {}
    common = {"name": name, "up": link["up"], "owner": owner(link)}
    key = ("link", None, name)
    if kind == "bridge":
        add(objects, key, kind, **common, mtu=link["mtu"], ipv6=link["disable_ipv6"] == 0, mac=link["mac"],
            localnet=link["route_localnet"] == 1)
    elif kind == "vxlan":
        vx = link["driver"]
        add(objects, key, kind, **common, vni=vx["vni"], port=vx["port"], local=vx["local"], dev=name_of(links, vx["link"]),
            master=name_of(links, link["master"]), mtu=link["mtu"], ipv6=link["disable_ipv6"] == 0,
            learning=port.get("learning", False))
    elif kind == "macvlan":
        add(objects, key, kind, **common, ns=None, parent=name_of(links, link["link"]) or "?",
            mode=link["driver"]["mode"], mtu=link["mtu"], ipv6=link["disable_ipv6"] == 0, mac=link["mac"])
    elif kind == "veth":  # paired with its peer when the peer's namespace is read; unpaired it stays so
        add(objects, key, kind, **common, ns="", peer="", mac="", mtu=link["mtu"], host_mac=link["mac"],
            master=name_of(links, link["master"]), isolated=port.get("isolated", False), ipv6=link["disable_ipv6"] == 0,
            hairpin=port.get("hairpin", False))
    else:
        raise AssertionError(f"a link of ours the cross-check cannot decode: {kind} {name}")


def endpoint_namespace(objects: Objects, name: str, ns: dict, ns_owner: str, host: dict, host_links: dict[int, dict]) -> None:
    lo = next(link for link in ns["links"] if link["name"] == "lo")
    add(objects, ("netns", name), "netns", name=name, owner=ns_owner, lo_up=lo["up"])
    links = {link["index"]: link for link in ns["links"]}
    in_host = nsid(ns, "")  # the id this namespace gives the host's: a link whose other end is there says it
    for link in links.values():
        if link["name"] == "lo" or not ours(link):
            continue
        parent_here = in_host is not None and link["link_netnsid"] == in_host
        if link["kind"] == "macvlan":
            add(objects, ("link", name, link["name"]), "macvlan", ns=name, name=link["name"],
                parent=(name_of(host_links, link["link"]) if parent_here else None) or "?",
                mode=link["driver"]["mode"], mtu=link["mtu"], ipv6=link["disable_ipv6"] == 0, up=link["up"],
                owner=owner(link), mac=link["mac"])
        elif link["kind"] == "veth" and parent_here:
            end = host_links.get(link["link"])
            if end and ours(end) and end["link"] == link["index"] and end["link_netnsid"] == nsid(host, name):
                port = end["port"] or {}
                add(objects, ("link", None, end["name"]), "veth", name=end["name"], ns=name, peer=link["name"],
                    mac=link["mac"], mtu=min(end["mtu"], link["mtu"]), host_mac=end["mac"],
                    master=name_of(host_links, end["master"]), isolated=port.get("isolated", False),
                    up=end["up"] and link["up"], ipv6=end["disable_ipv6"] == 0 or link["disable_ipv6"] == 0,
                    owner=owner(end), hairpin=port.get("hairpin", False))
    addresses(objects, name, ns, links, lambda link: ns_owner)
    routes(objects, name, ns, links, lambda link: ns_owner)


def nsid(ns: dict, other: str) -> int | None:
    found = ns["nsids"].get(other)
    return None if found in (None, NO_NSID) else found


def addresses(objects: Objects, ns: str | None, read: dict, links: dict[int, dict], owned_by) -> None:
    """The addresses of our links but loopback, IPv6 link-local ones left out (the kernel makes those)."""
    for a in read["addresses"]:
        link = links.get(a["index"])
        if link is None or not ours(link) or link["name"] == "lo":
            continue
        if a["family"] == AF_INET6 and ipaddress.ip_address(a["address"]).is_link_local:
            continue
        text = f"{a['address']}/{a['prefixlen']}"
        add(objects, ("address", ns, link["name"], text), "address", ns=ns, ifname=link["name"], address=text,
            owner=owned_by(link))


def routes(objects: Objects, ns: str | None, read: dict, links: dict[int, dict], owned_by) -> None:
    """Routes of our protocol in the main table, by their link (a multipath route's: its first hop's)."""
    for r in read["routes"]:
        if r["protocol"] != ROUTE_PROTO or r["table"] != MAIN_TABLE:
            continue
        dst = f"{r['dst']}/{r['dst_len']}" if r["dst"] else ("0.0.0.0/0" if r["family"] == AF_INET else "::/0")
        link = links.get(r["oif"])
        add(objects, ("route", ns, dst), "route", ns=ns, dst=dst, gateway=r["gateway"],
            ifname=link["name"] if link else "?", owner=owned_by(link))


def vxlan_entries(objects: Objects, host: dict, links: dict[int, dict]) -> None:
    """Our VXLAN links' own permanent entries (FDB: a MAC towards a VTEP; neighbour: an address and
    its MAC), and the static entries their bridge (NDA_MASTER) holds for them as its port."""
    for n in host["neighbours"]:
        link = links.get(n["index"])
        if link is None or not ours(link) or link["kind"] != "vxlan":
            continue
        name, who = link["name"], owner(link)
        if n["family"] == AF_BRIDGE and n["master"] == link["master"] and n["state"] == NUD_NOARP and n["dst"] is None:
            add(objects, ("bridge-fdb", name, n["mac"]), "bridge-fdb", ifname=name, mac=n["mac"], owner=who)
        elif n["family"] == AF_BRIDGE and n["flags"] & NTF_SELF and n["state"] & NUD_PERMANENT and n["dst"]:
            add(objects, ("fdb", name, n["mac"], n["dst"]), "fdb", ifname=name, mac=n["mac"], dst=n["dst"], owner=who)
        elif n["family"] in (AF_INET, AF_INET6) and n["state"] & NUD_PERMANENT and n["dst"]:
            add(objects, ("neigh", name, n["dst"]), "neigh", ifname=name, address=n["dst"], mac=n["mac"], owner=who)


# --- the scenarios

def single_host_manifests(sandbox) -> Path:
    ds = {"apiVersion": "netreconcile/v1", "kind": "Network", "metadata": {"name": "ds"},
          "spec": {"driver": "bridge", "enableIPv6": True,
                   "ipam": {"subnets": [{"subnet": "172.22.0.0/24"}, {"subnet": "fd00:22::/64"}]}}}
    iso = network("iso", "172.23.0.0/24", icc=False, internal=True, mtu=1400)
    lan = lower_network("lan60", "macvlan", LAN_SUBNET, gateway=ROUTER, parent=PARENT, mode="bridge", hostAccess=True)
    a = endpoint("a", {"network": "ds", "ipv4Address": "172.22.0.10", "ipv6Address": "fd00:22::10"}, "iso")
    a["spec"]["ports"] = [{"hostPort": 8080, "containerPort": 80, "network": "ds"}]  # its port in hairpin mode
    b = endpoint("b", "ds", "iso", {"network": "lan60", "ipv4Address": "192.168.60.21"})
    c = endpoint("c", {"network": "lan60", "ipv4Address": "192.168.60.22"})
    return write(sandbox, ds, iso, lan, a, b, c)


def host_end(observed: Objects, ns: str, peer: str) -> str:
    (name,) = [k[2] for k, (kind, f) in observed.items() if kind == "veth" and f["ns"] == ns and f["peer"] == peer]
    return name


def drift_by_hand(sandbox, observed: Objects) -> None:
    """Change by hand what observe reads of the single-host scenario, to values apply never sets."""
    a_iso, b_ds = host_end(observed, "a", "eth1"), host_end(observed, "b", "eth0")
    shim = next(k[2] for k, (kind, f) in observed.items() if kind == "macvlan" and f["ns"] is None)
    sandbox.sh(" && ".join([
        f"bridge link set dev {a_iso} isolated off hairpin on learning off",
        f"bridge link set dev {b_ds} hairpin off", f"ip link set dev {b_ds} down", f"ip link set dev {a_iso} nomaster",
        "ip -n b link set eth1 mtu 1300", "ip -n b link set eth0 address 02:42:ac:16:00:99",
        "ip link set br-ds address 02:00:00:00:22:01", "ip -n c link set lo down",
        "sysctl -qw net.ipv4.conf.br-ds.route_localnet=0", "sysctl -qw net.ipv6.conf.br-iso.disable_ipv6=0",
        f"sysctl -qw net.ipv6.conf.{shim}.disable_ipv6=0", "ip netns exec b sysctl -qw net.ipv6.conf.eth1.disable_ipv6=0",
        "ip -n c link set eth0 type macvlan mode private", "ip -n c link set eth0 down",
        "ip -n a addr add 172.22.0.99/24 dev eth0", "ip -n a -6 addr add fd00:22::99/64 dev eth0 nodad",
        "ip -n a addr add 10.97.0.1 peer 10.97.0.2/32 dev eth0",
        "ip -n a route add 10.99.0.0/24 via 172.22.0.1 proto 113",
        "ip -n a route add 10.98.0.0/24 proto 113 nexthop via 172.22.0.1 dev eth0 nexthop via 172.23.0.1 dev eth1",
        "ip -n a -6 route replace default via fd00:22::2 proto 113",
        "ip -n a -6 route add fd00:98::/64 proto 113 nexthop via fd00:22::1 dev eth0 nexthop via fd00:22::2 dev eth0",
        "ip -n b nexthop add id 7 via 172.23.0.1 dev eth1", "ip -n b route add 10.96.0.0/24 nhid 7 proto 113",
        "ip -6 route add fd00:99::/64 dev br-ds proto 113", "ip route del 192.168.60.22/32", "ip -n a link set eth1 down",
    ]))


def test_bridges_veths_macvlans_addresses_and_routes_in_both_families_read_the_same_through_pyroute2(sandbox):
    make_lan(sandbox)
    converge(sandbox, single_host_manifests(sandbox))
    observed = assert_agree(sandbox)
    kinds = {kind for kind, _ in observed.values()}
    assert {"netns", "bridge", "veth", "macvlan", "address", "route"} <= kinds
    assert any(f["hairpin"] for kind, f in observed.values() if kind == "veth")
    assert any(f["isolated"] for kind, f in observed.values() if kind == "veth")
    assert any(":" in f["address"] for kind, f in observed.values() if kind == "address")
    drift_by_hand(sandbox, observed)
    drifted = assert_agree(sandbox)
    assert drifted[("route", "a", "10.98.0.0/24")][1]["ifname"] == "eth0"  # a multipath route: its first hop
    assert drifted[("route", "b", "10.96.0.0/24")][1]["gateway"] == "172.23.0.1"  # by a nexthop object
    assert ("address", "a", "eth0", "10.97.0.1/32") in drifted and drifted[("netns", "c")][1]["lo_up"] is False
    b_ds = host_end(observed, "b", "eth0")
    doctored = dict(drifted)
    doctored[("link", None, b_ds)] = ("veth", {**drifted[("link", None, b_ds)][1], "up": True})
    assert disagreements(doctored, views(sandbox)[1]) == [f"('link', None, '{b_ds}') up: observe True, pyroute2 False"]


UNDERLAYS = {"ipv4": ("10.10.0.", 24), "ipv6": ("fd00:10::", 64)}  # node-a .11, node-b .12, node-c .13


def overlay_manifests(sandbox, underlay: str) -> Path:
    dual = {"apiVersion": "netreconcile/v1", "kind": "Network", "metadata": {"name": "appnet"},
            "spec": {"driver": "overlay", "enableIPv6": True,
                     "ipam": {"subnets": [{"subnet": "10.200.0.0/24"}, {"subnet": "fd00:200::/64"}]}}}
    v4 = {"apiVersion": "netreconcile/v1", "kind": "Network", "metadata": {"name": "dbnet"},
          "spec": {"driver": "overlay", "ipam": {"subnet": "10.201.0.0/24"}, "overlay": {"vni": 4242}}}
    eps = [placed("api1", "node-a", "appnet", "10.200.0.10"), placed("api2", "node-b", "appnet", "10.200.0.20"),
           placed("db1", "node-c", "appnet", "10.200.0.30"), placed("db2", "node-a", "dbnet", "10.201.0.10"),
           placed("db3", "node-b", "dbnet", "10.201.0.20")]
    for ep, v6 in zip(eps, ("fd00:200::10", "fd00:200::20", "fd00:200::30")):
        ep["spec"]["interfaces"][0]["ipv6Address"] = v6
    prefix = UNDERLAYS[underlay][0]
    hosts = [host(name, f"{prefix}{n}") for name, n in (("node-a", 11), ("node-b", 12), ("node-c", 13))]
    return write(sandbox, *hosts, dual, v4, *eps)


def make_underlay(sandbox, underlay: str) -> None:
    """node-a's underlay address on eth1, a veth into a namespace `ul` that is not ours."""
    prefix, length = UNDERLAYS[underlay]
    sandbox.sh("ip netns add ul && ip link add eth1 type veth peer name eth1 netns ul && "
               f"ip addr add {prefix}11/{length} dev eth1 nodad && ip link set eth1 up && ip -n ul link set eth1 up")


def overlay_drift_by_hand(sandbox, observed: Objects, underlay: str) -> str:
    """Change by hand the entries and settings of one VXLAN link (returned) of the overlay scenario."""
    by_vni = {f["vni"]: k[2] for k, (kind, f) in observed.items() if kind == "vxlan"}
    vx, dual = by_vni.pop(4242), by_vni.popitem()[1]
    neigh6 = next(f for k, (kind, f) in observed.items() if kind == "neigh" and ":" in f["address"])
    fdb = next(f for k, (kind, f) in observed.items() if kind == "fdb" and f["ifname"] == vx and f["mac"] != "00:00:00:00:00:00")
    prefix = UNDERLAYS[underlay][0]
    sandbox.sh(" && ".join([
        f"bridge link set dev {vx} learning on", f"bridge fdb del {fdb['mac']} dev {vx} dst {fdb['dst']}",
        f"bridge fdb append 00:00:00:00:00:00 dev {vx} dst {prefix}99",
        f"bridge fdb add 02:42:0a:c9:00:63 dev {vx} dst {prefix}98",
        f"bridge fdb del {fdb['mac']} dev {vx} master", f"bridge fdb add 02:42:0a:c9:00:64 dev {vx} master static",
        f"ip neigh replace 10.201.0.99 lladdr 02:42:0a:c9:00:63 dev {vx} nud permanent",
        f"ip -6 neigh replace fd00:200::99 lladdr 02:42:0a:c8:00:63 dev {dual} nud permanent",
        f"ip -6 neigh del {neigh6['address']} dev {dual}",
        f"ip link set {vx} mtu 1400", f"ip link set {vx} down",
    ]))
    return vx


@pytest.mark.parametrize("underlay", sorted(UNDERLAYS))
def test_an_overlay_with_fdb_and_neighbour_entries_of_remote_hosts_reads_the_same_through_pyroute2(sandbox, underlay):
    """This sandbox is node-a (its underlay address on eth1); node-b and node-c are only declared:
    their endpoints appear here as FDB, neighbour and bridge entries on the VXLAN links."""
    make_underlay(sandbox, underlay)
    converge(sandbox, overlay_manifests(sandbox, underlay))
    observed = assert_agree(sandbox)
    kinds = [kind for kind, _ in observed.values()]
    assert {"vxlan", "fdb", "bridge-fdb", "neigh"} <= set(kinds) and kinds.count("vxlan") == 2
    assert any(":" in f["address"] for kind, f in observed.values() if kind == "neigh")
    assert {f["local"] for kind, f in observed.values() if kind == "vxlan"} == {f"{UNDERLAYS[underlay][0]}11"}
    vx = overlay_drift_by_hand(sandbox, observed, underlay)
    drifted = assert_agree(sandbox)
    assert drifted[("link", None, vx)][1]["learning"] is True
    assert ("fdb", vx, "00:00:00:00:00:00", f"{UNDERLAYS[underlay][0]}99") in drifted and ("bridge-fdb", vx, "02:42:0a:c9:00:64") in drifted
