"""The preflight (reconciler/applying/preflight.py): its checks of parents and MTUs against the host's links, which
sysctls belong to an interface (the kernel-facing behaviour is in tests/integration/test_refused_input.py),
and its read of the sockets bound on this host: every file it opens is closed, and /proc/net's tables
are read as the kernel writes them (addresses in host byte order)."""

from __future__ import annotations

import gc
import warnings

import pytest

from reconciler.applying import preflight
from reconciler.model import InterfaceSysctl, Sysctl, link_key, sysctl, sysctl_interface
from reconciler.planning.plan import HostLink, Observed
from unit.helpers import parse


def lower(parent: str, mtu: str = "") -> str:
    return ("apiVersion: netreconcile/v1\nkind: Network\nmetadata: {name: lan}\nspec:\n  driver: macvlan\n"
            f"  macvlan: {{parent: {parent}}}\n  ipam: {{subnet: 192.168.60.0/24}}\n{mtu}---\n")


def errors(text: str, *links: HostLink) -> list[str]:
    observed = Observed({}, host_links={link.name: link for link in links}, host_routes=())
    return list(preflight.check(parse(text), observed).errors)


def test_the_vlan_netreconcile_made_on_a_parent_is_a_parent_but_a_link_it_manages_otherwise_is_not():
    base, vlan = HostLink("eth0", "veth", True, mtu=1500), HostLink("eth0.60", "vlan", True, mtu=1500, owned=True)
    assert errors(lower("eth0.60"), base, vlan) == []
    assert errors(lower("lanbr"), HostLink("lanbr", "bridge", True, mtu=1500, owned=True)) == [
        ("network lan: parent lanbr is a bridge that netreconcile manages: a parent must be a link of the host that "
         "netreconcile does not manage")]
    assert errors(lower("br0.60"), HostLink("br0", "bridge", True, mtu=1500, owned=True)) == [
        ("network lan: parent br0.60: its base br0 is a bridge that netreconcile manages: a parent must be a link of the "
         "host that netreconcile does not manage")]


@pytest.mark.parametrize("parent_mtu, mtu, refused", [
    (1279, "", "network lan (test.yaml:6): parent eth1 has mtu 1279, which its macvlan links take, below IPv6's minimum of 1280"),
    (1280, "", ""), (1400, "  mtu: 1400\n", ""),
    (1400, "  mtu: 1401\n", "network lan (test.yaml:8): mtu 1401 is larger than parent eth1's (1400)"),
])
def test_a_macvlan_network_takes_its_parents_mtu_or_a_smaller_one(parent_mtu, mtu, refused):
    found = errors(lower("eth1", mtu), HostLink("eth1", "veth", True, mtu=parent_mtu))
    assert (found[0].startswith(refused) if refused else found == []), found


@pytest.mark.parametrize("name, interface", [
    ("net.ipv4.conf.eth0.rp_filter", "eth0"), ("net.ipv6.conf.lo.accept_ra", "lo"), ("net.ipv4.neigh.eth1.gc_stale_time", "eth1"),
    ("net.ipv6.neigh.e-1.retrans_time_ms", "e-1"), ("net.ipv4.conf.all.rp_filter", None), ("net.ipv6.conf.default.forwarding", None),
    ("net.ipv4.ip_forward", None), ("net.ipv4.route.flush", None), ("net.core.somaxconn", None), ("net.ipv4.conf.eth0", None),
])
def test_which_sysctls_belong_to_an_interface(name, interface):
    assert sysctl_interface(name) == interface
    made = sysctl("a", name, "1")
    assert type(made) is (InterfaceSysctl if interface else Sysctl) and made.key == ("sysctl", "a", name)
    if interface:
        assert made.parents == (("netns", "a"), link_key("a", interface)) and made.rank > Sysctl.rank


TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 10 0
   1: 0100007F:A2C4 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0 10 0
"""
TCP6 = """\
  sl  local_address                         remote_address                        st tx_queue rx_queue
   0: 00000000000000000000000001000000:0035 00000000000000000000000000000000:0000 0A 00000000:00000000
"""


def test_reading_the_sockets_leaves_no_file_open():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        preflight.listening()
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)], [str(w.message) for w in caught]


def test_tcp_keeps_the_listening_sockets_only():
    assert preflight.sockets("tcp", TCP, listen_only=True) == {("tcp", 8080, "127.0.0.1")}


def test_udp_keeps_every_bound_socket():
    assert preflight.sockets("udp", TCP, listen_only=False) == {("udp", 8080, "127.0.0.1"), ("udp", 41668, "127.0.0.1")}


def test_ipv6_addresses_are_read_word_by_word():
    assert preflight.sockets("tcp", TCP6, listen_only=True) == {("tcp", 53, "::1")}
