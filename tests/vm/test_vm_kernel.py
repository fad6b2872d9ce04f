"""The VM's kernel has what the ipvlan / 802.1q vlan / dummy tests need, with real traffic through it.

Runs only where those link kinds exist (tests/vm/run boots Debian's stock kernel for it); elsewhere
the `vm` marker makes it skip. Small on purpose: Python is about 20x slower in the emulated VM.
"""

import re

import pytest

pytestmark = [pytest.mark.vm, pytest.mark.kernel]

# Documentation addresses (TEST-NET-1), only ever inside the sandbox's own namespaces.
BUILD = """
set -e
ip link add nr0 type dummy
ip link set nr0 up
ip link add link nr0 name nr0.5 type vlan id 5
ip link add link nr0 name nr0.6 type vlan id 6
ip link set nr0.5 up
ip link set nr0.6 up
for ns in l2a l2b l3a l3b; do ip netns add $ns; ip -n $ns link set lo up; done
ip link add link nr0.5 name ipv-l2a type ipvlan mode l2
ip link add link nr0.5 name ipv-l2b type ipvlan mode l2
ip link add link nr0.6 name ipv-l3a type ipvlan mode l3
ip link add link nr0.6 name ipv-l3b type ipvlan mode l3
n=10
for ns in l2a l2b l3a l3b; do
  ip link set ipv-$ns netns $ns
  ip -n $ns addr add 192.0.2.$n/24 dev ipv-$ns
  ip -n $ns link set ipv-$ns up
  n=$((n + 1))
done
"""


def test_dummy_vlan_and_ipvlan_carry_traffic(sandbox):
    sandbox.sh(BUILD)
    links = sandbox.sh("ip -d link show nr0; ip -d link show nr0.5; ip -d -n l2a link show ipv-l2a; "
                       "ip -d -n l3a link show ipv-l3a").stdout
    assert "dummy" in links
    assert "vlan protocol 802.1Q id 5" in links
    assert re.search(r"ipvlan\s+mode l2", links)
    assert re.search(r"ipvlan\s+mode l3", links)
    # ipvlan slaves on one parent reach each other: l2 (with ARP) on vlan 5, l3 on vlan 6.
    assert sandbox.ping("l2a", "192.0.2.11", wait=5)
    assert sandbox.ping("l2b", "192.0.2.10", wait=5)
    assert sandbox.ping("l3a", "192.0.2.13", wait=5)
    assert "192.0.2.10" in sandbox.sh("ip -n l2b neigh show dev ipv-l2b").stdout  # l2: ARP happened
    # Different vlans stay apart: l2a (vlan 5) cannot reach l3b (vlan 6), nor the other way round.
    assert not sandbox.ping("l2a", "192.0.2.13", wait=1)
