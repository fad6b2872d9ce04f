"""Which of the host's addresses and routes a subnet must not overlap (reconciler/planning/hostnets.py), and the
message that names them; the kernel-facing behaviour is in tests/integration/test_host_overlap.py."""

from __future__ import annotations

from reconciler.model import ROUTE_PROTO
from reconciler.planning.hostnets import problems
from reconciler.planning.plan import HostLink, HostRoute
from unit.helpers import network, parse

KERNEL = 2  # proto kernel: a connected route
LINKS = {
    "lo": HostLink("lo", "", True, addresses=("127.0.0.1/8", "::1/128")),
    "eth0": HostLink("eth0", "veth", True, addresses=("192.168.50.2/24", "fe80::1/64", "fd50:50::2/64")),
    "br-a": HostLink("br-a", "bridge", True, addresses=("10.99.1.1/24",), owned=True),
}
ROUTES = (
    HostRoute("0.0.0.0/0", 254, 3, "eth0"),
    HostRoute("0.0.0.0/1", 254, 3, "eth0"), HostRoute("128.0.0.0/1", 254, 3, "eth0"),
    HostRoute("192.168.50.0/24", 254, KERNEL, "eth0"),
    HostRoute("fe80::/64", 254, KERNEL, "eth0"),
    HostRoute("fd50:50::/64", 254, KERNEL, "eth0"),
    HostRoute("10.99.0.0/16", 100, 3, "eth0"),
    HostRoute("10.99.1.0/24", 254, KERNEL, "br-a"),       # our bridge's connected route
    HostRoute("10.98.0.0/16", 254, ROUTE_PROTO, "eth0"),  # our protocol
)


def messages(ipam: str, driver: str = "bridge") -> list[str]:
    m = parse(network("a", ipam).replace("driver: bridge", f"driver: {driver}"))
    return [line.split(": ", 1)[1] for line in problems(m.networks, LINKS, ROUTES)]


def test_a_route_of_the_host_is_named_once_with_its_device_and_table():
    assert messages("{subnet: 192.168.0.0/16}") == [(
        "subnet 192.168.0.0/16 overlaps 192.168.50.0/24 on eth0 (route, table main); "
        "choose a subnet that does not overlap the host's networks")]


def test_a_route_in_another_table_conflicts_and_the_message_names_the_file_and_line():
    m = parse(network("a", "{subnet: 10.99.2.0/24}"))
    assert problems(m.networks, LINKS, ROUTES) == [(
        "network a (test.yaml:6): subnet 10.99.2.0/24 overlaps 10.99.0.0/16 on eth0 (route, table 100); "
        "choose a subnet that does not overlap the host's networks")]


def test_default_routes_their_halves_link_local_and_our_own_routes_and_addresses_do_not_conflict():
    assert messages("{subnet: 172.29.0.0/16}") == []
    assert messages("{subnet: 10.98.1.0/24}") == []  # our protocol
    assert messages("{subnets: [{subnet: 10.97.0.0/24}, {subnet: 'fd00:1::/64'}]}") == []


def test_addresses_are_checked_by_their_prefix_loopback_included():
    assert [m.split(" overlaps ")[1].split(";")[0] for m in messages("{subnet: 127.0.0.0/16}")] == [
        "127.0.0.1/8 on lo (address)"]
    assert "fd50:50::/64 on eth0 (route, table main)" in messages("{subnet: 'fd50::/24'}")[0]


def test_macvlan_and_ipvlan_networks_share_their_parents_lan_unchecked():
    assert messages("{subnet: 192.168.50.0/24}", driver="macvlan") == []
    assert messages("{subnet: 192.168.50.0/24}", driver="ipvlan") == []
