"""python -m benchmarks [--sizes 100,1000] [--repeat 3] [--small] [--json PATH]

Each measurement runs in a fresh sandbox (unshare --net --mount, private /run/netns): netreconcile's
apply from nothing, converged plan and destroy, and the CNI reference bridge plugin's ADD and DEL
(one call per endpoint, into namespaces created beforehand, untimed). Medians over --repeat runs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from sandbox import Sandbox  # noqa: E402

from benchmarks.scenario import write_manifests  # noqa: E402


@dataclass(frozen=True)
class Result:
    """Medians for one size; times per endpoint in ms, plan in s, RSS in MB."""

    endpoints: int
    apply_ms: float
    cni_add_ms: float | None
    plan_s: float
    destroy_ms: float
    cni_del_ms: float | None
    peak_rss_mb: float
    watch_add_ms: float

    @property
    def ratio(self) -> float | None:
        return self.cni_add_ms / self.apply_ms if self.cni_add_ms else None


def timed(box: Sandbox, command: str) -> float:
    started = time.perf_counter()
    box.sh(command, timeout=3600)
    return time.perf_counter() - started


def netreconcile_run(n: int) -> tuple[float, float, float, float, float]:
    """Seconds for apply, converged plan, watch adding one endpoint, destroy; peak RSS (MB)."""
    with tempfile.TemporaryDirectory() as tmp:
        box = Sandbox(Path(tmp))
        try:
            folder = write_manifests(Path(tmp) / "m", n)
            nr = f"{sys.executable} -m reconciler"
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            apply = timed(box, f"{nr} apply {folder} >/dev/null")
            plan = timed(box, f"{nr} plan {folder} --detailed-exitcode >/dev/null")
            watch_add = watch_one_more(box, folder, n)
            destroy = timed(box, f"{nr} destroy {folder} --no-wait >/dev/null")
            rss = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
            return apply, plan, destroy, rss, watch_add
        finally:
            box.close()


def watch_one_more(box: Sandbox, folder: Path, n: int) -> float:
    """Seconds from writing one more endpoint's manifest to the end of the watch's reconcile of it."""
    argv = ["nsenter", "-t", str(box.holder.pid), "--net", "--mount", sys.executable, "-m", "reconciler", "watch",
            str(folder), "--log-format", "json", "--debounce", "50ms", "--resync", "1h"]
    env = dict(os.environ, PYTHONPATH=str(HERE.parent))
    watch = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=env)
    try:
        _next_reconcile(watch)  # the startup reconcile: nothing to do
        started = time.perf_counter()
        (folder / "one-more.yaml").write_text(json.dumps({
            "apiVersion": "netreconcile/v1", "kind": "Endpoint", "metadata": {"name": f"e{n}"},
            "spec": {"interfaces": [{"network": "n0"}]}}))
        line = _next_reconcile(watch)
        assert line["result"] == "applied", line
        return time.perf_counter() - started
    finally:
        watch.terminate()
        watch.wait()
        (folder / "one-more.yaml").unlink(missing_ok=True)


def _next_reconcile(watch: subprocess.Popen) -> dict:
    for raw in watch.stdout:
        line = json.loads(raw)
        if line.get("event") == "reconcile":
            return line
    raise RuntimeError("the watch ended")


def cni_run(n: int) -> tuple[float, float]:
    """Seconds for n CNI ADD calls, then n DEL calls."""
    with tempfile.TemporaryDirectory() as tmp:
        box = Sandbox(Path(tmp))
        try:
            batch = Path(tmp) / "netns.batch"
            batch.write_text("".join(f"netns add c{i}\n" for i in range(n)))
            box.sh(f"ip -batch {batch}")
            driver = f"cd {HERE} && {sys.executable} cni_driver.py"
            add = float(box.sh(f"{driver} ADD {n} {tmp}/ipam", timeout=3600).stdout)
            delete = float(box.sh(f"{driver} DEL {n} {tmp}/ipam", timeout=3600).stdout)
            return add, delete
        finally:
            box.close()


def measure(n: int, repeat: int, with_cni: bool) -> Result:
    runs = [netreconcile_run(n) for _ in range(repeat)]
    cni = [cni_run(n) for _ in range(repeat)] if with_cni else []
    med = lambda values: statistics.median(values)  # noqa: E731
    return Result(
        endpoints=n,
        apply_ms=med([r[0] for r in runs]) / n * 1000,
        cni_add_ms=med([c[0] for c in cni]) / n * 1000 if cni else None,
        plan_s=med([r[1] for r in runs]),
        destroy_ms=med([r[2] for r in runs]) / n * 1000,
        cni_del_ms=med([c[1] for c in cni]) / n * 1000 if cni else None,
        peak_rss_mb=max(r[3] for r in runs),
        watch_add_ms=med([r[4] for r in runs]) * 1000,
    )


def table(results: list[Result]) -> str:
    head = ("endpoints", "apply ms/ep", "CNI ADD ms/ep", "CNI/ours", "plan s", "destroy ms/ep", "CNI DEL ms/ep",
            "peak RSS MB", "watch add ms")
    rows = [head]
    for r in results:
        rows.append((str(r.endpoints), f"{r.apply_ms:.1f}", _opt(r.cni_add_ms), _opt(r.ratio, "{:.1f}x"),
                     f"{r.plan_s:.2f}", f"{r.destroy_ms:.1f}", _opt(r.cni_del_ms), f"{r.peak_rss_mb:.0f}", f"{r.watch_add_ms:.0f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths)) for row in rows]
    if len(results) > 1:
        growth = results[-1].apply_ms / results[0].apply_ms
        lines.append(f"linear growth: apply per endpoint at {results[-1].endpoints} / at {results[0].endpoints} = {growth:.2f}")
    return "\n".join(lines)


def _opt(value: float | None, fmt: str = "{:.1f}") -> str:
    return fmt.format(value) if value is not None else "n/a"


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,1000", help="endpoint counts, comma-separated")
    parser.add_argument("--repeat", type=int, default=3, help="runs per size (medians are reported)")
    parser.add_argument("--small", action="store_true", help="20 endpoints, one run (for CI)")
    parser.add_argument("--json", type=Path, default=HERE / "results" / "latest.json", help="where to write results")
    args = parser.parse_args()
    sizes, repeat = ([20], 1) if args.small else ([int(s) for s in args.sizes.split(",")], args.repeat)
    with_cni = Path("/usr/lib/cni/bridge").exists() and shutil.which("iptables") is not None
    if not with_cni:
        print("CNI reference not measured: apt-get install -y containernetworking-plugins iptables", file=sys.stderr)
    results = [measure(n, repeat, with_cni) for n in sizes]
    print(table(results))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps([asdict(r) | {"cni_ratio": r.ratio} for r in results], indent=2) + "\n")
    print(f"written: {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
