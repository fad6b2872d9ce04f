"""Following an etcd prefix for the watch: etcd's watch stream from the revision applied, a change of a
manifest key told as it comes; after a disconnect, the stream resumed from the last revision seen, with
backoff; a revision compacted away asks for a full resync."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reconciler.errors import EtcdError, EtcdUnavailable, WatchIdle
from reconciler.input import etcd

BACKOFF = (0.5, 1.0, 2.0, 4.0)  # seconds before each retry after a disconnect; the last repeats


@dataclass(frozen=True)
class Hooks:
    """What the follower tells: a manifest changed (`changed`, the detail), a full resync is needed
    (`resync`), the connection was lost or is back (`connection`: connected, message)."""

    changed: Callable[[str], None]
    resync: Callable[[str], None]
    connection: Callable[[bool, str], None]


class Follower:
    """A daemon thread on etcd's watch of one prefix."""

    def __init__(self, url: etcd.EtcdURL, hooks: Hooks, client: etcd.Client | None = None) -> None:
        self.url, self.hooks = url, hooks
        self.client = client or etcd.Client(url)
        self.next: int | None = None   # the first revision not yet seen; None: from the current one
        self.connected: bool | None = None
        self.failures = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"etcd {url}", daemon=True)

    def start(self, applied: int | None = None) -> None:
        """Follow from just after the revision `applied` (None: from now on, reconciling once first)."""
        self.next = applied + 1 if applied else None
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                self._follow()  # returns when the revision was compacted: follow again at once
            except WatchIdle:
                continue
            except EtcdError as err:
                self._lost(str(err))
                self.stopping.wait(BACKOFF[min(self.failures - 1, len(BACKOFF) - 1)])

    def _follow(self) -> None:
        if self.next is None:
            self.next = self.client.range(self.url.prefix).revision + 1
            self.hooks.changed(f"etcd revision {self.next - 1}")
        for result in self.client.watch(self.url.prefix, self.next):
            if result.get("created"):
                self._connected()
            if result.get("canceled"):
                self._compacted(result)
                return
            self._events(result)
        raise EtcdUnavailable("etcd closed the watch")

    def _events(self, result: dict[str, Any]) -> None:
        kvs = [etcd.kv_of(e["kv"]) for e in result.get("events", [])]
        latest = max((kv.mod_revision for kv in kvs), default=0)
        self.next = max(self.next or 0, latest + 1)
        changed = [kv.key for kv in kvs if self.url.manifest(kv.key)]
        if changed:
            shown = ", ".join(k[len(self.url.prefix):] for k in changed[:3]) + (", ..." if len(changed) > 3 else "")
            self.hooks.changed(f"etcd revision {latest}: {shown}")

    def _compacted(self, result: dict[str, Any]) -> None:
        compacted = int(result.get("compact_revision", 0))
        if compacted:
            self.hooks.resync(f"etcd compacted past revision {(self.next or 1) - 1} (to {compacted})")
            self.next = None
        else:
            raise EtcdError(f"etcd canceled the watch: {result.get('cancel_reason', 'no reason given')}")

    def _connected(self) -> None:
        if self.connected is not True:
            was_lost = self.connected is False
            self.connected, self.failures = True, 0
            self.hooks.connection(True, f"etcd watch of {self.url} from revision {self.next}")
            if was_lost:
                self.hooks.changed("etcd reachable again")

    def _lost(self, why: str) -> None:
        self.failures += 1
        retry = BACKOFF[min(self.failures - 1, len(BACKOFF) - 1)]
        if self.connected is not False:
            self.hooks.changed("etcd unreachable")
        self.connected = False
        self.hooks.connection(False, f"{why}; retrying in {retry:g} s from revision {self.next}")
