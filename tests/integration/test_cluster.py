"""The cluster harness itself (tests/cluster.py), with real traffic and without netreconcile.

Three hosts, each with its own network and mount namespaces, on one underlay bridge.
"""

import os
import time

from cluster import UNDERLAY, Cluster, alive

VXLAN_A, VXLAN_B = "192.168.42.1", "192.168.42.2"


def vxlan(host, remote, address: str) -> None:
    """A hand-made VXLAN link vx0 (VNI 42, UDP 4789) from `host` to `remote` over eth1, without IPv6
    (whose autoconfiguration would send packets of its own through the tunnel for seconds)."""
    host.sh(f"ip link add vx0 type vxlan id 42 local {host.address} remote {remote.address} dstport 4789 dev eth1 && "
            f"sysctl -qw net.ipv6.conf.vx0.disable_ipv6=1 && ip addr add {address}/24 dev vx0 && ip link set vx0 up")


def test_hosts_reach_each_other_over_the_underlay(cluster):
    a, b, c = cluster["node-a"], cluster["node-b"], cluster["node-c"]
    assert [h.address for h in cluster] == ["10.10.0.11", "10.10.0.12", "10.10.0.13"]
    assert [h.name for h in cluster] == ["node-a", "node-b", "node-c"]
    assert a.ping(None, b.address) and a.ping(None, c.address) and b.ping(None, c.address) and c.ping(None, a.address)
    assert a.unreachable(None, "10.10.0.14")
    # Each host is its own machine: its own links (in sysfs too), its own namespaces.
    assert a.sh("ls /sys/class/net").stdout.split() == ["eth1", "lo"]
    assert {os.readlink(f"/proc/{h.pid}/ns/{kind}") for h in cluster for kind in ("net", "mnt")}.isdisjoint(
        {os.readlink(f"/proc/{cluster.sandbox.holder.pid}/ns/{kind}") for kind in ("net", "mnt")})
    assert len({os.readlink(f"/proc/{h.pid}/ns/net") for h in cluster}) == 3


def test_a_vxlan_between_two_hosts_is_counted_on_the_underlay(cluster):
    a, b = cluster["node-a"], cluster["node-b"]
    vxlan(a, b, VXLAN_A)
    vxlan(b, a, VXLAN_B)
    before = cluster.udp_counter()
    assert a.sh(f"ping -n -q -c 5 -i 0.2 -W 1 {VXLAN_B}", check=False).returncode == 0
    # Five requests one way, five replies the other, each one UDP datagram to port 4789 across ul0.
    assert cluster.udp_counter() - before >= 10
    assert cluster.udp_counter(4790) == 0
    # Plain traffic on the underlay is not counted.
    before = cluster.udp_counter()
    assert a.sh(f"ping -n -q -c 3 -i 0.2 -W 1 {b.address}", check=False).returncode == 0
    assert cluster.udp_counter() == before
    # A host without the VXLAN sees none of it.
    assert cluster["node-c"].unreachable(None, VXLAN_B)


def test_each_host_sees_only_its_own_namespaces(cluster, sandbox):
    a, b = cluster["node-a"], cluster["node-b"]
    a.sh("ip netns add x && ip -n x link set lo up && mkdir -p /etc/netns/x && touch /run/netreconcile/mine")
    assert a.sh("ip netns list").stdout.split()[0] == "x"
    assert a.sh("ip netns exec x ping -n -q -c 1 -W 1 127.0.0.1", check=False).returncode == 0
    assert b.sh("ip netns list").stdout == "" and b.sh("ls /etc/netns /run/netreconcile").stdout.split() == [
        "/etc/netns:", "/run/netreconcile:"]
    assert sandbox.sh("ip netns list").stdout.split() == [UNDERLAY]
    assert sandbox.sh("ls /run/netreconcile /etc/netns").stdout.split() == ["/etc/netns:", "/run/netreconcile:"]
    # The test's directory is shared: every host reads the same manifests.
    path = cluster.sandbox.write("m/shared.yaml", "hello\n")
    assert [h.sh(f"cat {path}").stdout for h in cluster] == ["hello\n"] * 3
    # The same name on another host is another namespace.
    b.sh("ip netns add x")
    assert b.sh("ip netns list").stdout.split() == ["x"]
    assert a.sh("stat -L -c %i /run/netns/x").stdout != b.sh("stat -L -c %i /run/netns/x").stdout


def test_close_leaves_no_process_behind(sandbox):
    cluster = Cluster(sandbox, names=("h1", "h2"))
    h1 = cluster["h1"]
    assert h1.address == "10.10.0.11" and cluster["h2"].address == "10.10.0.12"
    # A command left running in the background of a host dies with it too.
    h1.sh("setsid sleep 1000 </dev/null >/dev/null 2>&1 &")
    leftover = [pid for pid in all_pids() if in_netns(pid, h1.pid) and pid != h1.pid]
    assert leftover, "the background sleep should run in node h1"
    # And a server started in a namespace the host named (an endpoint's: a test's backend).
    h1.sh("ip netns add web && ip netns exec web setsid sleep 1000 </dev/null >/dev/null 2>&1 &")
    web = os.stat(f"/proc/{h1.pid}/root/run/netns/web").st_ino
    deadline = time.monotonic() + 5
    while not (served := [pid for pid in all_pids() if _netns_inode(pid) == web]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert served, "the sleep should run in h1's namespace web"
    leftover += served
    pids = [host.pid for host in cluster] + leftover
    cluster.close()
    assert not [pid for pid in pids if alive(pid)]
    assert sandbox.sh("ip netns list").stdout == ""
    # The sandbox can hold a new cluster, with the same names.
    again = Cluster(sandbox, names=("h1", "h2"))
    try:
        assert again["h1"].ping(None, again["h2"].address)
    finally:
        again.close()


def all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _netns_inode(pid: int) -> int | None:
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino
    except OSError:
        return None


def in_netns(pid: int, holder: int) -> bool:
    try:
        return os.readlink(f"/proc/{pid}/ns/net") == os.readlink(f"/proc/{holder}/ns/net")
    except OSError:
        return False
