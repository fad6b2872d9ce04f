"""The reading child sends each link message cut down to what parse_link reads (kernel/nsread.py's
trimmed_links): parsed, every kind of link we make reads as its whole message does, vxlan, macvlan,
bridge ports (isolated, hairpin, not learning), an alias, IPv6 disabled, a peer in another
namespace included (vlan and ipvlan, which this machine's kernel lacks, are read from the whole
IFLA_LINKINFO kept as it came); and it is under two thirds of the kernel's bytes (the parent walks a
quarter of the attributes). Link dumps come without the links' IPv6 counters (RTEXT_FILTER_SKIP_STATS):
the kernel sums none."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.kernel

HERE = Path(__file__).resolve().parent


def test_trimmed_links_parse_as_the_whole_messages(sandbox):
    sandbox.sh("ip link add d0 type veth peer name d1 && ip link set d0 up && ip addr add 10.7.0.1/24 dev d0"
               " && ip link add br0 type bridge && ip link set br0 up"
               " && ip link add v0 mtu 1400 type veth peer name v1 && ip link set v0 master br0 alias 'an alias'"
               " && bridge link set dev v0 isolated on hairpin on learning off"
               " && ip netns add far && ip link set v1 netns far"
               " && ip link add vx0 type vxlan id 42 dstport 4789 local 10.7.0.1 dev d0"
               " && ip link add mv0 link d0 type macvlan mode bridge"
               " && ip link add g0 group 7 type bridge && sysctl -qw net.ipv6.conf.g0.disable_ipv6=1")
    dumped = json.loads(sandbox.sh(f"{sys.executable} {HERE / 'trim_dump.py'}").stdout)
    assert dumped["trimmed"] == dumped["whole"] and len(dumped["whole"]) == 8, dumped
    text = " ".join(dumped["whole"])
    for seen in ("kind='vxlan'", "vni=42", "kind='macvlan'", "isolated=True", "hairpin=True",
                 "alias='an alias'", "group=7", "link_netnsid=0", "mtu=1400"):
        assert seen in text, (seen, text)
    assert "ipv6=False" in text and "ipv6=True" in text
    assert dumped["counters"] == [[]] * 8, dumped["counters"]  # dumped without: parse_link reads none
    whole, trimmed = dumped["sizes"]
    assert trimmed * 3 < whole * 2, dumped["sizes"]


def test_link_read_makes_what_link_of_a_parsed_message_makes(sandbox):
    """observe's parent makes each Link of a namespace the child read straight from its message
    (Link.read, no LinkMsg between): the same Link as Link.of(parse_link), for every kind of link we make,
    a name that is not UTF-8 and a foreign group included."""
    sandbox.sh("ip link add d0 type veth peer name d1 && ip link set d0 up group 20050 alias 'netreconcile:endpoint/x'"
               " && ip link add br0 type bridge && ip link set br0 up"
               " && ip link add v0 mtu 1400 type veth peer name v1 && ip link set v0 master br0"
               " && bridge link set dev v0 isolated on hairpin on learning off"
               " && ip netns add far && ip link set v1 netns far"
               " && ip link add vx0 type vxlan id 42 dstport 4789 local 10.7.0.1 dev d0"
               " && ip link add vx6 type vxlan id 43 dstport 4790 local fd00::1 dev d0"
               " && ip link add mv0 link d0 type macvlan mode private && ip link set d1 name \"$(printf 'x\\377y')\""
               " && ip link add g0 group 7 type bridge && sysctl -qw net.ipv6.conf.g0.disable_ipv6=1")
    dumped = json.loads(sandbox.sh(f"{sys.executable} {HERE / 'trim_dump.py'}").stdout)
    assert dumped["link_read"] == dumped["link_of"] and len(dumped["link_of"]) == 9, dumped
    text = " ".join(dumped["link_of"])
    for seen in ("kind='vxlan'", "vni=43", "local='fd00::1'", "kind='macvlan'", "isolated=True", "owned=True",
                 "owner='endpoint/x'", "link_netnsid=0", "mtu=1400", "x\\udcffy"):
        assert seen in text, (seen, text)
