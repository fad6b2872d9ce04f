"""A lease as the keeper holds it, and its copy on disk (/var/lib/netreconcile/dhcp/<ns>@<ifname>.json,
root's alone), read back after a restart or a reboot to ask for the same address (INIT-REBOOT)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from reconciler.kernel import safefs

LEASE_DIR = "/var/lib/netreconcile/dhcp"
FOLDER_MODE, FILE_MODE = 0o700, 0o600


@dataclass(frozen=True)
class Lease:
    """What an ACK gave: the address and prefix, the router and name servers, the server that gave it,
    and when (wall clock seconds) it was given and for how long (`time`; `t1`, `t2`: renew, rebind)."""

    address: str
    prefix: int
    server: str
    acquired: float
    time: int
    t1: int
    t2: int
    router: str | None = None
    dns: tuple[str, ...] = ()
    client_id: str = ""

    @property
    def expires(self) -> float:
        return self.acquired + self.time

    @property
    def renews(self) -> float:
        return self.acquired + self.t1

    @property
    def rebinds(self) -> float:
        return self.acquired + self.t2

    @property
    def cidr(self) -> str:
        return f"{self.address}/{self.prefix}"

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "dns": list(self.dns)}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Lease:
        raw = json.loads(text)
        return cls(str(raw["address"]), int(raw["prefix"]), str(raw["server"]), float(raw["acquired"]),
                   int(raw["time"]), int(raw["t1"]), int(raw["t2"]), raw.get("router"),
                   tuple(raw.get("dns", ())), str(raw.get("client_id", "")))


class LeaseFiles:
    """The leases on disk, one file per interface."""

    def __init__(self, lease_dir: str = LEASE_DIR) -> None:
        self.lease_dir = lease_dir

    def _folder(self) -> safefs.Folder:
        return safefs.opened(self.lease_dir, make=FOLDER_MODE, narrow=True)

    @staticmethod
    def name(key: str) -> str:
        return key.replace("/", "@") + ".json"

    def load(self, key: str, client_id: str) -> Lease | None:
        """The lease kept for `key`, if it was given to this client identifier and can be read."""
        with self._folder() as folder:
            data = folder.read(self.name(key))
        try:
            lease = Lease.from_json(data.decode()) if data else None
        except (ValueError, KeyError, TypeError):
            return None
        return lease if lease is not None and lease.client_id == client_id else None

    def save(self, key: str, lease: Lease) -> None:
        with self._folder() as folder:
            folder.replace(self.name(key), lease.to_json().encode(), FILE_MODE)

    def forget(self, key: str) -> None:
        with self._folder() as folder:
            if folder.exists(self.name(key)):
                folder.remove(self.name(key))
