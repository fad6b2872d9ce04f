"""python -m benchmarks [--sizes 100,1000] [--repeat 3] [--queries 10000] [--small] [--json PATH]

netreconcile next to the CNI reference bridge plugin, on the same scenario: N endpoints on 4 bridge
networks, addresses allocated, default routes, masquerade. Each run is a fresh sandbox (unshare
--net --mount, private /run/netns): netreconcile apply from nothing, the embedded resolver's RSS and
the latency of --queries A queries from 4 endpoints at once, the converged plan, a running watch
adding one more endpoint, destroy; and N sequential CNI ADD calls into namespaces made
beforehand (untimed), then N DEL calls. Medians over --repeat runs. Run as root; the machine's own
network is never touched.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.report import SizeResult, summarise, table, write_json
from benchmarks.runs import CniRun, NetreconcileRun, cni_run, netreconcile_run
from benchmarks.sandbox import REPO, can_sandbox
from benchmarks.scenario import LAYOUT, MAX_ENDPOINTS, write_manifests

CNI_FILES = ("/usr/lib/cni/bridge", "/usr/lib/cni/host-local")
CNI_MISSING = ("CNI reference not measured (columns n/a): /usr/lib/cni/bridge, /usr/lib/cni/host-local or iptables "
               "(ipMasq needs it) is missing. Install them with:\n"
               "    apt-get update && apt-get install -y containernetworking-plugins iptables")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,1000", help="endpoint counts, comma-separated (default 100,1000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per size; medians are reported (default 3)")
    parser.add_argument("--queries", type=int, default=10000,
                        help="DNS queries per run, split over 4 clients (default 10000)")
    parser.add_argument("--small", action="store_true", help="20 endpoints, one run, 1000 queries (for CI)")
    parser.add_argument("--json", type=Path, default=REPO / "benchmarks" / "results" / "latest.json",
                        help="where to write the results (default benchmarks/results/latest.json)")
    args = parser.parse_args()
    args.sizes = [20] if args.small else sorted({int(s) for s in args.sizes.split(",")})
    args.repeat = 1 if args.small else args.repeat
    args.queries = 1000 if args.small else args.queries
    if not all(8 <= n <= MAX_ENDPOINTS for n in args.sizes) or args.repeat < 1 or args.queries < 4:
        parser.error(f"sizes from 8 to {MAX_ENDPOINTS} (a bridge holds at most 1024 ports; each DNS client needs a "
                     "peer), repeat >= 1, queries >= 4")
    return args


def have_cni() -> bool:
    tools = subprocess.run(["sh", "-c", "command -v iptables"], capture_output=True).returncode == 0
    return tools and all(Path(f).exists() for f in CNI_FILES)


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def measure(n: int, repeat: int, queries: int, with_cni: bool) -> SizeResult:
    ours: list[NetreconcileRun] = []
    cni: list[CniRun] = []
    with tempfile.TemporaryDirectory(prefix="nr-bench-") as tmp:
        manifests = write_manifests(Path(tmp), n)
        for i in range(1, repeat + 1):
            ours.append(netreconcile_run(n, manifests, queries))
            progress(f"{n} endpoints, run {i}/{repeat}: netreconcile {describe(ours[-1])}")
            if with_cni:
                cni.append(cni_run(n))
                progress(f"{n} endpoints, run {i}/{repeat}: CNI {describe(cni[-1])}")
    return summarise(n, ours, cni)


def describe(run: NetreconcileRun | CniRun) -> str:
    if run.error:
        return "FAILED: " + run.error.splitlines()[0]
    phases = {k: v for k, v in vars(run).items() if k.endswith("_s") and v is not None}
    text = ", ".join(f"{k[:-2]} {v:.2f} s" for k, v in phases.items())
    if isinstance(run, NetreconcileRun) and run.dns.median_ms is not None:
        text += f", DNS median {run.dns.median_ms:.2f} ms, p99 {run.dns.p99_ms:.2f} ms"
    return text


def meta(args: argparse.Namespace, with_cni: bool) -> dict:
    revision = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True).stdout.strip()
    cni = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "containernetworking-plugins"],
                         capture_output=True, text=True).stdout.strip()
    return {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "revision": revision, "sizes": args.sizes,
            "repeat": args.repeat, "manifests": LAYOUT, "python": platform.python_version(),
            "kernel": platform.release(), "cni_plugins": cni if with_cni else None,
            "queries": args.queries,
            "units": "ms per endpoint; converged plan in s; peak RSS in MB (ru_maxrss KiB / 1024) of the apply "
                     "process; watch in ms for one endpoint added to N; resolver RSS in MB (VmRSS KiB / 1024) "
                     "after apply; DNS round trips in ms, client side",
            "cni_config": "bridge + host-local, isGateway, isDefaultGateway (for the default route), ipMasq"}


def main() -> int:
    args = parse_args()
    if not can_sandbox():
        progress("The benchmark needs root and `unshare --net --mount` (it runs everything in a private sandbox).")
        return 1
    with_cni = have_cni()
    if not with_cni:
        progress(CNI_MISSING)
    progress(f"manifests: {LAYOUT}")
    results = [measure(n, args.repeat, args.queries, with_cni) for n in args.sizes]
    print(table(results, args.repeat))
    if not with_cni:
        print(CNI_MISSING)
    write_json(args.json, results, meta(args, with_cni))
    print(f"written: {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
