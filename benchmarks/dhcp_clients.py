"""DHCP for N macvlan endpoints from one dnsmasq, two ways: our lease keeper (one process, one asyncio
loop, a socket per interface) against busybox udhcpc supervised per endpoint (one process each, as
docker-net-dhcp does): time until every endpoint holds its address, processes, memory (RSS), in a sandbox.
Both ask for unicast replies (macvlan: each endpoint has its own MAC); dnsmasq does not ping first.

    python -m benchmarks.dhcp_clients [--endpoints 200]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from benchmarks.sandbox import Sandbox

LAN = (
    "ip netns add lan && ip -n lan link set lo up && ip -n lan link add lanbr type bridge && "
    "ip -n lan addr add 192.168.60.1/22 dev lanbr && ip -n lan link set lanbr up && "
    "ip link add eth1 type veth peer name lan0 netns lan && ip link set eth1 up && ip -n lan link set lan0 master lanbr up && "
    "ip netns exec lan dnsmasq --port=0 --interface=lanbr --bind-interfaces --no-ping --dhcp-lease-max=5000 "
    "--dhcp-range=192.168.60.10,192.168.63.250,255.255.252.0,10m --dhcp-option=option:router,192.168.60.1 "
    "--dhcp-leasefile=/run/netreconcile/bench.leases --pid-file=/run/netreconcile/dnsmasq.pid"
)
ENDPOINTS = ("for i in $(seq 1 {n}); do ip netns add e$i && ip link add link eth1 name mv$i netns e$i type macvlan mode bridge "
             "&& ip -n e$i link set mv$i name eth0 && ip -n e$i link set eth0 up; done")
UDHCPC_SCRIPT = """#!/bin/sh
case "$1" in bound|renew)
  ip addr replace "$ip/$mask" dev "$interface" && ip route replace default via "$router" dev "$interface" && echo >> /run/netreconcile/bound;;
esac
"""
STATE = """
import json, sys
from reconciler.model.dhcp import DhcpClient, DhcpState, client_id
clients = [DhcpClient(f"e{i}", "lan", f"e{i}", "eth0", client_id(f"e{i}", "lan")) for i in range(1, int(sys.argv[1]) + 1)]
print(DhcpState({c.key: c for c in clients}).to_json())
"""


def rss_kib(box: Sandbox, pids: list[int]) -> int:
    return sum(int(line.split()[1]) for pid in pids for line in box.sh(f"cat /proc/{pid}/status").splitlines()
               if line.startswith("VmRSS:"))


def until(check, within: float = 600.0) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > within:
            raise RuntimeError("not all bound in time")
        time.sleep(0.05)
    return time.monotonic() - started


def keeper(n: int) -> dict[str, object]:
    with Sandbox() as box:
        box.sh(LAN)
        box.sh(ENDPOINTS.format(n=n))
        state = box.sh(f"{sys.executable} -c '{STATE}' {n}")
        box.sh(f"mkdir -p /run/netreconcile/dhcp && cat > /run/netreconcile/dhcp/state.json <<'EOF'\n{state}EOF")
        started = time.monotonic()
        box.sh(f"{sys.executable} -m reconciler.dhcp --daemon")

        def bound() -> bool:
            status = json.loads(box.sh("cat /run/netreconcile/dhcp/status.json"))
            return sum(1 for c in status["clients"].values() if c.get("address")) == n
        until(bound)
        seconds = time.monotonic() - started  # from the start of the process, its readiness included
        pid = json.loads(box.sh("cat /run/netreconcile/dhcp/status.json"))["pid"]
        return {"way": "lease keeper", "seconds": round(seconds, 2), "processes": 1, "rss_kib": rss_kib(box, [pid])}


def udhcpc(n: int) -> dict[str, object]:
    with Sandbox() as box:
        box.sh(LAN)
        box.sh(ENDPOINTS.format(n=n))
        box.sh(f"cat > /run/netreconcile/udhcpc.sh <<'EOF'\n{UDHCPC_SCRIPT}EOF\nchmod +x /run/netreconcile/udhcpc.sh; : > /run/netreconcile/bound")
        started = time.monotonic()
        box.sh(f"for i in $(seq 1 {n}); do ip netns exec e$i busybox udhcpc -f -i eth0 -s /run/netreconcile/udhcpc.sh "
               f"-p /run/netreconcile/udhcpc-$i.pid >/dev/null 2>&1 & done")
        until(lambda: int(box.sh("wc -l < /run/netreconcile/bound")) >= n)
        seconds = time.monotonic() - started
        pids = [int(p) for p in box.sh("cat /run/netreconcile/udhcpc-*.pid").split()]
        return {"way": "udhcpc per endpoint", "seconds": round(seconds, 2), "processes": len(pids), "rss_kib": rss_kib(box, pids)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=200)
    args = parser.parse_args()
    for result in (keeper(args.endpoints), udhcpc(args.endpoints)):
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
