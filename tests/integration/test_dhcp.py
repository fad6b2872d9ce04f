"""`ipam: {mode: dhcp}` on macvlan, against real DHCP servers on the LAN behind the parent (Kea with
leases of a few seconds, dnsmasq): the lease keeper process gets, renews, follows and releases leases.

The LAN is builders.make_lan (router 192.168.60.1 and a machine `pc` behind the host's parent eth1);
the servers (tests/integration/dhcpservers.py) run in its namespace, their files in the test's folder.
"""

import json
import re
import time

from builders import PC, converge, endpoint, make_lan, out, plan, write
from dhcpservers import ROUTER, Dnsmasq, Kea, dhcp_network, wait_for

from reconciler.model.dhcp import client_id

LEASE = 9  # Kea's lease time: renewal at 3 s, rebinding at 6 s


def kea_on_the_lan(sandbox, tmp_path, lifetime: int) -> Kea:
    """The LAN (builders.make_lan) with Kea serving it."""
    make_lan(sandbox)
    kea = Kea(sandbox, tmp_path, lifetime=lifetime)
    kea.start()
    return kea


def two_endpoints(sandbox, **network):
    return write(sandbox, dhcp_network(**network), endpoint("a", {"network": "lan60"}), endpoint("b", {"network": "lan60"}))


def held(sandbox, ns: str) -> list[str]:
    """The IPv4 addresses (CIDR) on eth0 of `ns` that carry a lifetime: a lease's."""
    lines = out(sandbox, f"ip -n {ns} -4 -o addr show dev eth0").splitlines()
    return [line.split()[3] for line in lines if "dynamic" in line]


def keeper_log(sandbox) -> str:
    return sandbox.sh("cat /run/netreconcile/dhcp/dhcp.log", check=False).stdout


def keeper_pid(sandbox) -> int:
    return json.loads(out(sandbox, "cat /run/netreconcile/dhcp/status.json"))["pid"]


def test_two_macvlan_endpoints_get_distinct_leases_from_kea_reach_the_router_and_plan_shows_them(sandbox, tmp_path):
    kea = kea_on_the_lan(sandbox, tmp_path, 120)
    report = converge(sandbox, two_endpoints(sandbox))
    assert "+ dhcp lease keeper for 2 interfaces" in report
    (a,), (b,) = held(sandbox, "a"), held(sandbox, "b")
    assert a != b and a.endswith("/24") and b.endswith("/24")
    assert out(sandbox, "ip -n a route show default").split()[:7] == ["default", "via", ROUTER, "dev", "eth0", "proto", "dhcp"]
    assert sandbox.ping("a", ROUTER) and sandbox.ping("b", ROUTER) and sandbox.ping("pc", b.split("/")[0])
    assert sandbox.ping("a", PC)
    # The server saw each endpoint's stable identity: the MAC derived from its names and option 61.
    record = kea.records(a.split("/")[0])[-1]
    assert record["client_id"].replace(":", "") == client_id("a", "lan60")
    mac = out(sandbox, "ip netns exec a cat /sys/class/net/eth0/address").strip()
    assert record["hwaddr"] == mac and mac.startswith("02:42:")
    code, shown = plan(sandbox, sandbox.workdir / "m/net.yaml")
    assert code == 0
    assert re.search(rf"address dhcp on a/eth0: {re.escape(a)} \(lease until \d\d:\d\d, renews \d\d:\d\d\)", shown), shown
    status = sandbox.nr("status", str(sandbox.workdir / "m/net.yaml")).stdout
    assert f"address dhcp on b/eth0: {b} (lease until" in status and "in sync   dhcp lease keeper for 2 interfaces" in status


def test_a_renewal_reaches_kea_keeps_the_address_and_is_no_drift(sandbox, tmp_path):
    kea = kea_on_the_lan(sandbox, tmp_path, LEASE)
    path = two_endpoints(sandbox)
    converge(sandbox, path)
    (a,) = held(sandbox, "a")
    address = a.split("/")[0]
    first = kea.records(address)
    time.sleep(LEASE + 2)  # past the renewal (3 s), the rebinding time (6 s) and the first lease's end
    renewals = kea.records(address)[len(first):]
    assert renewals and all(r["client_id"].replace(":", "") == client_id("a", "lan60") for r in renewals)
    assert int(renewals[-1]["expire"]) > int(first[-1]["expire"])
    assert held(sandbox, "a") == [a]  # the same address, its lifetime renewed (else the kernel had dropped it)
    log = kea.log()
    assert f"received buffer from {address}:68 to {ROUTER}:67" in log  # RENEWING: unicast, from the address
    assert log.count("received buffer from 0.0.0.0:68") == 4 and "DHCP4_INIT_REBOOT" not in log  # never asked anew
    assert plan(sandbox, path)[0] == 0  # a lease's address is the keeper's: never drift
    assert sandbox.ping("a", ROUTER)


def test_the_server_renumbered_the_endpoint_follows_within_a_lease_time(sandbox, tmp_path):
    kea = kea_on_the_lan(sandbox, tmp_path, LEASE)
    path = two_endpoints(sandbox)
    converge(sandbox, path)
    assert held(sandbox, "a")[0].startswith("192.168.60.")
    kea.stop()
    sandbox.sh("ip -n lan addr del 192.168.60.1/24 dev lanbr && ip -n lan addr add 192.168.61.1/24 dev lanbr")
    kea.start(subnet="192.168.61.0/24", pool="192.168.61.100 - 192.168.61.150", router="192.168.61.1")
    # The renewal is refused (or, unanswered, the lease runs out), the keeper removes the address and
    # asks again: a lease time, and a retransmission or two, at most.
    wait_for(lambda: [c for c in held(sandbox, "a") if c.startswith("192.168.61.")],
             lambda: f"a renumbered:\n{keeper_log(sandbox)}\n{kea.log()[-4000:]}", within=LEASE + 12)
    assert len(held(sandbox, "a")) == 1
    assert out(sandbox, "ip -n a route show default").split()[:3] == ["default", "via", "192.168.61.1"]
    assert sandbox.ping("a", "192.168.61.1")
    assert plan(sandbox, path)[0] == 0


def test_destroy_releases_the_leases_in_kea_s_lease_database(sandbox, tmp_path):
    kea = kea_on_the_lan(sandbox, tmp_path, 120)
    path = two_endpoints(sandbox)
    converge(sandbox, path)
    (a,), (b,) = held(sandbox, "a"), held(sandbox, "b")
    assert kea.records(a.split("/")[0])[-1]["valid_lifetime"] == "120"
    sandbox.nr("destroy", str(path))
    for cidr in (a, b):
        assert kea.records(cidr.split("/")[0])[-1]["valid_lifetime"] == "0", kea.records(cidr.split("/")[0])
    assert "released" in kea.log()
    assert out(sandbox, "ls /var/lib/netreconcile/dhcp") == ""  # nothing kept to ask for again
    assert sandbox.sh("test -e /run/netreconcile/dhcp/status.json", check=False).returncode != 0


def test_the_keeper_killed_apply_restarts_it_and_it_asks_for_the_same_address_again(sandbox, tmp_path):
    kea = kea_on_the_lan(sandbox, tmp_path, 120)
    path = two_endpoints(sandbox)
    converge(sandbox, path)
    (a,) = held(sandbox, "a")
    sandbox.sh(f"kill -9 {keeper_pid(sandbox)}")
    sandbox.sh(f"ip -n a addr del {a} dev eth0")  # as after a reboot: only the lease on disk is left
    code, shown = plan(sandbox, path)
    assert code == 2 and "+ dhcp lease keeper for 2 interfaces" in shown, shown
    converge(sandbox, path)
    assert held(sandbox, "a") == [a]
    # INIT-REBOOT: a REQUEST for the address held before, with no server identifier and no DISCOVER
    assert re.search(rf"DHCP4_INIT_REBOOT .*requests address {re.escape(a.split('/')[0])}", kea.log()), kea.log()[-3000:]


def test_two_macvlan_endpoints_get_distinct_leases_from_dnsmasq_and_release_them_on_destroy(sandbox, tmp_path):
    make_lan(sandbox)
    dnsmasq = Dnsmasq(sandbox, tmp_path)
    dnsmasq.start()
    path = two_endpoints(sandbox)
    converge(sandbox, path)
    (a,), (b,) = held(sandbox, "a"), held(sandbox, "b")
    assert a != b and dnsmasq.leased() == sorted([a.split("/")[0], b.split("/")[0]])
    assert sandbox.ping("a", ROUTER) and sandbox.ping("b", PC)
    sandbox.nr("destroy", str(path))
    wait_for(lambda: dnsmasq.leased() == [], "dnsmasq's lease file emptied by the releases", within=5)
    assert dnsmasq.log().count("DHCPRELEASE") == 2


def test_the_lease_s_name_servers_are_where_the_resolver_forwards_the_endpoint_s_other_names(sandbox, tmp_path):
    make_lan(sandbox)
    kea = Kea(sandbox, tmp_path, lifetime=120)  # offers the router as the LAN's name server
    kea.start()
    sandbox.sh(f"ip netns exec lan dnsmasq --port=53 --listen-address={ROUTER} --bind-interfaces --no-resolv "
               f"--no-hosts --address=/printer.lan/192.168.60.77 --pid-file={tmp_path}/dns.pid")
    path = two_endpoints(sandbox)
    converge(sandbox, path)
    status = json.loads(out(sandbox, "cat /run/netreconcile/dhcp/status.json"))
    assert status["clients"]["a/eth0"]["dns"] == [ROUTER]
    assert out(sandbox, "ip netns exec a dig +short +time=3 +tries=1 @127.0.0.11 printer.lan").split() == ["192.168.60.77"]


def test_an_internal_dhcp_network_takes_the_address_but_no_default_route(sandbox, tmp_path):
    kea_on_the_lan(sandbox, tmp_path, 120)
    path = write(sandbox, dhcp_network(internal=True), endpoint("a", {"network": "lan60"}))
    converge(sandbox, path)
    assert len(held(sandbox, "a")) == 1 and sandbox.ping("a", ROUTER)  # the LAN itself, on-link
    assert out(sandbox, "ip -n a route show default") == ""


def test_an_endpoint_added_then_removed_the_keeper_takes_it_then_releases_its_lease(sandbox, tmp_path):
    kea = kea_on_the_lan(sandbox, tmp_path, 120)
    one = write(sandbox, dhcp_network(), endpoint("a", {"network": "lan60"}))
    converge(sandbox, one)
    two = two_endpoints(sandbox)
    code, shown = plan(sandbox, two)
    assert code == 2 and "~ dhcp lease keeper for 2 interfaces" in shown and "+ keeps b/eth0" in shown, shown
    converge(sandbox, two)
    (b,) = held(sandbox, "b")
    pid = keeper_pid(sandbox)
    converge(sandbox, write(sandbox, dhcp_network(), endpoint("a", {"network": "lan60"})))  # b pruned
    assert kea.records(b.split("/")[0])[-1]["valid_lifetime"] == "0"  # released before its namespace went
    assert keeper_pid(sandbox) == pid and len(held(sandbox, "a")) == 1  # a's lease kept, by the same process


def test_the_keeper_stopped_by_sigterm_keeps_the_leases_for_its_next_start(sandbox, tmp_path):
    """As when its systemd unit stops, or the machine shuts down: nothing released."""
    kea = kea_on_the_lan(sandbox, tmp_path, 120)
    path = two_endpoints(sandbox)
    converge(sandbox, path)
    (a,) = held(sandbox, "a")
    sandbox.sh(f"pid={keeper_pid(sandbox)}; kill -TERM $pid; while kill -0 $pid 2>/dev/null; do sleep 0.05; done")
    assert kea.records(a.split("/")[0])[-1]["valid_lifetime"] == "120" and "released" not in kea.log()
    assert out(sandbox, "ls /var/lib/netreconcile/dhcp").split() == ["a@eth0.json", "b@eth0.json"]
    converge(sandbox, path)
    assert held(sandbox, "a") == [a]
