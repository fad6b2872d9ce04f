"""Medians per size, the table printed to stdout, and the JSON written next to it."""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmarks.dns import CLIENTS
from benchmarks.runs import CniRun, FloorRun, NetavarkRun, NetreconcileRun

NA = "n/a"


@dataclass(frozen=True)
class SizeResult:
    """Medians over the successful runs of one size: ms per endpoint, plan in s, RSS in MB (KiB / 1024)."""

    endpoints: int
    runs: int
    apply_ms_per_endpoint: float | None
    cni_add_ms_per_endpoint: float | None
    cni_over_netreconcile: float | None
    converged_plan_s: float | None
    destroy_ms_per_endpoint: float | None
    cni_del_ms_per_endpoint: float | None
    apply_peak_rss_mb: float | None
    watch_add_ms: float | None        # one endpoint added to N under a running watch: file written -> logged
    watch_reconcile_ms: float | None  # that reconcile's own duration, as the watch logs it
    apply_add_ms: float | None        # a one-shot `apply` adding one endpoint to N + 1
    netavark_setup_ms_per_endpoint: float | None
    netavark_over_netreconcile: float | None
    netavark_add_ms: float | None     # one more container's `netavark setup`, N in place
    netavark_teardown_ms_per_endpoint: float | None
    resolver_rss_mb: float | None     # the resolver's VmRSS right after apply (KiB / 1024)
    dns_queries: int | None           # queries answered with an address per run (median over runs)
    dns_median_ms: float | None       # round trip of one A query, client side: median of the runs' medians
    dns_p99_ms: float | None          # median of the runs' 99th percentiles
    dns_queries_per_s: float | None   # answered queries / wall time of the slowest client
    floor_ms_per_endpoint: float | None = None     # the kernel floor: one `ip -batch` (scenario.floor_batch)
    netreconcile_over_floor: float | None = None  # apply ms/ep / the floor's
    errors: list[str] = field(default_factory=list)
    anomalies: list[str] = field(default_factory=list)


def median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def per_endpoint_ms(seconds: float | None, n: int) -> float | None:
    return None if seconds is None else seconds / n * 1000


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


def summarise(n: int, ours: list[NetreconcileRun], cni: list[CniRun], netavark: list[NetavarkRun],
              floor: list[FloorRun] | None = None) -> SizeResult:
    floor = floor or []
    apply = per_endpoint_ms(median([r.apply_s for r in ours]), n)
    kernel = per_endpoint_ms(median([r.seconds for r in floor]), n)
    setup = per_endpoint_ms(median([r.setup_s for r in netavark]), n)
    destroy = median([per_endpoint_ms(r.destroy_s, r.destroyed) for r in ours if r.destroyed])
    add = per_endpoint_ms(median([r.add_s for r in cni]), n)
    rss = median([r.apply_rss_kib for r in ours])
    resolver_rss = median([r.resolver_rss_kib for r in ours])
    answered = median([r.dns.answered for r in ours if r.dns.answered])
    return SizeResult(
        endpoints=n,
        runs=len([r for r in ours if not r.error]),
        apply_ms_per_endpoint=apply,
        cni_add_ms_per_endpoint=add,
        cni_over_netreconcile=add / apply if add and apply else None,
        converged_plan_s=median([r.plan_s for r in ours]),
        destroy_ms_per_endpoint=destroy,
        cni_del_ms_per_endpoint=per_endpoint_ms(median([r.del_s for r in cni]), n),
        apply_peak_rss_mb=None if rss is None else rss / 1024,
        watch_add_ms=ms(median([r.watch_add_s for r in ours])),
        watch_reconcile_ms=ms(median([r.watch_reconcile_s for r in ours])),
        apply_add_ms=ms(median([r.apply_add_s for r in ours])),
        netavark_setup_ms_per_endpoint=setup,
        netavark_over_netreconcile=setup / apply if setup and apply else None,
        netavark_add_ms=ms(median([r.add_s for r in netavark])),
        netavark_teardown_ms_per_endpoint=median([per_endpoint_ms(r.teardown_s, n + 1) for r in netavark]),
        resolver_rss_mb=None if resolver_rss is None else resolver_rss / 1024,
        dns_queries=None if answered is None else int(answered),
        dns_median_ms=median([r.dns.median_ms for r in ours]),
        dns_p99_ms=median([r.dns.p99_ms for r in ours]),
        dns_queries_per_s=median([r.dns.queries_per_s for r in ours]),
        floor_ms_per_endpoint=kernel,
        netreconcile_over_floor=apply / kernel if apply and kernel else None,
        errors=[r.error for r in [*ours, *cni, *netavark, *floor] if r.error],
        anomalies=[a for r in [*ours, *cni, *netavark, *floor] for a in r.anomalies],
    )


def linear_growth(results: list[SizeResult]) -> float | None:
    """Per-endpoint apply time at the largest size / at the smallest (1.0 = linear)."""
    ordered = sorted(results, key=lambda r: r.endpoints)
    small, large = ordered[0].apply_ms_per_endpoint, ordered[-1].apply_ms_per_endpoint
    if len(ordered) < 2 or not small or large is None:
        return None
    return large / small


COLUMNS = ("endpoints", "apply ms/ep", "CNI ADD ms/ep", "CNI/nr", "netavark ms/ep", "nv/nr", "plan s",
           "destroy ms/ep", "CNI DEL ms/ep", "nv teardown ms/ep", "peak RSS MB", "watch +1 ms", "apply +1 ms",
           "netavark +1 ms", "resolver RSS MB", "DNS median ms", "DNS p99 ms", "floor ms/ep", "nr/floor")


def row(r: SizeResult) -> tuple[str, ...]:
    return (str(r.endpoints), fmt(r.apply_ms_per_endpoint), fmt(r.cni_add_ms_per_endpoint),
            fmt(r.cni_over_netreconcile, "{:.1f}x"), fmt(r.netavark_setup_ms_per_endpoint),
            fmt(r.netavark_over_netreconcile, "{:.1f}x"), fmt(r.converged_plan_s, "{:.2f}"),
            fmt(r.destroy_ms_per_endpoint), fmt(r.cni_del_ms_per_endpoint), fmt(r.netavark_teardown_ms_per_endpoint),
            fmt(r.apply_peak_rss_mb, "{:.0f}"),
            fmt(r.watch_add_ms, "{:.0f}") + (f" ({r.watch_reconcile_ms:.0f})" if r.watch_reconcile_ms else ""),
            fmt(r.apply_add_ms, "{:.0f}"), fmt(r.netavark_add_ms, "{:.0f}"), fmt(r.resolver_rss_mb, "{:.0f}"), fmt(r.dns_median_ms, "{:.2f}"), fmt(r.dns_p99_ms, "{:.2f}"),
            fmt(r.floor_ms_per_endpoint), fmt(r.netreconcile_over_floor, "{:.2f}x"))


def fmt(value: float | None, pattern: str = "{:.1f}") -> str:
    return NA if value is None else pattern.format(value)


def table(results: list[SizeResult], repeat: int) -> str:
    rows = [COLUMNS, *map(row, results)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(r, widths)) for r in rows]
    growth = linear_growth(results)
    lines.append(f"linear growth (apply ms/ep at {max(r.endpoints for r in results)} / at "
                 f"{min(r.endpoints for r in results)}): {fmt(growth, '{:.2f}')}")
    lines.append(f"medians of {repeat} run(s), one fresh sandbox per run and side; times include process start; "
                 "peak RSS = ru_maxrss of the apply process")
    lines.append("watch +1: a running watch on the N endpoints, one more endpoint's file written -> its reconcile "
                 "logged (inotify + default debounce, 2 ms after the file is closed + reconcile); in parentheses the "
                 "reconcile alone; apply +1: a one-shot `netreconcile apply` adding one more endpoint to the N + 1; "
                 "netavark +1: one more container's `netavark setup` with the N in place")
    lines.append("floor: the kernel's own cost in one `ip -batch`: N namespaces, a veth pair each (the peer born in it), "
                 "the host end on its bridge and up; no address, route or masquerade (less than the scenario); "
                 "nr/floor: netreconcile's apply ms/ep over it")
    lines.append(f"resolver RSS: VmRSS of the resolver process right after apply; DNS: A queries for peers' names over "
                 f"UDP to 127.0.0.11:53 from {CLIENTS} endpoints' namespaces at once, one at a time per client, round "
                 "trip timed in the client (median of the runs' medians and of their 99th percentiles); "
                 + ", ".join(f"{r.endpoints} endpoints: {r.dns_queries} answered, {fmt(r.dns_queries_per_s, '{:.0f}')} "
                             "queries/s" for r in results))
    for r in results:
        lines += [f"ERROR at {r.endpoints} endpoints: {e}" for e in r.errors]
        lines += [f"anomaly at {r.endpoints} endpoints: {a}" for a in r.anomalies]
    return "\n".join(lines)


def write_json(path: Path, results: list[SizeResult], meta: dict) -> None:
    body = {**meta, "linear_growth": linear_growth(results), "results": [asdict(r) for r in results]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body, indent=2) + "\n")
