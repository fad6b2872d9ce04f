"""DHCP without a kernel: the wire codec (RFC 2131/2132), the messages a client sends, the lease an ACK
gives, the keeper's state document and what the planner asks of it, the watch's unpruned keeper."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from reconciler.dhcp import codec
from reconciler.dhcp.exchange import Identity, lease_of
from reconciler.dhcp.netio import payload
from reconciler.input.validate import load_manifests
from reconciler.model.dhcp import DhcpClient, DhcpState, LeaseKeeper, client_id, keeper
from reconciler.model.dns import Gone
from reconciler.planners.dhcp import dhcp_state
from reconciler.planners.dns import dns_state
from reconciler.planners.keep import unpruned
from reconciler.planning.plan import Observed

MAC = bytes.fromhex("0242c0a83c15")


def ack(**options: bytes) -> codec.Message:
    base = {codec.MESSAGE_TYPE: bytes([codec.ACK]), codec.SERVER_ID: IPv4Address("192.168.60.1").packed,
            codec.SUBNET_MASK: IPv4Address("255.255.255.0").packed, codec.LEASE_TIME: (600).to_bytes(4, "big"),
            codec.ROUTER: IPv4Address("192.168.60.1").packed,
            codec.DNS_SERVERS: IPv4Address("192.168.60.53").packed + IPv4Address("192.168.60.54").packed}
    return codec.Message(codec.BOOTREPLY, 7, MAC, {**base, **{int(k[1:]): v for k, v in options.items()}},
                         yiaddr=IPv4Address("192.168.60.57"))


def test_a_message_survives_the_wire_padded_to_bootp_s_minimum():
    msg = Identity(MAC, b"\x01abc").discover(0x1234)
    wire = codec.encode(msg)
    assert len(wire) == 300 and wire[236:240] == codec.COOKIE
    back = codec.decode(wire)
    assert (back.op, back.xid, back.chaddr, back.type) == (codec.BOOTREQUEST, 0x1234, MAC, codec.DISCOVER)
    assert back.options[codec.CLIENT_ID] == b"\x01abc" and back.options[codec.PARAMETERS] == codec.ASKED


def test_a_long_option_is_split_and_joined_again_rfc_3396():
    msg = codec.Message(codec.BOOTREPLY, 1, MAC, {codec.DOMAIN_NAME: b"x" * 300})
    assert codec.decode(codec.encode(msg)).options[codec.DOMAIN_NAME] == b"x" * 300


@pytest.mark.parametrize("data", [b"", b"\x02" * 240, codec.encode(codec.Message(2, 1, MAC))[:240] + b"\x35\x09\x01"])
def test_what_is_no_dhcp_message_is_refused(data):
    with pytest.raises(codec.CodecError):
        codec.decode(data)


def test_the_broadcast_flag_only_for_ipvlan_and_only_before_an_address_is_held():
    assert Identity(MAC, b"x", broadcast=True).discover(1).flags == codec.BROADCAST_FLAG
    assert Identity(MAC, b"x").discover(1).flags == 0
    lease = lease_of(ack(), "")
    assert lease is not None
    renew = Identity(MAC, b"x", broadcast=True).renew(2, lease)
    assert renew.flags == 0 and renew.ciaddr == IPv4Address("192.168.60.57") and codec.SERVER_ID not in renew.options


def test_init_reboot_asks_for_the_address_held_before_without_a_server_id():
    lease = lease_of(ack(), "")
    assert lease is not None
    msg = Identity(MAC, b"x").init_reboot(3, lease)
    assert msg.options[codec.REQUESTED_ADDRESS] == IPv4Address("192.168.60.57").packed
    assert codec.SERVER_ID not in msg.options and msg.ciaddr == codec.ZERO


def test_an_ack_gives_address_prefix_router_servers_and_times_t1_t2_defaulting_to_rfc_2131_s():
    lease = lease_of(ack(), "cid")
    assert lease is not None
    assert (lease.cidr, lease.router, lease.dns, lease.server) == ("192.168.60.57/24", "192.168.60.1",
                                                                   ("192.168.60.53", "192.168.60.54"), "192.168.60.1")
    assert (lease.time, lease.t1, lease.t2) == (600, 300, 525)
    given = lease_of(ack(o58=(100).to_bytes(4, "big"), o59=(200).to_bytes(4, "big")), "cid")
    assert given is not None and (given.t1, given.t2) == (100, 200)


def test_the_listener_s_packet_is_read_past_the_ip_and_udp_headers():
    body = codec.encode(ack())
    packet = bytes([0x45]) + bytes(19) + bytes(8) + body
    assert codec.decode(payload(packet) or b"").yiaddr == IPv4Address("192.168.60.57")
    assert payload(b"\x45") is None


def test_the_client_id_is_stable_distinct_per_endpoint_and_network_and_of_rfc_4361_s_form():
    cid = bytes.fromhex(client_id("a", "lan"))
    assert cid == bytes.fromhex(client_id("a", "lan")) and cid[0] == 0xFF and cid[5:7] == b"\x00\x04"
    assert len({client_id("a", "lan"), client_id("b", "lan"), client_id("a", "lan2")}) == 3


def lan(driver: str = "macvlan") -> str:
    return (f"apiVersion: netreconcile/v1\nkind: Network\nmetadata: {{name: lan}}\nspec:\n  driver: {driver}\n"
            f"  ipam: {{mode: dhcp}}\n  {driver}: {{parent: eth1}}\n---\n"
            "apiVersion: netreconcile/v1\nkind: Endpoint\nmetadata: {name: a}\nspec:\n  interfaces: [{network: lan}]\n")


def test_the_planner_asks_a_lease_for_each_interface_on_a_dhcp_network_broadcast_on_ipvlan(tmp_path):
    for driver in ("macvlan", "ipvlan"):
        path = tmp_path / f"{driver}.yaml"
        path.write_text(lan(driver))
        m = load_manifests([str(path)])
        state = dhcp_state(m)
        assert state.clients == {"a/eth0": DhcpClient("a", "lan", "a", "eth0", client_id("a", "lan"), False, driver == "ipvlan")}
        assert dns_state(m, {}).askers["a"].dhcp == ("a/eth0",)
        assert DhcpState.from_json(state.to_json()) == state


def test_a_destroyed_endpoint_s_lease_goes_and_with_the_last_one_the_keeper():
    state = DhcpState({"a/eth0": DhcpClient("a", "lan", "a", "eth0", "ff"), "b/eth0": DhcpClient("b", "lan", "b", "eth0", "fe")})
    found = keeper(state)
    assert found is not None
    smaller = found.without(Gone(frozenset({"a"})))
    assert smaller is not None and smaller.clients == ("b/eth0",)
    assert smaller.without(Gone(frozenset({"b"}))) is None


def test_while_the_source_is_invalid_the_watch_keeps_the_leases_of_endpoints_it_does_not_know():
    mine = keeper(DhcpState({"a/eth0": DhcpClient("a", "lan", "a", "eth0", "ff")}))
    seen = keeper(DhcpState({"a/eth0": DhcpClient("a", "lan", "a", "eth0", "ff"), "z/eth0": DhcpClient("z", "lan", "z", "eth0", "fe")}))
    assert mine is not None and seen is not None
    (kept,) = unpruned([mine], Observed({seen.key: seen}), frozenset({"endpoint/a", "network/lan"}))
    assert isinstance(kept, LeaseKeeper) and kept.clients == ("a/eth0", "z/eth0")
