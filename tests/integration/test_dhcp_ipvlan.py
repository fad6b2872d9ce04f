"""`ipam: {mode: dhcp}` on ipvlan l2, whose endpoints all share the parent's MAC: the server tells them
apart by their client identifiers (option 61) alone, and its replies are broadcast (the flag is set).

Marked `vm` (this machine's kernel has no ipvlan): tests/vm/run runs them in a VM. The LAN is
builders.make_lan; the servers are tests/integration/dhcpservers.py's.
"""

import json

import pytest
from builders import PARENT, converge, endpoint, make_lan, out, plan, write
from dhcpservers import ROUTER, Dnsmasq, dhcp_network, wait_for

from reconciler.model.dhcp import client_id

pytestmark = pytest.mark.vm


def two_endpoints(sandbox):
    return write(sandbox, dhcp_network(driver="ipvlan", parent=PARENT), endpoint("a", {"network": "lan60"}),
                 endpoint("b", {"network": "lan60"}))


def leased(sandbox, ns: str) -> list[str]:
    return [line.split()[3] for line in out(sandbox, f"ip -n {ns} -4 -o addr show dev eth0").splitlines() if "dynamic" in line]


def test_two_ipvlan_endpoints_sharing_the_parent_mac_get_distinct_leases_by_client_id(sandbox, tmp_path):
    """dnsmasq, not Kea: Kea's replies never reached the ipvlans here (sent, it seems, to the client's
    MAC, the parent's, which the parent keeps for the host)."""
    make_lan(sandbox)
    dnsmasq = Dnsmasq(sandbox, tmp_path)
    dnsmasq.start()
    converge(sandbox, two_endpoints(sandbox))
    (a,), (b,) = leased(sandbox, "a"), leased(sandbox, "b")
    assert a != b
    (link,) = json.loads(out(sandbox, f"ip -j link show {PARENT}"))  # the sandbox's sysfs is the machine's
    mac = link["address"]
    rows = {line.split()[2]: line.split() for line in dnsmasq.leases.read_text().splitlines()}  # expiry mac ip name clientid
    assert {rows[x.split("/")[0]][1] for x in (a, b)} == {mac}  # one MAC: the parent's
    assert rows[a.split("/")[0]][4].replace(":", "") == client_id("a", "lan60")
    assert rows[b.split("/")[0]][4].replace(":", "") == client_id("b", "lan60")
    assert sandbox.ping("a", ROUTER) and sandbox.ping("b", ROUTER)


def test_a_server_ignoring_client_ids_gives_one_address_twice_and_the_conflict_is_reported(sandbox, tmp_path):
    make_lan(sandbox)
    dnsmasq = Dnsmasq(sandbox, tmp_path)
    dnsmasq.start("dhcp-ignore-clid")
    path = two_endpoints(sandbox)
    sandbox.nr("apply", str(path))

    def conflicts() -> list:
        return json.loads(out(sandbox, "cat /run/netreconcile/dhcp/status.json"))["conflicts"]

    wait_for(lambda: conflicts() != [], "a conflict in the keeper's status", within=60)
    ((address, *keys),) = conflicts()
    assert sorted(keys) == ["a/eth0", "b/eth0"]
    shown = plan(sandbox, path)[1]
    assert f"conflict: {address} was given to a/eth0 and b/eth0 at once" in shown, shown
    assert f"conflict: {address}" in sandbox.nr("status", str(path)).stdout
    assert f"conflict: {address} was given to a/eth0 and b/eth0 at once" in out(sandbox, "cat /run/netreconcile/dhcp/dhcp.log")
