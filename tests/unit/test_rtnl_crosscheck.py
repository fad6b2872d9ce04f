"""What our rtnetlink encoder sends, read back by an independent decoder: pyroute2's message classes;
and what pyroute2 encodes as the kernel's replies, read by our decoder.

Each request reconciler/kernel/rtnl.py and linkreq.py build (a veth, a bridge, a macvlan, an ipvlan, a vlan, a VXLAN, a
link change, bridge port flags, addresses, routes, neighbour and forwarding entries, lookups and
dumps) is captured as the bytes the kernel would receive, then parsed by pyroute2 and compared
attribute by attribute, nested ones included, with message types, flags and numbers taken from
pyroute2's own constants. The other way, dump replies encoded by pyroute2 (links of every kind we
make, ipvlan and vlan included, which this machine's kernel lacks and the kernel cross-check in
tests/integration/test_observe_crosscheck.py cannot reach; addresses, routes, entries) are read by
our client. No root needed: the client's socket is swapped for a recorder.

pyroute2 (0.9.7) cannot decode or encode IFLA_IPVLAN_FLAGS, and names no ipvlan mode l3s: those
checks are skipped, saying so, until a pyroute2 that knows them is installed.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable
from typing import Any

import pyroute2.netlink as nl
import pyroute2.netlink.rtnl as rt
import pyroute2.netlink.rtnl.ndmsg as nd
import pytest
from pyroute2.netlink.rtnl.ifaddrmsg import IFA_F_NODAD, ifaddrmsg
from pyroute2.netlink.rtnl.ifinfmsg import IFF_UP, ifinfmsg
from pyroute2.netlink.rtnl.ifinfmsg.plugins.ipvlan import ipvlan as pyroute2_ipvlan
from pyroute2.netlink.rtnl.rtmsg import rtmsg

from reconciler import model
from reconciler.kernel import linkreq, rtnl
from reconciler.kernel.rtnl_client import RtnlClient

# --- the adapter: the only lines naming rtnl's client class and its socket (issue 16 renames the class)
CLIENT = RtnlClient
ENCODERS = {"veth": linkreq.veth_data, "macvlan": linkreq.macvlan_data, "ipvlan": linkreq.ipvlan_data,
            "vlan": linkreq.vlan_data, "vxlan": linkreq.vxlan_data}


def recording_client(replies: list[bytes] | None = None) -> Any:
    """A client of ours whose socket records what it sends instead of sending it (and answers a dump
    with `replies`)."""
    client = CLIENT()
    client.sock.close()
    client.sock = Recorder(replies or [])
    return client


def recorded(client: Any) -> list[bytes]:
    return client.sock.sent


def driver_fields(link: rtnl.LinkMsg) -> tuple[int, int]:
    """What a parsed link says of its driver: (macvlan or ipvlan mode, VLAN id or VNI; ipvlan flag or
    VXLAN port)."""
    if link.kind == "vlan":
        return link.vlan_id, 0
    if link.kind == "vxlan":
        return link.vni, link.port
    return link.mode, link.flag
# ---

AF_BRIDGE = 7  # linux/socket.h (Python's socket module has no AF_BRIDGE)
GROUP = model.OWNER_GROUP
CREATE = nl.NLM_F_REQUEST | nl.NLM_F_ACK | nl.NLM_F_CREATE | nl.NLM_F_EXCL
ECHOED = CREATE | nl.NLM_F_ECHO  # a link made here is echoed back (its index without a request); one born elsewhere is not
REPLACE = nl.NLM_F_REQUEST | nl.NLM_F_ACK | nl.NLM_F_CREATE | nl.NLM_F_REPLACE
ACKED = nl.NLM_F_REQUEST | nl.NLM_F_ACK
HEADER = struct.Struct("=IHHII")


class Recorder:
    """Stands for the netlink socket: keeps each request, answers as the kernel would (an ACK, the
    end of a dump after `replies`, or a link for a lookup)."""

    LOOKED_UP = 42

    def __init__(self, replies: list[bytes]) -> None:
        self.sent: list[bytes] = []
        self.replies = replies

    def send(self, data: bytes) -> int:
        self.sent.append(bytes(data))
        return len(data)

    def recv_into(self, buffer: bytearray) -> int:
        data = self.recv()
        buffer[:len(data)] = data
        return len(data)

    def recv(self) -> bytes:
        _, kind, flags, seq, _ = HEADER.unpack_from(self.sent[-1])
        if flags & nl.NLM_F_DUMP == nl.NLM_F_DUMP:
            return b"".join(self.replies) + HEADER.pack(HEADER.size + 4, nl.NLMSG_DONE, nl.NLM_F_MULTI, seq, 0) + bytes(4)
        if kind == rt.RTM_GETLINK:
            body = struct.pack("=BxHiII", socket.AF_UNSPEC, 0, self.LOOKED_UP, 0, 0)
            return HEADER.pack(HEADER.size + len(body), rt.RTM_NEWLINK, 0, seq, 0) + body
        ack = struct.pack("=i", 0) + self.sent[-1][:HEADER.size]
        return HEADER.pack(HEADER.size + len(ack), nl.NLMSG_ERROR, 0, seq, 0) + ack

    def close(self) -> None:
        pass


def sent(call: Callable[[Any], object], decoder: type) -> Any:
    """The one message `call` sends on a recording client, decoded by pyroute2's `decoder`: every
    byte accounted for (the header's length is the message's)."""
    client = recording_client()
    call(client)
    (data,) = recorded(client)
    msg = decoder(data)
    msg.decode()
    assert msg["header"]["length"] == len(data)
    return msg


def tree(msg: Any) -> dict[str, Any]:
    """A message's attributes as {name: value}, nested ones as dicts of theirs; attributes pyroute2
    cannot name are kept as ('UNKNOWN', type)."""
    out: dict[str, Any] = {}
    for name, value, *_ in msg["attrs"]:
        if name == "UNKNOWN":
            name = ("UNKNOWN", value["header"]["type"])
        out[name] = tree(value) if isinstance(value, nl.nlmsg_base) and "attrs" in value else value
    return out


def header(msg: Any) -> tuple[int, int]:
    return msg["header"]["type"], msg["header"]["flags"]


def new_link(name: str, kind: str, **kwargs: Any) -> Callable[[Any], object]:
    return lambda client: client.new_link(name, kind, **kwargs)


def test_a_veth_is_created_with_its_peer_born_in_the_endpoints_namespace():
    data = ENCODERS["veth"]("eth0", GROUP, 1400, "02:42:ac:14:00:0a", 9)
    msg = sent(new_link("nr-web1", "veth", group=GROUP, mtu=1400, mac="02:42:ac:14:00:01", master=7, data=data), ifinfmsg)
    assert header(msg) == (rt.RTM_NEWLINK, ECHOED)
    assert (msg["family"], msg["index"], msg["flags"], msg["change"]) == (socket.AF_UNSPEC, 0, 0, 0)
    assert tree(msg) == {
        "IFLA_IFNAME": "nr-web1", "IFLA_GROUP": GROUP, "IFLA_MTU": 1400, "IFLA_ADDRESS": "02:42:ac:14:00:01",
        "IFLA_MASTER": 7,
        "IFLA_LINKINFO": {"IFLA_INFO_KIND": "veth", "IFLA_INFO_DATA": {"VETH_INFO_PEER": {
            "IFLA_IFNAME": "eth0", "IFLA_GROUP": GROUP, "IFLA_MTU": 1400, "IFLA_NET_NS_FD": 9,
            "IFLA_ADDRESS": "02:42:ac:14:00:0a"}}},
    }
    peer = msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_DATA", "VETH_INFO_PEER")
    assert (peer["family"], peer["index"], peer["flags"], peer["change"]) == (socket.AF_UNSPEC, 0, 0, 0)


def test_a_bridge_is_created_with_its_mark_mtu_and_mac_in_the_creating_request():
    msg = sent(new_link("br-frontend", "bridge", group=GROUP, mtu=1450, mac="02:42:7e:00:00:01"), ifinfmsg)
    assert header(msg) == (rt.RTM_NEWLINK, ECHOED)
    assert tree(msg) == {"IFLA_IFNAME": "br-frontend", "IFLA_GROUP": GROUP, "IFLA_MTU": 1450,
                         "IFLA_ADDRESS": "02:42:7e:00:00:01", "IFLA_LINKINFO": {"IFLA_INFO_KIND": "bridge"}}


@pytest.mark.parametrize("mode", sorted(model.MACVLAN_MODES))
def test_a_macvlan_in_each_mode_is_born_in_its_namespace_on_its_parent(mode):
    data = ENCODERS["macvlan"](model.MACVLAN_MODES[mode])
    msg = sent(new_link("eth0", "macvlan", group=GROUP, link=3, mac="02:42:c0:a8:3c:15", netns_fd=8, data=data), ifinfmsg)
    assert header(msg) == (rt.RTM_NEWLINK, CREATE)
    # pyroute2 names the kernel's mode numbers: ours must be the kernel's for the same names
    assert tree(msg) == {"IFLA_IFNAME": "eth0", "IFLA_GROUP": GROUP, "IFLA_NET_NS_FD": 8,
                         "IFLA_ADDRESS": "02:42:c0:a8:3c:15", "IFLA_LINK": 3,
                         "IFLA_LINKINFO": {"IFLA_INFO_KIND": "macvlan", "IFLA_INFO_DATA": {"IFLA_MACVLAN_MODE": mode}}}


@pytest.mark.parametrize("mode", sorted(model.IPVLAN_MODES))
def test_an_ipvlan_carries_its_mode(mode):
    msg = sent(new_link("eth0", "ipvlan", group=GROUP, link=3, data=ENCODERS["ipvlan"](model.IPVLAN_MODES[mode], 0)), ifinfmsg)
    assert header(msg) == (rt.RTM_NEWLINK, ECHOED)
    assert msg.get_attr("IFLA_LINK") == 3
    info = msg.get_attr("IFLA_LINKINFO")
    assert info.get_attr("IFLA_INFO_KIND") == "ipvlan"
    assert info.get_attr("IFLA_INFO_DATA").get_attr("IFLA_IPVLAN_MODE") == model.IPVLAN_MODES[mode]
    name = f"IPVLAN_MODE_{mode.upper()}"
    if name not in pyroute2_ipvlan.modes:
        pytest.skip(f"pyroute2 names no ipvlan mode {mode} (no {name}): its number is checked, not its name")
    assert pyroute2_ipvlan.modes[name] == model.IPVLAN_MODES[mode]


@pytest.mark.parametrize("flag", sorted(model.IPVLAN_FLAGS))
def test_an_ipvlan_carries_its_flag(flag):
    if "IFLA_IPVLAN_FLAGS" not in {entry[0] for entry in pyroute2_ipvlan.nla_map}:
        pytest.skip("pyroute2 cannot decode IFLA_IPVLAN_FLAGS (0.9.7 has none): the flag is not cross-checked")
    msg = sent(new_link("eth0", "ipvlan", group=GROUP, link=3, data=ENCODERS["ipvlan"](0, model.IPVLAN_FLAGS[flag])), ifinfmsg)
    assert msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_DATA", "IFLA_IPVLAN_FLAGS") == model.IPVLAN_FLAGS[flag]


def test_a_vlan_carries_its_id_on_its_parent():
    msg = sent(new_link("eth1.60", "vlan", group=GROUP, link=2, data=ENCODERS["vlan"](60)), ifinfmsg)
    assert header(msg) == (rt.RTM_NEWLINK, ECHOED)
    assert tree(msg) == {"IFLA_IFNAME": "eth1.60", "IFLA_GROUP": GROUP, "IFLA_LINK": 2,
                         "IFLA_LINKINFO": {"IFLA_INFO_KIND": "vlan", "IFLA_INFO_DATA": {"IFLA_VLAN_ID": 60}}}


@pytest.mark.parametrize("local, attribute", [("10.10.0.11", "IFLA_VXLAN_LOCAL"), ("fd00:10::11", "IFLA_VXLAN_LOCAL6")])
def test_a_vxlan_carries_its_vni_port_local_vtep_and_underlay_without_learning_and_with_proxy(local, attribute):
    data = ENCODERS["vxlan"](4097, 4789, local, 2)
    msg = sent(new_link("vx-appnet", "vxlan", group=GROUP, mtu=1450, data=data), ifinfmsg)
    assert header(msg) == (rt.RTM_NEWLINK, ECHOED)
    assert tree(msg) == {"IFLA_IFNAME": "vx-appnet", "IFLA_GROUP": GROUP, "IFLA_MTU": 1450, "IFLA_LINKINFO": {
        "IFLA_INFO_KIND": "vxlan", "IFLA_INFO_DATA": {
            "IFLA_VXLAN_ID": 4097, "IFLA_VXLAN_PORT": 4789, attribute: local,
            "IFLA_VXLAN_LEARNING": 0, "IFLA_VXLAN_PROXY": 1, "IFLA_VXLAN_LINK": 2}}}


def test_a_vxlan_without_local_address_or_underlay_link_sends_neither():
    msg = sent(new_link("vx-x", "vxlan", group=GROUP, data=ENCODERS["vxlan"](16777215, 8472, None, None)), ifinfmsg)
    assert tree(msg)["IFLA_LINKINFO"]["IFLA_INFO_DATA"] == {
        "IFLA_VXLAN_ID": 16777215, "IFLA_VXLAN_PORT": 8472, "IFLA_VXLAN_LEARNING": 0, "IFLA_VXLAN_PROXY": 1}


def test_a_link_change_sets_only_what_it_is_given():
    msg = sent(lambda c: c.set_link(5, up=True, group=GROUP, alias="netreconcile:frontend", mtu=1300,
                                    mac="02:42:00:00:00:01", master=0, name="eth9"), ifinfmsg)
    assert header(msg) == (rt.RTM_NEWLINK, ACKED)
    assert (msg["index"], msg["flags"], msg["change"]) == (5, IFF_UP, IFF_UP)
    assert tree(msg) == {"IFLA_IFNAME": "eth9", "IFLA_GROUP": GROUP, "IFLA_IFALIAS": "netreconcile:frontend",
                         "IFLA_MTU": 1300, "IFLA_MASTER": 0, "IFLA_ADDRESS": "02:42:00:00:00:01"}
    down = sent(lambda c: c.set_link(5, up=False), ifinfmsg)
    assert (down["index"], down["flags"], down["change"], tree(down)) == (5, 0, IFF_UP, {})


def test_bridge_port_flags_go_nested_in_protinfo_of_the_bridge_family():
    msg = sent(lambda c: c.set_bridge_port(6, isolated=True, hairpin=False, learning=True, flush=True), ifinfmsg)
    assert header(msg) == (rt.RTM_SETLINK, ACKED)
    assert (msg["family"], msg["index"]) == (AF_BRIDGE, 6)
    assert tree(msg) == {"IFLA_PROTINFO": {"IFLA_BRPORT_ISOLATED": 1, "IFLA_BRPORT_MODE": 0,
                                           "IFLA_BRPORT_LEARNING": 1, "IFLA_BRPORT_FLUSH": True}}
    nla_type = struct.unpack_from("=H", msg.data, HEADER.size + 16 + 2)[0]  # after the header and ifinfomsg
    assert nla_type & nl.NLA_F_NESTED, "IFLA_PROTINFO without nl.NLA_F_NESTED is read by the bridge as a port state"


def test_an_ipv4_address_is_added_as_ip_address_add_makes_it():
    msg = sent(lambda c: c.address(4, "172.20.0.10", 24, flags=IFA_F_NODAD), ifaddrmsg)
    assert header(msg) == (rt.RTM_NEWADDR, CREATE)
    assert (msg["family"], msg["prefixlen"], msg["flags"], msg["scope"], msg["index"]) == (socket.AF_INET, 24, IFA_F_NODAD, 0, 4)
    assert tree(msg) == {"IFA_ADDRESS": "172.20.0.10", "IFA_LOCAL": "172.20.0.10"}


def test_an_ipv6_address_is_deleted_by_its_address_alone():
    msg = sent(lambda c: c.address(4, "fd00:22::a", 64, delete=True), ifaddrmsg)
    assert header(msg) == (rt.RTM_DELADDR, ACKED)
    assert (msg["family"], msg["prefixlen"], msg["index"]) == (socket.AF_INET6, 64, 4)
    assert tree(msg) == {"IFA_ADDRESS": "fd00:22::a"}


def test_a_default_route_via_a_gateway_is_replaced_in_the_main_table_with_our_protocol():
    msg = sent(lambda c: c.route("0.0.0.0/0", "172.20.0.1", table=254, protocol=model.ROUTE_PROTO, scope=0, oif=4), rtmsg)
    assert header(msg) == (rt.RTM_NEWROUTE, REPLACE)
    assert (msg["family"], msg["dst_len"], msg["table"], msg["proto"], msg["scope"], msg["type"]) == (
        socket.AF_INET, 0, 254, model.ROUTE_PROTO, rt.rt_scope["universe"], rt.rt_type["unicast"])
    assert tree(msg) == {"RTA_GATEWAY": "172.20.0.1", "RTA_OIF": 4}


def test_an_ipv6_link_route_is_deleted_with_its_destination():
    msg = sent(lambda c: c.route("fd00:22::/64", None, table=254, protocol=model.ROUTE_PROTO, scope=rt.rt_scope["link"],
                                 oif=4, delete=True), rtmsg)
    assert header(msg) == (rt.RTM_DELROUTE, ACKED)
    assert (msg["family"], msg["dst_len"], msg["scope"], msg["type"]) == (socket.AF_INET6, 64, rt.rt_scope["link"], rt.rt_type["unicast"])
    assert tree(msg) == {"RTA_DST": "fd00:22::", "RTA_OIF": 4}


def test_a_host_route_without_interface_names_only_its_destination_and_gateway():
    msg = sent(lambda c: c.route("10.200.0.7/32", "192.168.60.1", table=254, protocol=model.ROUTE_PROTO, scope=0), rtmsg)
    assert tree(msg) == {"RTA_DST": "10.200.0.7", "RTA_GATEWAY": "192.168.60.1"}
    assert rt.rt_proto.get(msg["proto"], msg["proto"]) == model.ROUTE_PROTO  # none of the kernel's own protocol numbers


@pytest.mark.parametrize("family, dst", [(socket.AF_INET, "10.200.0.20"), (socket.AF_INET6, "fd00:200::20")])
def test_a_permanent_neighbour_entry_replaces_any_other(family, dst):
    msg = sent(lambda c: c.set_neigh(family, 7, "02:42:0a:c8:00:14", dst), nd.ndmsg)
    assert header(msg) == (rt.RTM_NEWNEIGH, REPLACE)
    assert (msg["family"], msg["ifindex"], msg["state"], msg["flags"]) == (family, 7, nd.NUD_PERMANENT, 0)
    assert tree(msg) == {"NDA_DST": dst, "NDA_LLADDR": "02:42:0a:c8:00:14"}


def test_a_vxlan_forwarding_entry_is_appended_on_the_device_itself():
    msg = sent(lambda c: c.set_neigh(AF_BRIDGE, 7, "00:00:00:00:00:00", "10.10.0.12"), nd.ndmsg)
    assert header(msg) == (rt.RTM_NEWNEIGH, nl.NLM_F_REQUEST | nl.NLM_F_ACK | nl.NLM_F_CREATE | nl.NLM_F_APPEND)
    assert (msg["family"], msg["ifindex"], msg["state"], msg["flags"]) == (AF_BRIDGE, 7, nd.NUD_PERMANENT, nd.NTF_SELF)
    assert tree(msg) == {"NDA_DST": "10.10.0.12", "NDA_LLADDR": "00:00:00:00:00:00"}
    gone = sent(lambda c: c.set_neigh(AF_BRIDGE, 7, "02:42:0a:c8:00:14", "fd00:10::12", delete=True), nd.ndmsg)
    assert header(gone) == (rt.RTM_DELNEIGH, ACKED)
    assert tree(gone) == {"NDA_DST": "fd00:10::12", "NDA_LLADDR": "02:42:0a:c8:00:14"}


def test_a_static_entry_of_the_bridge_names_the_mac_and_the_port_as_bridge_fdb_add_master_static():
    msg = sent(lambda c: c.set_bridge_fdb(7, "02:42:0a:c8:00:14"), nd.ndmsg)
    assert header(msg) == (rt.RTM_NEWNEIGH, REPLACE)
    assert (msg["family"], msg["ifindex"], msg["state"], msg["flags"]) == (AF_BRIDGE, 7, nd.NUD_NOARP, nd.NTF_MASTER)
    assert tree(msg) == {"NDA_LLADDR": "02:42:0a:c8:00:14"}
    assert header(sent(lambda c: c.set_bridge_fdb(7, "02:42:0a:c8:00:14", delete=True), nd.ndmsg)) == (rt.RTM_DELNEIGH, ACKED)


def test_a_link_is_looked_up_by_name_and_deleted_by_index():
    client = recording_client()
    assert client.link_index("nr-web1") == Recorder.LOOKED_UP
    lookup = ifinfmsg(recorded(client)[0])
    lookup.decode()
    assert header(lookup) == (rt.RTM_GETLINK, nl.NLM_F_REQUEST) and tree(lookup) == {"IFLA_IFNAME": "nr-web1"}
    msg = sent(lambda c: c.del_link(12), ifinfmsg)
    assert header(msg) == (rt.RTM_DELLINK, ACKED) and msg["index"] == 12 and tree(msg) == {}


SKIP_STATS = 1 << 3  # RTEXT_FILTER_SKIP_STATS (linux/rtnetlink.h): links without their IPv6 counters


@pytest.mark.parametrize("dump, decoder, kind, family, told", [
    (lambda c: c.links(), ifinfmsg, rt.RTM_GETLINK, socket.AF_UNSPEC, {"IFLA_EXT_MASK": SKIP_STATS}),
    (lambda c: c.addresses(), ifaddrmsg, rt.RTM_GETADDR, socket.AF_UNSPEC, {}),
    (lambda c: c.neighbours(AF_BRIDGE), nd.ndmsg, rt.RTM_GETNEIGH, AF_BRIDGE, {}),
    (lambda c: c.routes(), rtmsg, rt.RTM_GETROUTE, socket.AF_UNSPEC, {}),
])
def test_dumps_ask_for_every_object_of_their_type(dump, decoder, kind, family, told):
    msg = sent(dump, decoder)
    assert header(msg) == (kind, nl.NLM_F_REQUEST | nl.NLM_F_DUMP)
    assert msg["family"] == family and tree(msg) == told


def test_a_route_dump_filtered_by_table_and_protocol_says_so_in_its_header():
    msg = sent(lambda c: c.routes(254, model.ROUTE_PROTO), rtmsg)
    assert header(msg) == (rt.RTM_GETROUTE, nl.NLM_F_REQUEST | nl.NLM_F_DUMP)
    assert (msg["family"], msg["table"], msg["proto"]) == (socket.AF_UNSPEC, 254, model.ROUTE_PROTO)


# --- and the other way: what pyroute2 encodes as the kernel's dump replies, our decoder reads

def encoded(msg: Any, kind: int, **fields: Any) -> bytes:
    """A dump reply: pyroute2's message `msg` with `fields`, as the kernel would send it."""
    for name, value in fields.items():
        msg[name] = value
    msg["header"]["type"], msg["header"]["flags"] = kind, nl.NLM_F_MULTI
    msg.encode()
    return bytes(msg.data[:msg["header"]["length"]])


def dumped(dump: Callable[[Any], Any], *replies: bytes) -> Any:
    return dump(recording_client(list(replies)))


def link_reply(index: int, name: str, kind: str, data: list | None = None, **extra: Any) -> bytes:
    info = [("IFLA_INFO_KIND", kind)] + ([("IFLA_INFO_DATA", {"attrs": data})] if data else [])
    attrs = [("IFLA_IFNAME", name), ("IFLA_GROUP", GROUP), ("IFLA_LINKINFO", {"attrs": info})]
    return encoded(ifinfmsg(), rt.RTM_NEWLINK, index=index, flags=IFF_UP, attrs=attrs + list(extra.items()))


def test_our_link_parser_reads_a_vxlan_bridge_port_with_its_port_flags_ipv6_setting_and_peer_namespace():
    slave = [("IFLA_BRPORT_ISOLATED", 1), ("IFLA_BRPORT_MODE", 1), ("IFLA_BRPORT_LEARNING", 0)]
    info = [("IFLA_INFO_KIND", "vxlan"),
            ("IFLA_INFO_DATA", {"attrs": [("IFLA_VXLAN_ID", 4097), ("IFLA_VXLAN_PORT", 4789),
                                          ("IFLA_VXLAN_LOCAL6", "fd00:10::11"), ("IFLA_VXLAN_LINK", 2)]}),
            ("IFLA_INFO_SLAVE_KIND", "bridge"), ("IFLA_INFO_SLAVE_DATA", {"attrs": slave})]
    spec = [("AF_INET6", {"attrs": [("IFLA_INET6_CONF", {"disable_ipv6": 1})]})]
    attrs = [("IFLA_IFNAME", "vx-appnet"), ("IFLA_GROUP", GROUP), ("IFLA_IFALIAS", "netreconcile:network/appnet"),
             ("IFLA_MTU", 1450), ("IFLA_ADDRESS", "02:42:0a:00:00:09"), ("IFLA_MASTER", 4), ("IFLA_LINK_NETNSID", 3),
             ("IFLA_LINKINFO", {"attrs": info}), ("IFLA_AF_SPEC", {"attrs": spec})]
    (link,) = dumped(lambda c: c.links(), encoded(ifinfmsg(), rt.RTM_NEWLINK, index=9, flags=IFF_UP, attrs=attrs))
    assert (link.index, link.flags & IFF_UP, link.name, link.kind, link.group, link.alias) == (
        9, IFF_UP, "vx-appnet", "vxlan", GROUP, "netreconcile:network/appnet")
    assert (link.mtu, link.mac, link.master, link.link_netnsid, link.local, link.lower) == (
        1450, "02:42:0a:00:00:09", 4, 3, "fd00:10::11", 2)
    assert driver_fields(link) == (4097, 4789)
    assert (link.isolated, link.hairpin, link.learning, link.ipv6) == (True, True, False, False)


def test_our_link_parser_reads_ipv6_enabled_and_a_port_learning():
    slave = [("IFLA_BRPORT_ISOLATED", 0), ("IFLA_BRPORT_MODE", 0), ("IFLA_BRPORT_LEARNING", 1)]
    info = [("IFLA_INFO_KIND", "veth"), ("IFLA_INFO_SLAVE_KIND", "bridge"), ("IFLA_INFO_SLAVE_DATA", {"attrs": slave})]
    spec = [("AF_INET6", {"attrs": [("IFLA_INET6_CONF", {"disable_ipv6": 0})]})]
    reply = encoded(ifinfmsg(), rt.RTM_NEWLINK, index=5, attrs=[
        ("IFLA_IFNAME", "nr-web1"), ("IFLA_LINK", 2), ("IFLA_LINKINFO", {"attrs": info}), ("IFLA_AF_SPEC", {"attrs": spec})])
    (link,) = dumped(lambda c: c.links(), reply)
    assert (link.kind, link.link, link.link_netnsid, link.flags & IFF_UP) == ("veth", 2, -1, 0)
    assert (link.isolated, link.hairpin, link.learning, link.ipv6) == (False, False, True, True)


@pytest.mark.parametrize("mode", sorted(model.MACVLAN_MODES))
def test_our_link_parser_reads_each_macvlan_mode_as_pyroute2_names_it(mode):
    (link,) = dumped(lambda c: c.links(), link_reply(7, "eth0", "macvlan", [("IFLA_MACVLAN_MODE", mode)], IFLA_LINK=3))
    assert (link.kind, link.link, driver_fields(link)[0]) == ("macvlan", 3, model.MACVLAN_MODES[mode])


@pytest.mark.parametrize("mode", sorted(model.IPVLAN_MODES))
def test_our_link_parser_reads_each_ipvlan_mode(mode):
    (link,) = dumped(lambda c: c.links(), link_reply(7, "eth0", "ipvlan", [("IFLA_IPVLAN_MODE", model.IPVLAN_MODES[mode])]))
    assert (link.kind, driver_fields(link)[0]) == ("ipvlan", model.IPVLAN_MODES[mode])


def test_our_link_parser_reads_a_vlan_id():
    (link,) = dumped(lambda c: c.links(), link_reply(8, "eth1.60", "vlan", [("IFLA_VLAN_ID", 60)], IFLA_LINK=2))
    assert (link.kind, link.link, driver_fields(link)[0]) == ("vlan", 2, 60)


def test_our_address_dump_reads_the_local_address_of_a_point_to_point_one_and_an_ipv6_one():
    v4 = encoded(ifaddrmsg(), rt.RTM_NEWADDR, family=socket.AF_INET, prefixlen=32, index=3,
                 attrs=[("IFA_ADDRESS", "10.97.0.2"), ("IFA_LOCAL", "10.97.0.1")])
    v6 = encoded(ifaddrmsg(), rt.RTM_NEWADDR, family=socket.AF_INET6, prefixlen=64, index=4,
                 attrs=[("IFA_ADDRESS", "fd00:22::a")])
    found = dumped(lambda c: c.addresses(), v4, v6)
    assert [(a.family, a.prefixlen, a.index, a.address) for a in found] == [
        (socket.AF_INET, 32, 3, "10.97.0.1"), (socket.AF_INET6, 64, 4, "fd00:22::a")]


def test_our_route_dump_reads_tables_past_255_gateways_and_a_multipath_routes_first_hop():
    default = encoded(rtmsg(), rt.RTM_NEWROUTE, family=socket.AF_INET, dst_len=0, table=254, proto=model.ROUTE_PROTO,
                      type=rt.rt_type["unicast"], attrs=[("RTA_TABLE", 254), ("RTA_GATEWAY", "172.20.0.1"), ("RTA_OIF", 4)])
    hops = [{"oif": 6, "attrs": [("RTA_GATEWAY", "fd00:22::1")]}, {"oif": 7, "attrs": [("RTA_GATEWAY", "fd00:22::2")]}]
    multipath = encoded(rtmsg(), rt.RTM_NEWROUTE, family=socket.AF_INET6, dst_len=64, table=252, proto=2,
                        type=rt.rt_type["unicast"], attrs=[("RTA_DST", "fd00:98::"), ("RTA_TABLE", 1000), ("RTA_MULTIPATH", hops)])
    found = dumped(lambda c: c.routes(), default, multipath)
    assert [(r.family, r.dst, r.dst_len, r.table, r.protocol, r.oif, r.gateway, r.type) for r in found] == [
        (socket.AF_INET, None, 0, 254, model.ROUTE_PROTO, 4, "172.20.0.1", rt.rt_type["unicast"]),
        (socket.AF_INET6, "fd00:98::", 64, 1000, 2, 6, None, rt.rt_type["unicast"])]


def test_our_neighbour_dump_reads_forwarding_and_neighbour_entries():
    fdb = encoded(nd.ndmsg(), rt.RTM_NEWNEIGH, family=AF_BRIDGE, ifindex=5, state=nd.NUD_PERMANENT, flags=nd.NTF_SELF,
                  attrs=[("NDA_LLADDR", "00:00:00:00:00:00"), ("NDA_DST", "fd00:10::12")])
    static = encoded(nd.ndmsg(), rt.RTM_NEWNEIGH, family=AF_BRIDGE, ifindex=5, state=nd.NUD_NOARP,
                     attrs=[("NDA_LLADDR", "02:42:0a:c8:00:14"), ("NDA_MASTER", 4)])
    neigh = encoded(nd.ndmsg(), rt.RTM_NEWNEIGH, family=socket.AF_INET, ifindex=5, state=nd.NUD_PERMANENT,
                    attrs=[("NDA_DST", "10.200.0.20"), ("NDA_LLADDR", "02:42:0a:c8:00:14")])
    found = dumped(lambda c: c.neighbours(AF_BRIDGE), fdb, static, neigh)
    assert [(n.family, n.index, n.state, n.flags, n.dst, n.mac) for n in found] == [
        (AF_BRIDGE, 5, nd.NUD_PERMANENT, nd.NTF_SELF, "fd00:10::12", "00:00:00:00:00:00"),
        (AF_BRIDGE, 5, nd.NUD_NOARP, 0, None, "02:42:0a:c8:00:14"),
        (socket.AF_INET, 5, nd.NUD_PERMANENT, 0, "10.200.0.20", "02:42:0a:c8:00:14")]
