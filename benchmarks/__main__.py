"""python -m benchmarks [--sizes 100,1000] [--large] [--repeat 3] [--queries 10000] [--small] [--json PATH]

netreconcile next to two references, on the same scenario: N endpoints on bridge networks (4, or one
per 1000 endpoints), addresses allocated, default routes, masquerade. Each run is a fresh sandbox
(unshare --net --mount, private /run/netns): netreconcile apply from nothing, the embedded resolver's
RSS and the latency of --queries A queries from 4 endpoints at once, the converged plan, a running
watch adding one more endpoint, a one-shot apply adding one more, destroy; N sequential CNI ADD calls
into namespaces made beforehand (untimed), then N DEL calls; N sequential `netavark setup` calls
(podman's network tool, static addresses), one more, then N + 1 teardowns; and the kernel floor: one
`ip -batch` making N namespaces and veths, each host end on its bridge and up. Medians over --repeat
runs; a chart of ms/endpoint against N per tool is written next to the JSON (.svg). Run as root; the
machine's own network is never touched.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.chart import write_chart
from benchmarks.netavark_driver import NETAVARK
from benchmarks.report import SizeResult, summarise, table, write_json
from benchmarks.runs import (
    CniRun,
    FloorRun,
    NetavarkRun,
    NetreconcileRun,
    cni_run,
    floor_run,
    netavark_run,
    netreconcile_run,
)
from benchmarks.sandbox import REPO, can_sandbox
from benchmarks.scenario import LAYOUT, MAX_ENDPOINTS, write_manifests

CNI_FILES = ("/usr/lib/cni/bridge", "/usr/lib/cni/host-local")

CNI_MISSING = ("CNI reference not measured (columns n/a): /usr/lib/cni/bridge, /usr/lib/cni/host-local or iptables "
               "(ipMasq needs it) is missing. Install them with:\n"
               "    apt-get update && apt-get install -y containernetworking-plugins iptables")
NETAVARK_MISSING = ("netavark not measured (columns n/a): /usr/lib/podman/netavark or iptables is missing. Install them "
                    "with:\n    apt-get update && apt-get install -y netavark iptables")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,1000", help="endpoint counts, comma-separated (default 100,1000)")
    parser.add_argument("--large", action="store_true",
                        help="add 10000 endpoints over 10 networks to the sizes (one run of it takes minutes)")
    parser.add_argument("--references-above-1000", action="store_true",
                        help="run CNI and netavark at sizes above 1000 too (at 10000: about 40 minutes more)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per size; medians are reported (default 3)")
    parser.add_argument("--queries", type=int, default=10000,
                        help="DNS queries per run, split over 4 clients (default 10000)")
    parser.add_argument("--small", action="store_true", help="20 endpoints, one run, 1000 queries (for CI)")
    parser.add_argument("--json", type=Path, default=REPO / "benchmarks" / "results" / "latest.json",
                        help="where to write the results (default benchmarks/results/latest.json)")
    args = parser.parse_args()
    args.sizes = [20] if args.small else sorted({int(s) for s in args.sizes.split(",")} | ({10000} if args.large else set()))
    args.repeat = 1 if args.small else args.repeat
    args.queries = 1000 if args.small else args.queries
    if not all(8 <= n <= MAX_ENDPOINTS for n in args.sizes) or args.repeat < 1 or args.queries < 4:
        parser.error(f"sizes from 8 to {MAX_ENDPOINTS} (one network per 1000 endpoints; each DNS client needs a "
                     "peer), repeat >= 1, queries >= 4")
    return args


def have_iptables() -> bool:
    return subprocess.run(["sh", "-c", "command -v iptables"], capture_output=True, check=False).returncode == 0


def have_cni() -> bool:
    return have_iptables() and all(Path(f).exists() for f in CNI_FILES)


def have_netavark() -> bool:
    return have_iptables() and Path(NETAVARK).exists()


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def references(n: int, args: argparse.Namespace, with_cni: bool, with_netavark: bool) -> tuple[bool, bool]:
    """Which references run at size n: above 1000 endpoints only if asked (they take 60-90 ms each)."""
    wanted = n <= REFERENCES_UP_TO or args.references_above_1000
    return with_cni and wanted, with_netavark and wanted


REFERENCES_UP_TO = 1000


def measure(n: int, repeat: int, queries: int, with_cni: bool, with_netavark: bool) -> SizeResult:
    ours: list[NetreconcileRun] = []
    cni: list[CniRun] = []
    netavark: list[NetavarkRun] = []
    floor: list[FloorRun] = []
    with tempfile.TemporaryDirectory(prefix="nr-bench-") as tmp:
        manifests = write_manifests(Path(tmp), n)
        for i in range(1, repeat + 1):
            ours.append(netreconcile_run(n, manifests, queries))
            progress(f"{n} endpoints, run {i}/{repeat}: netreconcile {describe(ours[-1])}")
            if with_cni:
                cni.append(cni_run(n))
                progress(f"{n} endpoints, run {i}/{repeat}: CNI {describe(cni[-1])}")
            if with_netavark:
                netavark.append(netavark_run(n))
                progress(f"{n} endpoints, run {i}/{repeat}: netavark {describe(netavark[-1])}")
            floor.append(floor_run(n))
            progress(f"{n} endpoints, run {i}/{repeat}: kernel floor {describe(floor[-1])}")
    return summarise(n, ours, cni, netavark, floor)


def describe(run: NetreconcileRun | CniRun | NetavarkRun | FloorRun) -> str:
    if run.error:
        return "FAILED: " + run.error.splitlines()[0]
    if isinstance(run, FloorRun):
        return f"ip -batch {run.seconds:.2f} s"
    phases = {k: v for k, v in vars(run).items() if k.endswith("_s") and v is not None}
    text = ", ".join(f"{k[:-2]} {v:.2f} s" for k, v in phases.items())
    if isinstance(run, NetreconcileRun) and run.dns.median_ms is not None:
        text += f", DNS median {run.dns.median_ms:.2f} ms, p99 {run.dns.p99_ms:.2f} ms"
    return text


def meta(args: argparse.Namespace, with_cni: bool, with_netavark: bool) -> dict:
    revision = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=False).stdout.strip()
    cni = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "containernetworking-plugins"],
                         capture_output=True, text=True, check=False).stdout.strip()
    netavark = subprocess.run([NETAVARK, "--version"], capture_output=True, text=True, check=False).stdout.strip() if with_netavark else None
    return {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "revision": revision, "sizes": args.sizes,
            "repeat": args.repeat, "manifests": LAYOUT, "python": platform.python_version(),
            "kernel": platform.release(), "cni_plugins": cni if with_cni else None,
            "queries": args.queries, "netavark": netavark,
            "units": "ms per endpoint; converged plan in s; peak RSS in MB (ru_maxrss KiB / 1024) of the apply "
                     "process; watch in ms for one endpoint added to N; resolver RSS in MB (VmRSS KiB / 1024) "
                     "after apply; DNS round trips in ms, client side",
            "cni_config": "bridge + host-local, isGateway, isDefaultGateway (for the default route), ipMasq",
            "netavark_config": "bridge driver, static IPs (as podman allocates them), NAT, no DNS, iptables"}


def main() -> int:
    args = parse_args()
    if not can_sandbox():
        progress("The benchmark needs root and `unshare --net --mount` (it runs everything in a private sandbox).")
        return 1
    with_cni, with_netavark = have_cni(), have_netavark()
    missing = [text for text, present in ((CNI_MISSING, with_cni), (NETAVARK_MISSING, with_netavark)) if not present]
    for text in missing:
        progress(text)
    progress(f"manifests: {LAYOUT}")
    results = [measure(n, args.repeat, args.queries, *references(n, args, with_cni, with_netavark)) for n in args.sizes]
    print(table(results, args.repeat))
    for text in missing:
        print(text)
    write_json(args.json, results, meta(args, with_cni, with_netavark))
    chart = write_chart(args.json.with_suffix(".svg"), results)
    print(f"written: {args.json}, {chart}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
