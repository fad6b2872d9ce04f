"""Prometheus metrics of `netreconcile watch`, served over HTTP (imported only with --metrics-addr)."""

from __future__ import annotations

import time
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    start_http_server,
)

from reconciler.errors import NetreconcileError, UsageError
from reconciler.model import KernelObject
from reconciler.watch.reconcile import SUCCESS, Outcome, Result


def split_address(address: str) -> tuple[str, int]:
    """'127.0.0.1:9464' or '[::1]:9464' -> (host, port)."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"--metrics-addr {address}: expected HOST:PORT, e.g. 127.0.0.1:9464")
    return host.strip("[]"), int(port)


class Metrics:
    """The watch loop's counters, in a registry of their own, and the HTTP server that shows them."""

    def __init__(self, address: str) -> None:
        host, port = split_address(address)
        self.registry = CollectorRegistry()
        self.reconciles = self._labelled("netreconcile_reconciles", "Reconciles, by result", "result", list(Result))
        self.drift_repairs = self._labelled(
            "netreconcile_drift_repairs",
            "Drifted objects repaired (found differing from what the last reconcile left), by kind", "kind", kinds())
        self.source_valid = Gauge("netreconcile_source_valid",
                                  "1 when the last reconcile read valid manifests; 0 while they are invalid "
                                  "(the last valid manifests applied stay enforced)", registry=self.registry)
        self.last_success = Gauge("netreconcile_last_success_timestamp_seconds",
                                  "When a reconcile last ended with the kernel matching the manifests",
                                  registry=self.registry)
        self.steps = Counter("netreconcile_steps_applied", "Steps applied by reconciles", registry=self.registry)
        self.duration = Histogram("netreconcile_reconcile_duration_seconds", "Time taken by a reconcile",
                                  registry=self.registry)
        self.etcd_connected = Gauge("netreconcile_etcd_connected",
                                    "1 while the watch of the etcd source is connected; 0 while it retries",
                                    registry=self.registry)
        self.etcd_disconnects = Counter("netreconcile_etcd_disconnects", "Times the etcd watch was lost and retried",
                                        registry=self.registry)
        self.server = self._serve(address, host, port)

    def _labelled(self, name: str, text: str, label: str, values: list[str]) -> Counter:
        """A counter with one label, each of its values shown from the start (at 0)."""
        counter = Counter(name, text, [label], registry=self.registry)
        for value in values:
            counter.labels(value)
        return counter

    def _serve(self, address: str, host: str, port: int) -> WSGIServer:
        try:
            server, _ = start_http_server(port, addr=host, registry=self.registry)
        except OSError as err:
            raise NetreconcileError(f"cannot serve metrics on {address}: {err.strerror or err}") from err
        return server

    def reconciled(self, outcome: Outcome, seconds: float) -> None:
        self.reconciles.labels(outcome.result).inc()
        self.duration.observe(seconds)
        self.steps.inc(outcome.steps)
        if outcome.result in SUCCESS:
            self.last_success.set(time.time())
        if outcome.source_valid is not None:
            self.source_valid.set(int(outcome.source_valid))
        for kind, count in outcome.repairs:
            self.drift_repairs.labels(kind).inc(count)

    def etcd(self, connected: bool) -> None:
        self.etcd_connected.set(int(connected))
        if not connected:
            self.etcd_disconnects.inc()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def kinds(cls: type[KernelObject] = KernelObject) -> list[str]:
    """Every kind of kernel object, for the drift counter's labels."""
    below = [k for sub in cls.__subclasses__() for k in kinds(sub)]
    return sorted(set(below + ([cls.kind] if cls.kind else [])))
