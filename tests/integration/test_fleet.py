"""A fleet on etcd: a real etcd (Debian's etcd-server) in the sandbox's `underlay` namespace, on the
underlay bridge the three simulated hosts of tests/cluster.py share; each host runs `netreconcile watch`
on one prefix, and `netreconcile push` writes the manifests there."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from builders import text
from sandbox import REPO, Sandbox
from test_overlay import HOSTS, overlay, placed

ETCD_ADDRESS = "10.10.0.2"      # on the underlay bridge ul0: every host reaches it over its eth1
URL = f"etcd://{ETCD_ADDRESS}:2379/fleet/"
CONVERGE = 30.0                 # seconds for three watches to converge after a push

pytestmark = pytest.mark.skipif(shutil.which("etcd") is None, reason="needs etcd (Debian etcd-server)")


class Etcd:
    """One etcd member in the `underlay` namespace; its data in the test's tmp dir, so it can be stopped and
    started again with what it held."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox, self.data = sandbox, sandbox.workdir / "etcd"
        self.log = sandbox.workdir / "etcd.log"
        self.process: subprocess.Popen[bytes] | None = None
        sandbox.sh(f"ip -n underlay addr add {ETCD_ADDRESS}/24 dev ul0")

    def start(self) -> None:
        client, peer = f"http://{ETCD_ADDRESS}:2379", "http://127.0.0.1:2380"
        argv = ["nsenter", "-t", str(self.sandbox.holder.pid), "--net", "--mount", "ip", "netns", "exec", "underlay",
                "etcd", "--name", "t", "--data-dir", str(self.data), "--listen-client-urls", client,
                "--advertise-client-urls", client, "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", f"t={peer}"]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        until(lambda: self.ctl("endpoint", "health", check=False).returncode == 0, 20, "etcd did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        quoted = " ".join(f"'{a}'" for a in args)
        return self.sandbox.sh(f"ip netns exec underlay etcdctl --endpoints {ETCD_ADDRESS}:2379 {quoted}", check=check)

    def keys(self) -> dict[str, str]:
        out = json.loads(self.ctl("get", "--prefix", "/fleet/", "-w", "json").stdout)
        import base64  # only here: etcdctl's JSON holds base64

        return {base64.b64decode(kv["key"]).decode(): base64.b64decode(kv.get("value", "")).decode()
                for kv in out.get("kvs", [])}

    def revision(self) -> int:
        return int(json.loads(self.ctl("get", "/", "-w", "json").stdout)["header"]["revision"])


class HostWatch:
    """`netreconcile watch URL --host NAME` on one simulated host, logging to its own file."""

    def __init__(self, host: Sandbox, name: str, *args: str) -> None:
        self.log = host.workdir / f"watch-{name}.log"
        argv = ["nsenter", "-t", str(host.holder.pid), "--net", "--mount", sys.executable, "-m", "reconciler",
                "watch", URL, "--host", name, "--resync", "0", *args]
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                            env={**os.environ, "PYTHONPATH": str(REPO)})

    def lines(self) -> list[str]:
        return self.log.read_text().splitlines()

    def wait_for(self, pattern: str, timeout: float = 15.0) -> str:
        found: list[str] = []
        until(lambda: bool(found := [x for x in self.lines() if re.search(pattern, x)]) or self.dead(), timeout,
              f"no line matches {pattern!r}:\n{self.log.read_text()}")
        assert not self.dead(), self.log.read_text()
        return [x for x in self.lines() if re.search(pattern, x)][0]

    def dead(self) -> bool:
        return self.process.poll() is not None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def until(check: Callable[[], bool], timeout: float, message: str) -> None:
    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, message
        time.sleep(0.1)


@pytest.fixture
def etcd(cluster) -> Iterator[Etcd]:
    server = Etcd(cluster.sandbox)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def watches(cluster, etcd) -> Iterator[dict[str, HostWatch]]:
    running = {h.name: HostWatch(h, h.name) for h in cluster}
    try:
        yield running
    finally:
        for w in running.values():
            w.stop()


def folder(cluster, name: str, *docs: dict) -> Path:
    path = cluster.sandbox.workdir / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir()
    (path / "hosts.yaml").write_text(text(*HOSTS))
    for doc in docs:
        (path / f"{doc['kind'].lower()}-{doc['metadata']['name']}.yaml").write_text(text(doc))
    return path


V1 = [overlay("appnet", "10.200.0.0/24"), placed("api1", "node-a", "appnet", "10.200.0.10"),
      placed("api2", "node-b", "appnet", "10.200.0.20"), placed("db1", "node-c", "appnet", "10.200.0.30")]
V2 = [overlay("appnet", "10.200.0.0/24"), placed("api1", "node-c", "appnet", "10.200.0.10"),
      placed("api2", "node-b", "appnet", "10.200.0.20"), placed("db1", "node-c", "appnet", "10.200.0.30"),
      overlay("backnet", "10.201.0.0/24"), placed("cache1", "node-a", "backnet", "10.201.0.10")]


def push(cluster, path: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return cluster["node-a"].nr("push", str(path), URL, *args, check=check)


def pushed_revision(result: subprocess.CompletedProcess) -> int:
    match = re.search(r"revision (\d+)\.", result.stdout)
    assert match, result.stdout
    return int(match[1])


def fleet_status(cluster) -> dict[str, dict]:
    out = json.loads(cluster["node-b"].nr("status", "--fleet", URL, "-o", "json").stdout)
    return {h["host"]: h for h in out["hosts"]}


def all_converged(cluster, revision: int, timeout: float = CONVERGE) -> float:
    """Seconds until `status --fleet` shows every host converged on `revision` or later."""
    start = time.monotonic()
    until(lambda: all(h["state"] == "converged" and h["revision"] >= revision for h in fleet_status(cluster).values()),
          timeout, f"not all converged on {revision}: {fleet_status(cluster)}")
    return time.monotonic() - start


def netns(cluster, name: str) -> set[str]:
    return {line.split()[0] for line in cluster[name].sh("ip netns list").stdout.splitlines()}


def test_push_v1_then_v2_every_host_converges_and_status_fleet_shows_the_revision(cluster, etcd, watches):
    for w in watches.values():
        w.wait_for("startup")
    v1 = pushed_revision(push(cluster, folder(cluster, "v1", *V1)))
    all_converged(cluster, v1)
    assert (netns(cluster, "node-a"), netns(cluster, "node-b"), netns(cluster, "node-c")) == ({"api1"}, {"api2"}, {"db1"})
    assert cluster["node-b"].ping("api2", "10.200.0.10", within=5)   # across hosts, over VXLAN
    status = cluster["node-b"].nr("status", "--fleet", URL).stdout
    assert all(f"node-{x}: converged on revision" in status for x in "abc"), status
    assert "3 of 3 host(s) converged" in status

    start = time.monotonic()
    v2 = pushed_revision(push(cluster, folder(cluster, "v2", *V2)))
    all_converged(cluster, v2)
    until(lambda: netns(cluster, "node-c") == {"api1", "db1"} and "api1" not in netns(cluster, "node-a"), 10,
          "api1 did not move")
    print(f"\npush v2 -> last host converged: {time.monotonic() - start:.2f} s")
    assert netns(cluster, "node-a") == {"cache1"}
    assert cluster["node-b"].ping("api2", "10.200.0.10", within=5)
    for name in ("node-a", "node-b", "node-c"):
        assert cluster[name].nr("plan", URL, "--host", name, "--detailed-exitcode", check=False).returncode == 0
