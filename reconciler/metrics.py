"""Prometheus metrics of `netreconcile watch`, served over HTTP (imported only with --metrics-addr)."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from reconciler.errors import NetreconcileError

RESULTS = ("no_changes", "applied", "invalid", "refused", "failed", "locked")
DRIFT_TRIGGERS = ("kernel", "resync", "sighup")  # a SIGHUP is a resync asked for by hand


def split_address(address: str) -> tuple[str, int]:
    """'127.0.0.1:9464' or '[::1]:9464' -> (host, port)."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise NetreconcileError(f"--metrics-addr {address}: expected HOST:PORT, e.g. 127.0.0.1:9464")
    return host.strip("[]"), int(port)


class Metrics:
    """The watch loop's counters, in a registry of their own, and the HTTP server that shows them."""

    def __init__(self, address: str) -> None:
        host, port = split_address(address)
        self.registry = CollectorRegistry()
        self.reconciles = Counter("netreconcile_reconciles", "Reconciles, by result", ["result"], registry=self.registry)
        for result in RESULTS:
            self.reconciles.labels(result)
        self.drift_repairs = Counter("netreconcile_drift_repairs",
                                     "Reconciles triggered by a kernel event or a resync that applied steps",
                                     registry=self.registry)
        self.last_success = Gauge("netreconcile_last_success_timestamp_seconds",
                                  "When a reconcile last ended with the kernel matching the manifests",
                                  registry=self.registry)
        self.steps = Counter("netreconcile_steps_applied", "Steps applied by reconciles", registry=self.registry)
        self.duration = Histogram("netreconcile_reconcile_duration_seconds", "Time taken by a reconcile",
                                  registry=self.registry)
        try:
            self.server, _ = start_http_server(port, addr=host, registry=self.registry)
        except OSError as err:
            raise NetreconcileError(f"cannot serve metrics on {address}: {err.strerror or err}") from err

    def reconciled(self, trigger: str, result: str, steps: int, seconds: float) -> None:
        self.reconciles.labels(result).inc()
        self.duration.observe(seconds)
        self.steps.inc(steps)
        if result in ("no_changes", "applied"):
            self.last_success.set(time.time())
        if result == "applied" and trigger in DRIFT_TRIGGERS:
            self.drift_repairs.inc()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
