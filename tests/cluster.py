"""Several simulated hosts inside one test sandbox, joined by an underlay bridge (for overlay tests).

Inside the sandbox (tests/sandbox.py), a network namespace named `underlay` holds the Linux bridge
`ul0`. Each host is a nested sandbox: a `sleep` process holding its own network and mount namespaces,
made from the sandbox's (`nsenter` into the sandbox, then `unshare --net --mount`), with private tmpfs
on /run/netns, /etc/netns and /run/netreconcile and its own sysfs, so each host sees only its own
namespaces, state and links, as a real host would. A veth joins each host (`eth1`, the underlay
network's .11, .12, .13, … in name order) to a port of `ul0` (`ul-<host>`).

An nftables `bridge` table in `underlay` counts the UDP packets that cross `ul0` per destination port
(a dynamic set with counters), so a test can see that overlay traffic really travels as VXLAN.

Killing a host's holder, and whatever else still runs in its network namespace, makes everything
created inside that host vanish; closing the cluster does that for every host and deletes the underlay.
"""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence

from sandbox import SETUP, Sandbox, named_namespaces, processes_in

UNDERLAY, BRIDGE, FIRST_HOST = "underlay", "ul0", 11

# A fresh sysfs: /sys/class/net then lists the host's own links, not the machine's.
HOST_SETUP = "mount -t sysfs none /sys && " + SETUP

# Every UDP packet forwarded by the underlay bridge counts under its destination port.
COUNTERS = """\
table bridge underlay {
  set udp_dports { type inet_service; flags dynamic; counter; }
  chain forward {
    type filter hook forward priority 0; policy accept;
    meta l4proto udp update @udp_dports { udp dport }
  }
}
"""


class Host(Sandbox):
    """One simulated host: a sandbox nested in the test's sandbox, with `eth1` on the underlay.

    It has Sandbox's methods (`sh`, `nr`, `apply`, `ping`, `unreachable`, `write`), all acting in
    the host's own namespaces.
    """

    def __init__(self, outer: Sandbox, name: str, address: str) -> None:
        self.workdir = outer.workdir
        self.name = name
        self.address = address
        self.holder = subprocess.Popen(
            ["nsenter", "-t", str(outer.holder.pid), "--net", "--mount",
             "unshare", "--net", "--mount", "--propagation", "private", "sh", "-c", HOST_SETUP],
            stdout=subprocess.PIPE, text=True,
        )
        if self.holder.stdout.readline().strip() != "ready":
            self.holder.kill()
            self.holder.wait()
            raise RuntimeError(f"host {name} did not start")
        self.netns = os.stat(f"/proc/{self.pid}/ns/net")

    @property
    def pid(self) -> int:
        """The holder's pid: `nsenter -t PID --net --mount` enters the host."""
        return self.holder.pid

    def close(self) -> None:
        """Kill the holder and every process still in the host's network namespace (a command left
        running in the background) or in a namespace named in its /run/netns (a test's server in an
        endpoint), so nothing keeps the namespaces alive."""
        victims = []
        if self.holder.poll() is None:
            victims = [pid for pid in processes_in(self.netns.st_ino, *named_namespaces(self.pid)) if pid != self.pid]
            victims.append(self.pid)
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.holder.wait()
        deadline = time.monotonic() + 5
        while any(alive(pid) for pid in victims) and time.monotonic() < deadline:
            time.sleep(0.01)


class Cluster:
    """Hosts named `names`, each with `eth1` on the `underlay` network, all on bridge `ul0`."""

    def __init__(self, sandbox: Sandbox, names: Sequence[str] = ("node-a", "node-b", "node-c"),
                 underlay: str = "10.10.0.0/24") -> None:
        self.sandbox = sandbox
        self.hosts: dict[str, Host] = {}
        self.underlay: str | None = None  # the underlay namespace, once made
        network = ipaddress.ip_network(underlay)
        if len(set(names)) != len(names) or any(len(f"ul-{name}") > 15 for name in names):
            raise ValueError(f"host names must be distinct and at most 12 characters: {names}")
        if FIRST_HOST + len(names) >= network.num_addresses:
            raise ValueError(f"{underlay} is too small for {len(names)} hosts")
        try:
            for index, name in enumerate(names):
                self.hosts[name] = Host(sandbox, name, str(network[FIRST_HOST + index]))
            sandbox.sh(f"ip netns add {UNDERLAY}")
            self.underlay = UNDERLAY
            steps = [f"ip -n {UNDERLAY} link set lo up",
                     f"ip -n {UNDERLAY} link add {BRIDGE} type bridge", f"ip -n {UNDERLAY} link set {BRIDGE} up"]
            for host in self:
                port, into = f"ul-{host.name}", f"nsenter -t {host.pid} --net"
                steps += [f"ip -n {UNDERLAY} link add {port} type veth peer name eth1 netns {host.pid}",
                          f"ip -n {UNDERLAY} link set {port} master {BRIDGE} up",
                          f"{into} ip addr add {host.address}/{network.prefixlen} dev eth1",
                          f"{into} ip link set eth1 up"]
            sandbox.sh(" && ".join(steps) + f" && ip netns exec {UNDERLAY} nft -f - <<'EOF'\n{COUNTERS}EOF")
        except BaseException:
            self.close()
            raise

    def __getitem__(self, name: str) -> Host:
        return self.hosts[name]

    def __iter__(self) -> Iterator[Host]:
        return iter(self.hosts.values())

    def udp_counter(self, port: int = 4789) -> int:
        """UDP packets to `port` forwarded across the underlay bridge since the cluster was made."""
        listing = self.sandbox.sh(f"ip netns exec {UNDERLAY} nft -j list set bridge underlay udp_dports").stdout
        (nft_set,) = [item["set"] for item in json.loads(listing)["nftables"] if "set" in item]
        counts = {e["elem"]["val"]: e["elem"]["counter"]["packets"] for e in nft_set.get("elem", [])}
        return counts.get(port, 0)

    def close(self) -> None:
        """Kill every host and delete the underlay: another cluster can then be made in the sandbox.

        The kernel dismantles a namespace asynchronously, a few ms to tens of ms after its last
        process died: the hosts' links may outlive close() by that long.
        """
        for host in self.hosts.values():
            host.close()
        if self.underlay:
            self.sandbox.sh(f"ip netns delete {self.underlay}", check=False)
            self.underlay = None


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie, killed and waiting for its parent to reap it, is not alive)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False
