"""Each host's status in etcd, `<prefix>.status/<host>`: written by its watch after every reconcile under a
lease the watch keeps alive, so that the key vanishes when the host stops renewing it; and read back
for the whole fleet (`netreconcile status --fleet`): one line per declared Host."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reconciler.errors import EtcdError
from reconciler.input import etcd

TTL = 10  # seconds a host's status outlives its last renewal


def key(url: etcd.EtcdURL, host: str) -> str:
    return f"{url.prefix}{etcd.STATUS}{host}"


class StatusKeeper:
    """A daemon thread that writes the latest status of this host and keeps its lease alive (renewed
    every TTL/3 s; granted again, and the status written again, when it was lost)."""

    def __init__(self, url: etcd.EtcdURL, host: str, say: Callable[[str], None], ttl: int = TTL,
                 client: etcd.Client | None = None) -> None:
        self.url, self.host, self.say, self.ttl = url, host, say, ttl
        self.client = client or etcd.Client(url)
        self.lease = 0
        self.status: dict[str, Any] | None = None
        self.written = True   # the status held is in etcd
        self.failing = False  # as last said
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"etcd status {host}", daemon=True)

    def start(self) -> StatusKeeper:
        self.thread.start()
        return self

    def report(self, status: dict[str, Any]) -> None:
        """The status to write (at once, by the thread)."""
        self.status, self.written = {"host": self.host, **status}, False
        self.wake.set()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()

    def _run(self) -> None:
        while not self.stopping.is_set():
            self.wake.wait(self.ttl / 3)
            self.wake.clear()
            try:
                self._renew()
            except EtcdError as err:
                if not self.failing:
                    self.say(f"cannot write {key(self.url, self.host)}: {err}; retrying")
                self.failing = True
                continue
            if self.failing:
                self.say(f"writing {key(self.url, self.host)} again")
            self.failing = False

    def _renew(self) -> None:
        if not self.lease or not self.client.keepalive(self.lease):
            self.lease, self.written = self.client.grant(self.ttl), False
        if not self.written and self.status is not None:
            status = self.status
            ok, _ = self.client.txn([], [etcd.put(key(self.url, self.host), json.dumps(status).encode(), self.lease)])
            self.written = ok and status is self.status


@dataclass(frozen=True)
class HostStatus:
    """One declared Host as the fleet sees it: converged, behind, failing or silent."""

    host: str
    state: str
    revision: int = 0
    detail: str = ""

    def __str__(self) -> str:
        if self.state == "converged":
            return f"{self.host}: converged on revision {self.revision} ({self.detail})"
        if self.state == "behind":
            return f"{self.host}: behind, on revision {self.revision} ({self.detail})"
        if self.state == "failing":
            return f"{self.host}: failing ({self.detail})"
        return f"{self.host}: silent (no status: its watch is not running, or cannot reach etcd)"


def fleet(hosts: list[str], snapshot: etcd.Snapshot, url: etcd.EtcdURL) -> tuple[int, list[HostStatus]]:
    """Each declared host's state against the manifests' revision (a host converged on a later read is on it)."""
    wanted = snapshot.changed(url)
    found = {kv.key: kv.value for kv in snapshot.kvs}
    return wanted, [_state(h, found.get(key(url, h)), wanted) for h in hosts]


def _state(host: str, raw: bytes | None, wanted: int) -> HostStatus:
    try:
        body = json.loads(raw) if raw is not None else None
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return HostStatus(host, "silent")
    revision, when, drift = int(body.get("revision") or 0), body.get("time", "?"), body.get("drift", 0)
    reported = f"at {when}, {drift} drifted object(s) repaired"
    if body.get("result") != "success":
        return HostStatus(host, "failing", revision, f"{body.get('result')}: {body.get('error') or 'no error given'}")
    if revision < wanted:
        return HostStatus(host, "behind", revision, f"manifests at {wanted}; {reported}")
    return HostStatus(host, "converged", revision, reported)
