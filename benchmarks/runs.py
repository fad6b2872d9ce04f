"""One measured run of each side, each in a fresh sandbox: netreconcile (apply, the resolver's RSS
and query latency, converged plan, a running watch adding one endpoint, a one-shot apply adding one
more, destroy), the CNI reference bridge plugin (ADD, DEL), podman's netavark (setup of N, of one
more, teardown) and the kernel floor (`ip -batch`). Seconds are the wall time of the whole phase, process start included."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.dns import DnsLatency, query_latency, resolver_rss_kib, resolves
from benchmarks.sandbox import Finished, Sandbox
from benchmarks.scenario import (
    extra_endpoint,
    floor_batch,
    floor_bridges,
    netns_batch,
    networks,
)

NETRECONCILE = [sys.executable, "-m", "reconciler"]
WATCH_TIMEOUT = 600  # seconds for one reconcile of the watch


@dataclass(frozen=True)
class NetreconcileRun:
    apply_s: float | None = None
    plan_s: float | None = None
    watch_add_s: float | None = None        # file written -> the watch logs the reconcile done
    watch_reconcile_s: float | None = None  # that reconcile's own duration, as the watch logs it
    apply_add_s: float | None = None        # a one-shot `apply` adding one endpoint to the N + 1
    destroy_s: float | None = None
    destroyed: int = 0                      # endpoints the destroy removed (N, or N + 1 after the watch)
    apply_rss_kib: int | None = None
    resolver_rss_kib: int | None = None     # the resolver's VmRSS right after apply
    dns: DnsLatency = field(default_factory=DnsLatency)  # queries from several endpoints after apply
    error: str | None = None
    anomalies: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class NetavarkRun:
    setup_s: float | None = None     # N `netavark setup` calls
    add_s: float | None = None       # one more container's setup, the N first in place
    teardown_s: float | None = None  # N + 1 `netavark teardown` calls
    error: str | None = None
    anomalies: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CniRun:
    add_s: float | None = None
    del_s: float | None = None
    error: str | None = None
    anomalies: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FloorRun:
    seconds: float | None = None  # one `ip -batch` making the N namespaces and veths (scenario.floor_batch)
    error: str | None = None
    anomalies: list[str] = field(default_factory=list)


class WatchFailed(Exception):
    pass


def failure(what: str, done: Finished) -> str:
    """The exact error: stderr in full (bounded), and the last lines of stdout (the last steps done)."""
    tail = "\n".join(done.stdout.strip().splitlines()[-3:])
    return f"{what} exited {done.returncode} after {done.seconds:.1f} s:\n{done.stderr.strip()[-4000:]}" + (
        f"\n(last stdout lines:\n{tail})" if tail else "")


def netreconcile_run(n: int, manifests: Path, queries: int) -> NetreconcileRun:
    try:
        with Sandbox() as box:
            return _netreconcile_phases(box, n, manifests, queries)
    finally:
        for extra in manifests.glob("extra*.yaml"):
            extra.unlink()


def _netreconcile_phases(box: Sandbox, n: int, manifests: Path, queries: int) -> NetreconcileRun:
    folder = str(manifests)
    apply = box.run([*NETRECONCILE, "apply", folder])
    if apply.returncode != 0:
        return NetreconcileRun(error=failure("netreconcile apply", apply))
    anomalies = check_applied(box, n)
    resolver_rss = resolver_rss_kib(box)
    if resolver_rss is None:
        anomalies.append("after apply: no resolver process found from its status.json")
    dns = query_latency(box, n, queries)
    anomalies += [f"DNS queries: {p}" for p in dns.problems]
    plan = box.run([*NETRECONCILE, "plan", folder, "--detailed-exitcode"])
    if plan.returncode != 0:
        anomalies.append(failure("converged plan (expected exit 0, nothing to do)", plan))
    watch_add = watch_reconcile = None
    try:
        watch_add, watch_reconcile = time_watch_add(box, manifests, n)
        if not resolves(box, f"e{n % networks(n)}", f"e{n}"):
            anomalies.append(f"after the watch added e{n}: e{n % networks(n)}, on its network, cannot resolve it")
    except WatchFailed as err:
        anomalies.append(f"watch add: {err}")
    apply_add, more = time_apply_add(box, manifests, n)
    anomalies += more
    destroyed = n + len(list(manifests.glob("extra*.yaml")))
    destroy = box.run([*NETRECONCILE, "destroy", folder])
    if destroy.returncode != 0:
        return NetreconcileRun(apply.seconds, plan.seconds, watch_add, watch_reconcile, apply_add, None, 0,
                               apply.max_rss_kib, resolver_rss, dns, failure("netreconcile destroy", destroy), anomalies)
    anomalies += check_destroyed(box)
    return NetreconcileRun(apply.seconds, plan.seconds, watch_add, watch_reconcile, apply_add, destroy.seconds,
                           destroyed, apply.max_rss_kib, resolver_rss, dns, None, anomalies)


def time_apply_add(box: Sandbox, manifests: Path, n: int) -> tuple[float | None, list[str]]:
    """A one-shot `apply` adding endpoint N + 1 (file extra-apply.yaml) to the converged N + 1: seconds."""
    extra_endpoint(manifests, n, n + 1, "extra-apply.yaml")
    done = box.run([*NETRECONCILE, "apply", str(manifests)])
    if done.returncode != 0:
        return None, [failure("one-shot apply adding one endpoint", done)]
    if "default via" not in box.sh(f"ip -n e{n + 1} route show default"):
        return done.seconds, [f"after the one-shot apply: e{n + 1} has no default route"]
    return done.seconds, []


def time_watch_add(box: Sandbox, manifests: Path, n: int) -> tuple[float, float]:
    """A watch on the converged N endpoints; seconds from writing endpoint N+1's file to the watch's
    log line of that reconcile (inotify, the default debounce: the reconcile starts 2 ms after the file
    is closed, and the reconcile itself), and the reconcile's own."""
    watch = box.popen([*NETRECONCILE, "watch", str(manifests), "--log-format", "json", "--resync", "1h"])
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_pump, args=(watch.stdout, lines), daemon=True).start()
    try:
        first = _next_reconcile(lines, watch)
        if first["result"] != "no_changes":
            raise WatchFailed(f"the startup reconcile on converged endpoints was not empty: {first}")
        started = time.perf_counter()
        extra_endpoint(manifests, n)
        line = _next_reconcile(lines, watch)
        seconds = time.perf_counter() - started
        if line["result"] != "applied":
            raise WatchFailed(f"reconcile after adding one endpoint: {line}")
        return seconds, line["duration_ms"] / 1000
    finally:
        watch.terminate()
        try:
            watch.wait(timeout=60)
        except subprocess.TimeoutExpired:
            watch.kill()
            watch.wait()


def _pump(stream, lines: queue.Queue) -> None:
    for raw in stream:
        lines.put(raw)
    lines.put(None)


def _next_reconcile(lines: queue.Queue, watch: subprocess.Popen) -> dict:
    deadline = time.monotonic() + WATCH_TIMEOUT
    while (left := deadline - time.monotonic()) > 0:
        try:
            raw = lines.get(timeout=left)
        except queue.Empty:
            break
        if raw is None:
            raise WatchFailed(f"the watch exited ({watch.wait()}): {watch.stderr.read().strip()[-2000:]}")
        line = json.loads(raw)
        if line.get("event") == "reconcile":
            return line
    raise WatchFailed(f"no reconcile logged within {WATCH_TIMEOUT} s")


def check_applied(box: Sandbox, n: int) -> list[str]:
    """Untimed: the scenario is what it claims (namespaces, a default route, masquerade per network)."""
    problems = []
    if (count := len(box.sh("ip netns list").splitlines())) != n:
        problems.append(f"after apply: {count} namespaces, expected {n}")
    if "default via" not in box.sh("ip -n e0 route show default"):
        problems.append("after apply: e0 has no default route")
    rules = [line for line in box.sh("nft list table inet netreconcile").splitlines() if " masquerade" in line]
    if len(rules) != networks(n):
        problems.append(f"after apply: {len(rules)} masquerade rules, expected {networks(n)}")
    return problems


def check_destroyed(box: Sandbox) -> list[str]:
    left = box.sh("ip netns list; ip -o link show type bridge; ip -o link show type veth").strip()
    problems = [f"after destroy, still there:\n{left}"] if left else []
    if resolver_rss_kib(box) is not None:
        problems.append("after destroy: the resolver still runs")
    return problems


def cni_run(n: int) -> CniRun:
    with tempfile.TemporaryDirectory(prefix="nr-bench-cni-") as tmp, Sandbox() as box:
        batch, ipam = Path(tmp) / "netns.batch", Path(tmp) / "ipam"
        batch.write_text(netns_batch(n))
        ipam.mkdir()
        # Not timed: host-local's dataDir on a tmpfs private to the sandbox, and the N namespaces.
        box.sh(f"mount -t tmpfs none {ipam} && ip -batch {batch}")
        driver = [sys.executable, "-m", "benchmarks.cni_driver"]
        add = box.run([*driver, "ADD", str(n), str(ipam)])
        if add.returncode != 0:
            return CniRun(error=failure("CNI ADD", add))
        anomalies = check_cni_added(box, n)
        delete = box.run([*driver, "DEL", str(n), str(ipam)])
        if delete.returncode != 0:
            return CniRun(float(add.stdout), None, failure("CNI DEL", delete), anomalies)
        return CniRun(float(add.stdout), float(delete.stdout), None, anomalies)


def check_cni_added(box: Sandbox, n: int) -> list[str]:
    problems = []
    if "default via" not in box.sh("ip -n c0 route show default"):
        problems.append("after CNI ADD: c0 has no default route")
    if (masq := box.sh("iptables -t nat -S POSTROUTING").count(" -j CNI-")) != n:
        problems.append(f"after CNI ADD: {masq} masquerade jumps in nat POSTROUTING, expected {n}")
    return problems


def netavark_run(n: int) -> NetavarkRun:
    with tempfile.TemporaryDirectory(prefix="nr-bench-netavark-") as tmp, Sandbox() as box:
        batch, config = Path(tmp) / "netns.batch", Path(tmp) / "config"
        batch.write_text(netns_batch(n + 1))
        config.mkdir()
        box.sh(f"ip -batch {batch}")  # not timed: the N + 1 namespaces
        driver = [sys.executable, "-m", "benchmarks.netavark_driver"]
        setup = box.run([*driver, "setup", "0", str(n), str(n), str(config)])
        if setup.returncode != 0:
            return NetavarkRun(error=failure("netavark setup", setup))
        anomalies = check_netavark_set_up(box, n)
        add = box.run([*driver, "setup", str(n), "1", str(n), str(config)])
        if add.returncode != 0:
            return NetavarkRun(float(setup.stdout), error=failure("netavark setup of one more", add), anomalies=anomalies)
        teardown = box.run([*driver, "teardown", "0", str(n + 1), str(n), str(config)])
        if teardown.returncode != 0:
            return NetavarkRun(float(setup.stdout), float(add.stdout), None, failure("netavark teardown", teardown),
                               anomalies)
        return NetavarkRun(float(setup.stdout), float(add.stdout), float(teardown.stdout), None, anomalies)


def check_netavark_set_up(box: Sandbox, n: int) -> list[str]:
    problems = []
    if "default via" not in box.sh("ip -n c0 route show default"):
        problems.append("after netavark setup: c0 has no default route")
    if (masq := box.sh("iptables -t nat -S POSTROUTING").count(" -j NETAVARK-")) < 1:
        problems.append(f"after netavark setup: {masq} NETAVARK- jumps in nat POSTROUTING, expected some")
    return problems


def floor_run(n: int) -> FloorRun:
    with tempfile.TemporaryDirectory(prefix="nr-bench-floor-") as tmp, Sandbox() as box:
        bridges, batch = Path(tmp) / "bridges.batch", Path(tmp) / "floor.batch"
        bridges.write_text(floor_bridges(n))
        batch.write_text(floor_batch(n))
        box.sh(f"ip -batch {bridges}")  # not timed
        done = box.run(["ip", "-batch", str(batch)])
        if done.returncode != 0:
            return FloorRun(error=failure("ip -batch (kernel floor)", done))
        ports = len(box.sh("ip -o link show type veth up").splitlines())
        made = len(box.sh("ip netns list").splitlines())
        anomalies = [] if (ports, made) == (n, n) else [f"kernel floor: {made} namespaces, {ports} veths up, expected {n}"]
        return FloorRun(done.seconds, None, anomalies)
