"""The rtnetlink codec without root: messages the kernel sent (captured) parse into what was built, and
every request our client encodes decodes back into what it was asked (a fake socket takes the bytes).
tests/integration/* run the same client against the kernel."""

from __future__ import annotations

import errno
import ipaddress
import json
import random
import socket
import struct
from collections import deque

import pytest

from reconciler.errors import KernelError
from reconciler.kernel import linkreq, rtnl
from reconciler.kernel.rtnl_client import EVERY_LINK, RtnlClient
from reconciler.model import (
    IPVLAN_FLAGS,
    IPVLAN_MODES,
    MACVLAN_MODES,
    OWNER_GROUP,
    ROUTE_PROTO,
)
from unit.helpers import FIXTURES

# How tests/fixtures/rtnl/captured.json was made: these commands in a sandbox, then dumps through
# RtnlClient.dump (links, AF_BRIDGE ports, addresses, routes, neighbours) and an RTM_GETNSID for ns1.
BUILT = """
ip netns add ns1 && ip netns set ns1 7
ip link add br0 type bridge && ip link set br0 mtu 1400 address 02:00:00:00:00:b0
ip link add v0 mtu 1400 address 02:00:00:00:00:01 group 0x4e52 type veth peer name p0 netns ns1
ip link set v0 master br0 alias netreconcile:net1
bridge link set dev v0 isolated on hairpin on learning off && sysctl -w net.ipv6.conf.v0.disable_ipv6=1
ip link set v0 up && ip link set br0 up
ip link add u0 type veth peer name u1 && ip addr add 10.0.0.1/24 dev u0 && ip link set u0 up
ip link add vx0 type vxlan id 4242 dstport 4789 local 10.0.0.1 dev u0 nolearning proxy && ip link set vx0 master br0
ip link add mv0 link u0 type macvlan mode vepa
ip addr add 10.1.0.1/24 dev br0 && ip addr add fd00::1/64 dev br0 nodad
ip route add 10.2.0.0/24 via 10.1.0.2 proto 113
ip route add 10.3.0.0/24 proto 113 nexthop via 10.1.0.2 nexthop via 10.1.0.3
ip route add 10.4.0.0/24 dev br0 table 100
bridge fdb append 00:00:00:00:00:00 dev vx0 dst 10.0.0.2
ip neigh add 10.1.0.9 lladdr 02:00:00:00:00:09 dev vx0 nud permanent
bridge fdb add 02:00:00:00:00:0a dev vx0 master static
"""
CAPTURED = json.loads((FIXTURES / "rtnl" / "captured.json").read_text())
RTN_LOCAL, RTM_NEWNSID = 2, 88


def captured(*path: str) -> memoryview:
    node = CAPTURED
    for part in path:
        node = node[part]
    return memoryview(bytes.fromhex(node))


def link(name: str) -> rtnl.LinkMsg:
    return rtnl.parse_link(captured("links", name))


def test_a_bridge_port_veth_is_read_with_its_mark_alias_port_flags_and_its_peer_in_another_namespace():
    v0, br0, p0 = link("v0"), link("br0"), link("p0")

    assert (v0.kind, v0.group, v0.alias, v0.mtu, v0.mac) == ("veth", OWNER_GROUP, "netreconcile:net1", 1400,
                                                              "02:00:00:00:00:01")
    assert v0.flags & rtnl.IFF_UP and v0.master == br0.index
    assert (v0.isolated, v0.hairpin, v0.learning, v0.ipv6) == (True, True, False, False)
    assert (v0.link_netnsid, v0.link) == (7, p0.index)  # the peer: its index in the namespace of nsid 7
    assert (p0.link_netnsid, p0.link) == (0, v0.index)
    assert (br0.kind, br0.mtu, br0.mac, br0.ipv6, br0.master) == ("bridge", 1400, "02:00:00:00:00:b0", True, 0)


def test_a_vxlan_has_its_vni_port_local_address_and_underlay_in_fields_of_their_own():
    vx0, mv0 = link("vx0"), link("mv0")

    assert (vx0.kind, vx0.vni, vx0.port, vx0.local) == ("vxlan", 4242, 4789, "10.0.0.1")
    assert vx0.lower == mv0.link  # both made on u0
    assert (vx0.mode, vx0.flag, vx0.vlan_id) == (0, 0, 0)


def test_a_macvlan_has_its_mode_and_its_parent():
    mv0 = link("mv0")

    assert (mv0.kind, mv0.mode, mv0.vni, mv0.port) == ("macvlan", MACVLAN_MODES["vepa"], 0, 0)
    assert mv0.link == link("vx0").lower


def test_the_loopback_is_up_and_has_no_kind():
    lo = link("lo")

    assert (lo.name, lo.kind, lo.mtu, lo.mac) == ("lo", "", 65536, "00:00:00:00:00:00")
    assert lo.flags & rtnl.IFF_UP


def test_bridge_port_news_tells_isolation_and_learning():
    body = captured("bridge_ports", "v0")

    assert rtnl.parse_link(body).family == rtnl.AF_BRIDGE
    assert rtnl.bridge_port(body) == (True, False)
    assert rtnl.link_index(body) == link("v0").index


def test_addresses_of_both_families():
    found = [rtnl.parse_address(memoryview(bytes.fromhex(h))) for h in CAPTURED["addresses"]]
    br0 = link("br0").index

    assert found == [rtnl.AddrMsg(socket.AF_INET, 24, br0, "10.1.0.1"), rtnl.AddrMsg(socket.AF_INET6, 64, br0, "fd00::1")]


def test_routes_with_gateway_multipath_other_tables_and_local_ones():
    routes = {(r.dst, r.table): r for r in (rtnl.parse_route(memoryview(bytes.fromhex(h))) for h in CAPTURED["routes"])}
    br0 = link("br0").index

    assert routes["10.2.0.0", rtnl.RT_TABLE_MAIN] == rtnl.RouteMsg(
        socket.AF_INET, "10.2.0.0", 24, rtnl.RT_TABLE_MAIN, ROUTE_PROTO, br0, "10.1.0.2")
    multipath = routes["10.3.0.0", rtnl.RT_TABLE_MAIN]
    assert (multipath.oif, multipath.gateway, multipath.protocol) == (br0, None, ROUTE_PROTO)  # its first hop's link
    assert routes["10.4.0.0", 100].oif == br0
    assert routes["10.1.0.1", rtnl.RT_TABLE_LOCAL].type == RTN_LOCAL
    assert routes["fd00::", rtnl.RT_TABLE_MAIN].family == socket.AF_INET6


def test_neighbour_and_forwarding_entries():
    found = {n.mac: n for n in (rtnl.parse_neighbour(memoryview(bytes.fromhex(h))) for h in CAPTURED["neighbours"])}
    vx0 = link("vx0").index

    remote = found["00:00:00:00:00:00"]
    assert (remote.family, remote.index, remote.dst) == (rtnl.AF_BRIDGE, vx0, "10.0.0.2")
    assert remote.state & rtnl.NUD_PERMANENT and remote.flags & rtnl.NTF_SELF
    static = found["02:00:00:00:00:0a"]
    assert (static.family, static.index, static.state, static.dst) == (rtnl.AF_BRIDGE, vx0, rtnl.NUD_NOARP, None)
    neigh = found["02:00:00:00:00:09"]
    assert (neigh.family, neigh.index, neigh.state, neigh.dst) == (socket.AF_INET, vx0, rtnl.NUD_PERMANENT, "10.1.0.9")


def test_an_nsid_reply():
    assert rtnl.parse_nsid(captured("nsid_reply")) == 7
    assert rtnl.parse_nsid(memoryview(rtnl.RTGENMSG.pack(socket.AF_UNSPEC))) == -1


def test_messages_splits_what_one_recv_returned_and_stops_at_a_broken_header():
    bodies = [bytes(captured("links", "lo")), bytes(captured("links", "br0")), b"\1\2\3"]  # the last one unaligned
    data = b"".join(_padded(rtnl.header(len(b), rtnl.RTM_NEWLINK, 0, 1) + b) for b in bodies)

    assert [(kind, bytes(body)) for kind, body in rtnl.messages(data)] == [(rtnl.RTM_NEWLINK, b) for b in bodies]
    assert list(rtnl.messages(rtnl.NLMSGHDR.pack(0, rtnl.RTM_NEWLINK, 0, 1, 0) + data)) == []


class FakeSocket:
    """Takes what the client sends; answers each request with what was queued, else an acknowledgement."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.replies: deque[bytes] = deque()

    def send(self, data: bytes, /) -> int:
        self.sent.append(data)
        return len(data)

    def recv_into(self, buffer: bytearray, /) -> int:
        data = self.replies.popleft() if self.replies else _error(0)
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        pass

    def request(self, index: int = -1) -> tuple[int, int, memoryview]:
        """The type, flags and body of a request sent."""
        data = self.sent[index]
        length, kind, flags, _, _ = rtnl.NLMSGHDR.unpack_from(data)
        assert length == len(data)
        return kind, flags, memoryview(data)[rtnl.NLMSGHDR.size:]


@pytest.fixture
def sock() -> FakeSocket:
    return FakeSocket()


@pytest.fixture
def client(sock: FakeSocket) -> RtnlClient:
    return RtnlClient(sock)


CREATE = rtnl.NLM_F_REQUEST | rtnl.NLM_F_ACK | rtnl.NLM_F_CREATE | rtnl.NLM_F_EXCL


def test_a_new_veth_decodes_into_its_name_mark_mtu_mac_and_its_peer_born_in_another_namespace(client, sock):
    peer = linkreq.veth_data("eth0", OWNER_GROUP, mtu=1400, mac="02:00:00:00:00:02", netns_fd=9)
    client.new_link("h1", "veth", group=OWNER_GROUP, mtu=1400, mac="02:00:00:00:00:01", data=peer)

    kind, flags, body = sock.request()
    made = rtnl.parse_link(body)
    assert (kind, flags) == (rtnl.RTM_NEWLINK, CREATE | rtnl.NLM_F_ECHO)  # echoed: its index without a request
    assert (made.name, made.kind, made.group, made.mtu, made.mac) == ("h1", "veth", OWNER_GROUP, 1400, "02:00:00:00:00:01")
    data = rtnl.attrs(rtnl.attrs(rtnl.attrs(body, rtnl.IFINFOMSG.size)[rtnl.IFLA_LINKINFO])[rtnl.IFLA_INFO_DATA])
    other = rtnl.parse_link(data[rtnl.VETH_INFO_PEER])
    assert (other.name, other.group, other.mtu, other.mac) == ("eth0", OWNER_GROUP, 1400, "02:00:00:00:00:02")
    assert rtnl.attrs(data[rtnl.VETH_INFO_PEER], rtnl.IFINFOMSG.size)[rtnl.IFLA_NET_NS_FD].tobytes() == struct.pack("=I", 9)


@pytest.mark.parametrize("local", ["10.0.0.1", "2001:db8::1"])
def test_a_new_vxlan_decodes_into_its_vni_port_local_address_and_underlay(client, sock, local):
    client.new_link("vx1", "vxlan", group=OWNER_GROUP, mtu=1450, data=linkreq.vxlan_data(4242, 4789, local, 5))

    made = rtnl.parse_link(sock.request()[2])
    assert (made.kind, made.vni, made.port, made.local, made.lower, made.mtu) == ("vxlan", 4242, 4789, local, 5, 1450)
    data = rtnl.attrs(rtnl.attrs(rtnl.attrs(sock.request()[2], rtnl.IFINFOMSG.size)[rtnl.IFLA_LINKINFO])[rtnl.IFLA_INFO_DATA])
    assert (bytes(data[rtnl.IFLA_VXLAN_LEARNING]), bytes(data[rtnl.IFLA_VXLAN_PROXY])) == (b"\0", b"\1")


def test_new_macvlan_ipvlan_and_vlan_links_decode_into_their_mode_flag_and_id(client, sock):
    client.new_link("m1", "macvlan", group=OWNER_GROUP, link=4, data=linkreq.macvlan_data(MACVLAN_MODES["private"]))
    client.new_link("i1", "ipvlan", group=OWNER_GROUP, link=4,
                    data=linkreq.ipvlan_data(IPVLAN_MODES["l3s"], IPVLAN_FLAGS["vepa"]))
    client.new_link("eth0.60", "vlan", group=OWNER_GROUP, link=4, data=linkreq.vlan_data(60))

    macvlan, ipvlan, vlan = (rtnl.parse_link(sock.request(i)[2]) for i in range(3))
    assert (macvlan.kind, macvlan.mode, macvlan.link) == ("macvlan", MACVLAN_MODES["private"], 4)
    assert (ipvlan.kind, ipvlan.mode, ipvlan.flag) == ("ipvlan", IPVLAN_MODES["l3s"], IPVLAN_FLAGS["vepa"])
    assert (vlan.kind, vlan.vlan_id, vlan.mode, vlan.link) == ("vlan", 60, 0, 4)


def test_set_link_changes_only_what_it_is_given(client, sock):
    client.set_link(7, up=True, alias="netreconcile:net1", mtu=1400, master=2, name="h2")
    client.set_link(7, up=False)
    client.set_link(7, group=OWNER_GROUP)

    kind, flags, body = sock.request(0)
    changed = rtnl.parse_link(body)
    assert (kind, flags) == (rtnl.RTM_NEWLINK, rtnl.NLM_F_REQUEST | rtnl.NLM_F_ACK)
    assert (changed.index, changed.name, changed.alias, changed.mtu, changed.master) == (7, "h2", "netreconcile:net1", 1400, 2)
    assert [rtnl.IFINFOMSG.unpack_from(sock.request(i)[2])[3:] for i in range(3)] == [
        (rtnl.IFF_UP, rtnl.IFF_UP), (0, rtnl.IFF_UP), (0, 0)]  # (flags, change mask)
    assert rtnl.parse_link(sock.request(2)[2]).group == OWNER_GROUP
    assert rtnl.parse_link(sock.request(2)[2]).mtu == 0  # not sent


@pytest.mark.parametrize(("address", "family"), [("10.1.0.5", socket.AF_INET), ("fd00::5", socket.AF_INET6)])
def test_an_address_request_decodes_into_the_address(client, sock, address, family):
    client.address(3, address, 24)
    client.address(3, address, 24, delete=True)

    assert sock.request(0)[:2] == (rtnl.RTM_NEWADDR, CREATE)
    assert rtnl.parse_address(sock.request(0)[2]) == rtnl.AddrMsg(family, 24, 3, address)
    assert sock.request(1)[0] == rtnl.RTM_DELADDR


def test_a_route_request_decodes_into_the_route(client, sock):
    client.route("10.2.0.0/24", "10.1.0.2", table=rtnl.RT_TABLE_MAIN, protocol=ROUTE_PROTO, scope=0, oif=3)
    client.route("::/0", "fd00::1", table=rtnl.RT_TABLE_MAIN, protocol=ROUTE_PROTO, scope=0, delete=True)

    kind, flags, body = sock.request(0)
    assert (kind, flags) == (rtnl.RTM_NEWROUTE, rtnl.NLM_F_REQUEST | rtnl.NLM_F_ACK | rtnl.NLM_F_CREATE | rtnl.NLM_F_REPLACE)
    assert rtnl.parse_route(body) == rtnl.RouteMsg(
        socket.AF_INET, "10.2.0.0", 24, rtnl.RT_TABLE_MAIN, ROUTE_PROTO, 3, "10.1.0.2")
    assert rtnl.route_protocol(body) == ROUTE_PROTO
    kind, _, body = sock.request(1)
    assert (kind, rtnl.parse_route(body)) == (rtnl.RTM_DELROUTE, rtnl.RouteMsg(
        socket.AF_INET6, None, 0, rtnl.RT_TABLE_MAIN, ROUTE_PROTO, 0, "fd00::1"))


def test_neighbour_and_forwarding_entry_requests_decode_into_the_entries(client, sock):
    client.set_neigh(rtnl.AF_BRIDGE, 6, "00:00:00:00:00:00", "10.0.0.2")
    client.set_neigh(socket.AF_INET, 6, "02:00:00:00:00:09", "10.1.0.9")
    client.set_bridge_fdb(6, "02:00:00:00:00:0a")
    client.set_bridge_fdb(6, "02:00:00:00:00:0a", delete=True)

    (k0, f0, b0), (_, f1, b1), (_, _, b2), (k3, _, _) = (sock.request(i) for i in range(4))
    assert (k0, f0 & rtnl.NLM_F_APPEND, k3) == (rtnl.RTM_NEWNEIGH, rtnl.NLM_F_APPEND, rtnl.RTM_DELNEIGH)
    assert rtnl.parse_neighbour(b0) == rtnl.NeighMsg(rtnl.AF_BRIDGE, 6, rtnl.NUD_PERMANENT, rtnl.NTF_SELF, "10.0.0.2",
                                                     "00:00:00:00:00:00")
    assert f1 & rtnl.NLM_F_REPLACE
    assert rtnl.parse_neighbour(b1) == rtnl.NeighMsg(socket.AF_INET, 6, rtnl.NUD_PERMANENT, 0, "10.1.0.9",
                                                     "02:00:00:00:00:09")
    assert rtnl.parse_neighbour(b2) == rtnl.NeighMsg(rtnl.AF_BRIDGE, 6, rtnl.NUD_NOARP, rtnl.NTF_MASTER, None,
                                                     "02:00:00:00:00:0a")


def test_a_bridge_port_request_decodes_into_the_flags_given_nested(client, sock):
    client.set_bridge_port(3, isolated=True, learning=False, flush=True)
    client.set_bridge_port(3, hairpin=True)

    kind, _, body = sock.request(0)
    assert (kind, rtnl.parse_link(body).family, rtnl.bridge_port(body)) == (rtnl.RTM_SETLINK, rtnl.AF_BRIDGE, (True, False))
    nla_type = rtnl.NLA.unpack_from(body, rtnl.IFINFOMSG.size)[1]
    assert nla_type == rtnl.IFLA_PROTINFO | rtnl.NLA_F_NESTED
    port = rtnl.attrs(rtnl.attrs(body, rtnl.IFINFOMSG.size)[rtnl.IFLA_PROTINFO])
    assert rtnl.IFLA_BRPORT_FLUSH in port
    assert rtnl.bridge_port(sock.request(1)[2]) == (None, None)
    assert bytes(rtnl.attrs(rtnl.attrs(sock.request(1)[2], rtnl.IFINFOMSG.size)[rtnl.IFLA_PROTINFO])[
        rtnl.IFLA_BRPORT_MODE]) == b"\1"


def test_get_link_asks_for_the_index_and_parses_the_reply(client, sock):
    sock.replies.append(_reply(rtnl.RTM_NEWLINK, captured("links", "v0")))

    found = client.get_link(3)

    kind, flags, body = sock.request()
    assert (kind, flags, rtnl.link_index(body)) == (rtnl.RTM_GETLINK, rtnl.NLM_F_REQUEST, 3)
    assert found == link("v0")


def test_link_index_asks_by_name(client, sock):
    sock.replies.append(_reply(rtnl.RTM_NEWLINK, captured("links", "br0")))

    assert client.link_index("br0") == link("br0").index
    assert rtnl.parse_link(sock.request()[2]).name == "br0"


def test_nsid_names_the_namespace_by_descriptor(client, sock):
    sock.replies.append(_reply(RTM_NEWNSID, captured("nsid_reply")))

    assert client.nsid(12) == 7
    kind, _, body = sock.request()
    assert (kind, bytes(rtnl.attrs(body, rtnl.RTGENMSG.size)[rtnl.NETNSA_FD])) == (rtnl.RTM_GETNSID, struct.pack("=I", 12))


def test_a_refusal_is_a_kernel_error_with_its_errno(client, sock):
    sock.replies.append(_error(errno.EEXIST))

    with pytest.raises(KernelError) as raised:
        client.new_link("h1", "bridge", group=OWNER_GROUP)
    assert isinstance(raised.value, OSError) and raised.value.errno == errno.EEXIST


def test_a_dump_reads_until_done_across_receives_and_raises_on_error(client, sock):
    lo, br0, v0 = (captured("links", n) for n in ("lo", "br0", "v0"))
    sock.replies.extend([_reply(rtnl.RTM_NEWLINK, lo) + _reply(rtnl.RTM_NEWLINK, br0),
                         _reply(rtnl.RTM_NEWLINK, v0) + _reply(rtnl.NLMSG_DONE, b"\0\0\0\0")])

    assert [m.name for m in client.links()] == ["lo", "br0", "v0"]
    kind, flags, _ = sock.request()
    assert (kind, flags) == (rtnl.RTM_GETLINK, rtnl.NLM_F_REQUEST | rtnl.NLM_F_DUMP)

    sock.replies.append(_error(errno.EINVAL))
    with pytest.raises(KernelError) as raised:
        client.routes()
    assert raised.value.errno == errno.EINVAL


def test_a_dump_in_one_piece_holds_the_messages_of_every_receive_until_done_and_raises_on_error(client, sock):
    """dump_bytes (the forked child's, kernel/nsread.py) gives what dump gives, unsplit: the messages of
    every datagram up to NLMSG_DONE, wherever DONE comes (alone, or after messages in one datagram)."""
    lo, br0, v0 = (captured("links", n) for n in ("lo", "br0", "v0"))
    sock.replies.extend([_reply(rtnl.RTM_NEWLINK, lo) + _reply(rtnl.RTM_NEWLINK, br0), _reply(rtnl.RTM_NEWLINK, v0),
                         _reply(rtnl.NLMSG_DONE, b"\0\0\0\0")])
    whole = client.dump_bytes(rtnl.RTM_GETLINK, EVERY_LINK)
    assert [rtnl.parse_link(m).name for _, m in rtnl.messages(whole)] == ["lo", "br0", "v0"]
    assert sock.request()[:2] == (rtnl.RTM_GETLINK, rtnl.NLM_F_REQUEST | rtnl.NLM_F_DUMP)

    sock.replies.append(_reply(rtnl.RTM_NEWLINK, lo) + _reply(rtnl.NLMSG_DONE, b"\0\0\0\0"))
    assert [m.name for m in map(rtnl.parse_link, (m for _, m in rtnl.messages(client.dump_bytes(rtnl.RTM_GETLINK, EVERY_LINK))))] == ["lo"]

    sock.replies.append(_reply(rtnl.RTM_NEWLINK, lo) + _error(errno.EINVAL))
    with pytest.raises(KernelError) as raised:
        client.dump_bytes(rtnl.RTM_GETLINK, EVERY_LINK)
    assert raised.value.errno == errno.EINVAL


def _padded(data: bytes) -> bytes:
    return data + b"\0" * (rtnl.align(len(data)) - len(data))


def _reply(kind: int, body: bytes | memoryview) -> bytes:
    return _padded(rtnl.header(len(body), kind, 0, 1) + bytes(body))


def _error(code: int) -> bytes:
    return _reply(rtnl.NLMSG_ERROR, struct.pack("=i", -code) + bytes(rtnl.NLMSGHDR.size))


def test_reading_only_the_attributes_parse_link_uses_changes_no_field(monkeypatch):
    """parse_link and parse_address slice out only the attribute types they read (some_attrs): each
    field they fill is what it would be from every attribute of the message."""
    messages = [captured("links", name) for name in CAPTURED["links"]]
    sparse = [rtnl.parse_link(m) for m in messages]
    sparse_addresses = [rtnl.parse_address(memoryview(bytes.fromhex(m))) for m in CAPTURED["addresses"]]
    monkeypatch.setattr(rtnl, "some_attrs", lambda data, wanted, offset=0: rtnl.attrs(data, offset))
    assert sparse == [rtnl.parse_link(m) for m in messages]
    assert any(l.alias for l in sparse) and any(l.link_netnsid >= 0 for l in sparse) and any(l.master for l in sparse)
    addresses = [m for m in map(bytes.fromhex, CAPTURED["addresses"])]
    assert [rtnl.parse_address(memoryview(m)) for m in addresses] == sparse_addresses


def test_an_ipv4_address_reads_as_ipaddress_writes_it():
    for packed in (b"\0\0\0\0", b"\x0a\x00\x00\x01", b"\xff\xff\xff\xff", b"\xac\x14\x00\x0a", bytes(range(1, 5))):
        assert rtnl.ip_text(memoryview(packed)) == str(ipaddress.ip_address(packed))
    assert rtnl.ip_text(memoryview(ipaddress.ip_address("fd00::1").packed)) == "fd00::1"


def test_an_ipv6_address_reads_as_ipaddress_writes_it_dotted_forms_included():
    """libc's text (inet_ntop) is taken where it is ipaddress's: RFC 5952's, longest run of zeros folded."""
    rng = random.Random(23)
    words = [[rng.choice((0, 0, 0, 1, 0xFFFF, rng.randrange(1 << 16))) for _ in range(8)] for _ in range(20000)]
    packed = [b"".join(w.to_bytes(2, "big") for w in ws) for ws in words] + [
        ipaddress.ip_address(a).packed for a in ("::", "::1", "fe80::1", "1::", "1:0:0:1::", "2001:db8::1:0:0:1",
                                                 "::ffff:1.2.3.4", "::1.2.3.4", "::ffff:0:0", "64:ff9b::1.2.3.4")]
    for address in packed:
        assert rtnl.ip_text(memoryview(address)) == str(ipaddress.ip_address(address))
