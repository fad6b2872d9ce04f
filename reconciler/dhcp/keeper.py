"""The lease keeper: a Client task per interface of the loaded state; a state loaded again starts the
new ones and releases the leases of those gone; its status (status.json) says each one's lease, and
which interfaces hold the same address as another (a server that ignores client identifiers)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from reconciler.dhcp.client import Client
from reconciler.dhcp.lease import LeaseFiles
from reconciler.dhcp.netio import open_interface
from reconciler.model.dhcp import DhcpClient, DhcpState

log = logging.getLogger("netreconcile.dhcp")
STATUS_FORMAT = 1


class Keeper:
    """Every client this process runs, by `ns/ifname`; `changed` is called after any client changes."""

    def __init__(self, leases: LeaseFiles) -> None:
        self.leases = leases
        self.clients: dict[str, Client] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.failed: dict[str, str] = {}
        self.digest = ""
        self.written: asyncio.Event = asyncio.Event()

    def changed(self) -> None:
        self.written.set()

    def load(self, state: DhcpState) -> None:
        """Release those not in `state` (or changed), start the new ones."""
        for key in [k for k, c in self.clients.items() if state.clients.get(k) != c.spec]:
            self._stop(key, release=True)
        self.failed = {}
        for key, spec in state.clients.items():
            if key not in self.clients:
                self._start(spec)
        self.digest = state.digest
        self.changed()

    def _start(self, spec: DhcpClient) -> None:
        try:
            iface = open_interface(spec.ns, spec.ifname)
        except OSError as err:
            self.failed[spec.key] = str(err)
            log.error("%s: not kept: %s", spec.key, err)
            return
        client = self.clients[spec.key] = Client(spec, iface, self.leases, self.changed)
        task = self.tasks[spec.key] = asyncio.get_running_loop().create_task(client.run(), name=spec.key)
        task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task[None]) -> None:
        """A client's task ends only when stopped; one that fails is a bug, said in the log and the status."""
        if not task.cancelled() and task.exception() is not None:
            key = task.get_name()
            self.failed[key] = repr(task.exception())
            log.error("%s: stopped by a bug", key, exc_info=task.exception())
            self.changed()

    def _stop(self, key: str, release: bool) -> None:
        client = self.clients.pop(key)
        self.tasks.pop(key).cancel()
        if release:
            with contextlib.suppress(OSError):
                client.release()
        client.iface.close()

    def forget_namespace(self, ns: str) -> None:
        """A namespace removed by hand: its clients stop (nothing left to release from)."""
        for key in [k for k, c in self.clients.items() if c.spec.ns == ns]:
            self._stop(key, release=False)
            self.leases.forget(key)
        self.changed()

    def close(self) -> None:
        """Stop without releasing: the leases stay on disk, asked for again at the next start."""
        for key in list(self.clients):
            self._stop(key, release=False)

    def status(self) -> dict[str, object]:
        clients: dict[str, object] = {}
        for key, c in sorted(self.clients.items()):
            lease = c.lease
            clients[key] = {"inode": c.iface.inode, "phase": c.phase, "endpoint": c.spec.endpoint,
                            "network": c.spec.network, **({} if lease is None else {
                                "address": lease.cidr, "router": lease.router, "dns": list(lease.dns),
                                "server": lease.server, "expires": lease.expires, "renews": lease.renews})}
        return {"formatVersion": STATUS_FORMAT, "digest": self.digest, "clients": clients,
                "failed": dict(sorted(self.failed.items())), "conflicts": self.conflicts()}

    def conflicts(self) -> list[list[str]]:
        """[address, key, key, ...] for each address of a network given to more than one interface."""
        holders: dict[tuple[str, str], list[str]] = {}
        for key, c in sorted(self.clients.items()):
            if c.lease is not None:
                holders.setdefault((c.spec.network, c.lease.address), []).append(key)
        return [[address, *keys] for (_, address), keys in sorted(holders.items()) if len(keys) > 1]
