"""The embedded resolver under the benchmark's scenario (untimed by the apply): its resident memory
after apply, and the latency of A queries for peers' names from the namespaces of several endpoints
at once (benchmarks/dns_client.py in each)."""

from __future__ import annotations

import json
import math
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from typing import IO

from benchmarks.sandbox import Sandbox
from benchmarks.scenario import networks

CLIENTS = 4  # endpoints e0..e3: one client on each network
STATUS = "/run/netreconcile/resolver/status.json"
CLIENT_TIMEOUT = 600  # seconds for one client's whole share of the queries


@dataclass(frozen=True)
class DnsLatency:
    """One load: round trips of the answered queries (ms), and what went wrong."""

    answered: int = 0
    median_ms: float | None = None
    p99_ms: float | None = None
    queries_per_s: float | None = None  # answered queries / the longest client's wall time
    problems: list[str] = field(default_factory=list)


def resolver_rss_kib(box: Sandbox) -> int | None:
    """VmRSS of the pid in the resolver's status.json (the sandbox shares the host's pid namespace)."""
    try:
        pid = json.loads(box.sh(f"cat {STATUS}"))["pid"]
        with open(f"/proc/{pid}/status") as f:
            lines = [line for line in f if line.startswith("VmRSS:")]
    except (RuntimeError, ValueError, KeyError, OSError):
        return None
    return int(lines[0].split()[1]) if lines else None


def peer_names(asker: int, n: int) -> list[str]:
    """Names of the asker's peers (same network, round robin): plain and as <name>.<network>."""
    count = networks(n)
    peers = [j for j in range(asker % count, n, count) if j != asker]
    return [name for j in peers for name in (f"e{j}", f"e{j}.n{j % count}")]


def query_latency(box: Sandbox, n: int, total: int) -> DnsLatency:
    """`total` queries split over CLIENTS clients started together, each in its own endpoint's namespace."""
    share = total // CLIENTS
    clients = [box.popen(["ip", "netns", "exec", f"e{k}", sys.executable, "-m", "benchmarks.dns_client",
                          str(share), *peer_names(k, n)], stdin=True) for k in range(CLIENTS)]
    try:
        ready = [_line(c.stdout) == "ready" for c in clients]
        if not all(ready):
            return DnsLatency(problems=[_client_failed(c) for c, ok in zip(clients, ready) if not ok])
        for client in clients:  # all set up: start them together
            _go(client.stdin)
        outputs = [client.communicate(timeout=CLIENT_TIMEOUT)[0] for client in clients]
    finally:
        for client in clients:
            if client.poll() is None:
                client.kill()
                client.wait()
    return summarise([json.loads(out) for out in outputs], total=share * CLIENTS)


def summarise(outputs: list[dict], total: int) -> DnsLatency:
    latencies = sorted(us / 1000 for out in outputs for us in out["latencies_us"])
    problems = [f"{out['timeouts']} queries timed out, {out['unanswered']} answered without an address "
                f"(client {k})" for k, out in enumerate(outputs) if out["timeouts"] or out["unanswered"]]
    if not latencies:
        return DnsLatency(problems=problems or ["no query answered"])
    wall = max(out["elapsed_s"] for out in outputs)
    if len(latencies) != total:
        problems.append(f"{len(latencies)} of {total} queries answered with an address")
    return DnsLatency(len(latencies), statistics.median(latencies), nearest_rank(latencies, 0.99),
                      len(latencies) / wall if wall else None, problems)


def nearest_rank(ordered: list[float], fraction: float) -> float:
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def _line(stream: IO[str] | None) -> str:
    return stream.readline().strip() if stream else ""


def _go(stream: IO[str] | None) -> None:
    if stream:
        stream.write("go\n")
        stream.flush()


def _client_failed(client: subprocess.Popen) -> str:
    client.kill()
    _, err = client.communicate()
    return f"a DNS client did not start: {err.strip()[-2000:]}"


def resolves(box: Sandbox, asker: str, name: str) -> bool:
    """glibc in `asker`'s namespace (its resolv.conf through ip netns exec) finds an address for `name`."""
    try:
        return bool(box.sh(f"ip netns exec {asker} getent hosts {name}").strip())
    except RuntimeError:
        return False
