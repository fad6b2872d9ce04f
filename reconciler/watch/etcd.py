"""The watch's etcd sources: each followed from the revision applied (a change puts a trigger, a lost
connection is logged and retried, a compacted revision asks for a full resync), and this host's status
written under each prefix after every reconcile."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from reconciler.fleet.follow import Follower, Hooks
from reconciler.fleet.status import StatusKeeper
from reconciler.input import etcd
from reconciler.watch.log import Log
from reconciler.watch.reconcile import SUCCESS, Outcome, Result, recorded_result
from reconciler.watch.triggers import Trigger, TriggerKind

if TYPE_CHECKING:
    from reconciler.watch.metrics import Metrics


class EtcdSources:
    """The etcd sources among the watch's paths (none: it does nothing)."""

    def __init__(self, paths: list[str], host: str | None, put: Callable[[Trigger], None], log: Log) -> None:
        self.urls = {p: etcd.EtcdURL.parse(p) for p in paths if etcd.is_url(p)}
        self.put, self.log = put, log
        self.host = host or socket.gethostname()
        self.metrics: Metrics | None = None
        self.followers: dict[str, Follower] = {}
        self.keepers = {raw: StatusKeeper(url, self.host, lambda m: self.log.event("etcd", m)) for raw, url in self.urls.items()}
        self.applied: dict[str, int] = {}  # the revision of each source last applied
        self.drift = 0                      # drifted objects repaired since the watch started

    def start(self, revisions: dict[str, int]) -> None:
        """Follow each source from the revision the first reconcile read (if it could)."""
        hooks = Hooks(self._changed, self._resync, self._connection)
        for raw, url in self.urls.items():
            self.followers[raw] = Follower(url, hooks)
            self.followers[raw].start(revisions.get(raw))
            self.keepers[raw].start()

    def reconciled(self, outcome: Outcome, changed: dict[str, int]) -> None:
        """Write this host's status to each source after a reconcile: the revision of the manifests it
        applied last (that of their last change: what `status --fleet` compares with)."""
        if outcome.result is Result.LOCKED:
            return
        self.drift += sum(n for _, n in outcome.repairs)
        for raw, keeper in self.keepers.items():
            if outcome.result in SUCCESS and raw in changed:
                self.applied[raw] = changed[raw]
            keeper.report({"revision": self.applied.get(raw, 0),
                           "result": recorded_result(outcome), "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                           "drift": self.drift, "error": outcome.errors[0] if outcome.errors else ""})

    def revision(self) -> str | None:
        """The etcd revision last applied, as the watch names the manifests it enforces."""
        return next((f"etcd:{r}" for r in self.applied.values()), None)

    def stop(self) -> None:
        for follower in self.followers.values():
            follower.stop()
        for keeper in self.keepers.values():
            keeper.stop()

    def _changed(self, detail: str) -> None:
        self.put(Trigger(TriggerKind.ETCD, detail))

    def _resync(self, detail: str) -> None:
        self.log.event("etcd", f"{detail}: full resync")
        self.put(Trigger(TriggerKind.RESYNC, detail))

    def _connection(self, connected: bool, message: str) -> None:
        self.log.event("etcd", message, connected=connected)
        if self.metrics:
            self.metrics.etcd(connected)
