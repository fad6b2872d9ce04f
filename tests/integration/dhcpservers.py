"""Real DHCP servers on the LAN of builders.make_lan (namespace `lan`, bridge lanbr, router 192.168.60.1):
Kea (memfile lease database, CSV) and dnsmasq (its lease file), each started inside the sandbox with
its files in the test's directory, and stopped (or killed with the sandbox)."""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable
from pathlib import Path

from sandbox import Sandbox

ROUTER = "192.168.60.1"


def dhcp_network(name: str = "lan60", parent: str = "eth1", driver: str = "macvlan", **extra: object) -> dict:
    spec: dict[str, object] = {"driver": driver, "ipam": {"mode": "dhcp"}, driver: {"parent": parent}, **extra}
    return {"apiVersion": "netreconcile/v1", "kind": "Network", "metadata": {"name": name}, "spec": spec}


class Kea:
    """kea-dhcp4 on lanbr: leases of `lifetime` seconds (renew at a third, rebind at two thirds)."""

    def __init__(self, sandbox: Sandbox, workdir: Path, lifetime: int = 9) -> None:
        self.sandbox, self.dir, self.lifetime = sandbox, workdir / "kea", lifetime
        self.dir.mkdir(exist_ok=True)
        self.leases = self.dir / "leases4.csv"

    def start(self, subnet: str = "192.168.60.0/24", pool: str = "192.168.60.100 - 192.168.60.150",
              router: str = ROUTER) -> None:
        config = {"Dhcp4": {
            "interfaces-config": {"interfaces": ["lanbr"], "dhcp-socket-type": "raw"},
            "lease-database": {"type": "memfile", "name": str(self.leases), "lfc-interval": 0},
            "valid-lifetime": self.lifetime, "renew-timer": self.lifetime // 3, "rebind-timer": self.lifetime * 2 // 3,
            "subnet4": [{"id": 1, "subnet": subnet, "pools": [{"pool": pool}],
                         "option-data": [{"name": "routers", "data": router},
                                         {"name": "domain-name-servers", "data": router}]}],
            "loggers": [{"name": "kea-dhcp4", "severity": "DEBUG", "debuglevel": 40,
                         "output_options": [{"output": str(self.dir / "kea.log")}]}],
        }}
        (self.dir / "kea.json").write_text(json.dumps(config))
        env = f"KEA_PIDFILE_DIR={self.dir} KEA_LOCKFILE_DIR={self.dir}"
        self.sandbox.sh(f"ip netns exec lan env {env} kea-dhcp4 -c {self.dir}/kea.json "
                        f"> {self.dir}/kea.out 2>&1 & echo $! > {self.dir}/pid")
        wait_for(lambda: "DHCP4_STARTED" in self.log(), f"kea started:\n{self.log()}")

    def stop(self) -> None:
        self.sandbox.sh(f"kill $(cat {self.dir}/pid); while kill -0 $(cat {self.dir}/pid) 2>/dev/null; do sleep 0.1; done")

    def log(self) -> str:
        path = self.dir / "kea.log"
        return path.read_text() if path.exists() else ""

    def records(self, address: str | None = None) -> list[dict[str, str]]:
        """The lease database's records (each renewal and release appends one), of `address` if given."""
        if not self.leases.exists():
            return []
        with self.leases.open() as f:
            return [r for r in csv.DictReader(f) if address is None or r["address"] == address]


class Dnsmasq:
    """dnsmasq's DHCP server on lanbr (no DNS), with `options` added (e.g. dhcp-ignore-clid)."""

    def __init__(self, sandbox: Sandbox, workdir: Path) -> None:
        self.sandbox, self.dir = sandbox, workdir / "dnsmasq"
        self.dir.mkdir(exist_ok=True)
        self.leases = self.dir / "leases"

    def start(self, *options: str, lifetime: str = "2m") -> None:
        extra = " ".join(f"--{o}" for o in options)
        self.sandbox.sh(f"ip netns exec lan dnsmasq --no-daemon --port=0 --interface=lanbr --bind-interfaces "
                        f"--dhcp-range=192.168.60.100,192.168.60.150,255.255.255.0,{lifetime} "
                        f"--dhcp-option=option:router,{ROUTER} --dhcp-leasefile={self.leases} --log-dhcp "
                        f"--pid-file={self.dir}/pid {extra} > {self.dir}/log 2>&1 &")
        wait_for(lambda: "DHCP, sockets bound" in self.log(), "dnsmasq started")

    def log(self) -> str:
        path = self.dir / "log"
        return path.read_text() if path.exists() else ""

    def leased(self) -> list[str]:
        """The addresses of its lease file (a released lease is removed from it)."""
        return sorted(line.split()[2] for line in self.leases.read_text().splitlines()) if self.leases.exists() else []


def wait_for(condition, what: str | Callable[[], str], within: float = 30.0) -> None:
    """Polls `condition` until it holds; `what` (or what it returns) says what did not happen in time."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"not within {within} s: {what() if callable(what) else what}"
        time.sleep(0.1)
