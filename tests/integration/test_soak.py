"""A seeded soak of `netreconcile watch` (issue 24): 200 endpoints, random actions for a while (files
added, removed, relabelled, renamed in place, broken and mended; veths, addresses, namespaces deleted by
hand, `nft flush ruleset`, SIGHUP). Every drift must be repaired, nothing may fail or leak, the final
plan must be empty and SIGTERM clean. Prints its figures.

Marked `soak`: skipped unless selected (`pytest -m soak tests/integration/test_soak.py`).
NETRECONCILE_SOAK_SECONDS (default 120) and NETRECONCILE_SOAK_SEED (default 24) change its length and seed.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
from builders import endpoint, network, text
from sandbox import Sandbox
from test_watch import METRICS, Watch, metrics_page, watching

SECONDS = float(os.environ.get("NETRECONCILE_SOAK_SECONDS", "120"))
SEED = int(os.environ.get("NETRECONCILE_SOAK_SEED", "24"))
ENDPOINTS, NETWORKS = 200, 4
RESYNC = 10.0       # seconds: what repairs a flushed ruleset (no event tells of it) when no SIGHUP comes first
REPAIR_LIMIT = RESYNC + 10.0  # seconds a drift may take to be repaired, at most
FULL = ("startup", "resync", "sighup")  # the reconciles that read the whole kernel again

pytestmark = pytest.mark.soak


def declared(name: str, labels: dict[str, str]) -> str:
    doc = endpoint(name, f"n{int(name[1:]) % NETWORKS}")
    doc["metadata"]["labels"] = labels
    return text(doc)


@dataclass
class Drift:
    """A change made by hand to one of our objects, and how to see it repaired."""

    kind: str
    target: str
    repaired: Callable[[], bool]
    start: float = field(default_factory=time.monotonic)


class Soak:
    """The manifests as the soak left them, the drifts awaiting repair, and what was measured."""

    def __init__(self, sandbox: Sandbox, folder: Path, watch: Watch) -> None:
        self.sandbox, self.folder, self.watch = sandbox, folder, watch
        self.rng = random.Random(SEED)
        self.files = {f"e{i:03d}": f"e{i:03d}.yaml" for i in range(ENDPOINTS)}  # endpoint -> its file
        self.broken: dict[str, str] = {}    # endpoint -> content its file had before it was broken
        self.added = 0
        self.pending: dict[str, Drift] = {}
        self.latencies: dict[str, list[float]] = {}
        self.actions: Counter = Counter()

    def act(self) -> None:
        actions = {"add": 10, "remove": 8, "relabel": 10, "rename": 8, "break": 6, "mend": 8, "veth": 10,
                   "address": 10, "netns": 6, "nft": 4, "sighup": 4}
        name = self.rng.choices(list(actions), weights=list(actions.values()))[0]
        if getattr(self, f"_{name}")() is not False:
            self.actions[name] += 1

    def poll(self) -> None:
        for target, drift in list(self.pending.items()):
            if drift.repaired():
                self.latencies.setdefault(drift.kind, []).append(time.monotonic() - drift.start)
                del self.pending[target]
            else:
                assert time.monotonic() - drift.start < REPAIR_LIMIT, f"{drift.kind} on {target} not repaired"

    def mend_all(self) -> None:
        while self.broken:
            self._mend()

    # file actions
    def _steady(self) -> list[str]:
        """Endpoints with a valid file and no drift awaiting repair."""
        return sorted(e for e in self.files if e not in self.broken and e not in self.pending)

    def _write(self, endpoint_name: str, content: str) -> None:
        path = self.folder / self.files[endpoint_name]
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(content)
        os.replace(tmp, path)

    def _add(self):
        name = f"x{self.added:03d}"
        self.added += 1
        self.files[name] = f"{name}.yaml"
        self._write(name, declared(name, {"tier": "new"}))

    def _remove(self):
        choices = self._steady()
        if not choices:
            return False
        name = self.rng.choice(choices)
        (self.folder / self.files.pop(name)).unlink()

    def _relabel(self):
        choices = self._steady()
        if not choices:
            return False
        name = self.rng.choice(choices)
        content = (self.folder / self.files[name]).read_text()
        self._write(name, content.replace("tier:", "was:") if "tier:" in content else content.replace("was:", "tier:"))

    def _rename(self):
        choices = self._steady()
        if not choices:
            return False
        name = self.rng.choice(choices)
        old = self.folder / self.files[name]
        self.files[name] = f"{name}-{self.rng.randrange(1000):03d}.yaml"
        os.rename(old, self.folder / self.files[name])

    def _break(self):
        choices = [e for e in self._steady() if e.startswith("e")]
        if not choices or len(self.broken) >= 2:
            return False
        name = self.rng.choice(choices)
        self.broken[name] = (self.folder / self.files[name]).read_text()
        self._write(name, self.broken[name].replace("interfaces:", "interfaces: [", 1))

    def _mend(self):
        if not self.broken:
            return False
        name = self.rng.choice(sorted(self.broken))
        self._write(name, self.broken.pop(name))

    # drift made by hand (on endpoints of the first manifests still declared, whose namespaces exist)
    def _target(self) -> str | None:
        choices = [e for e in self.files if e.startswith("e") and e not in self.pending]
        return self.rng.choice(sorted(choices)) if choices else None

    def _drift(self, kind: str, command: str, target: str, repaired: Callable[[], bool]) -> None:
        self.sandbox.sh(command)
        self.pending[target] = Drift(kind, target, repaired)

    def _endpoint_drift(self, kind: str, command: str):
        target = self._target()
        if target is None:
            return False
        check = f"ip -n {target} -4 -o addr show dev eth0 | grep -q inet && ip -n {target} route show default | grep -q via"
        self._drift(kind, command.format(ns=target), target,
                    lambda: self.sandbox.sh(check, check=False).returncode == 0)

    def _veth(self):
        return self._endpoint_drift("veth deleted", "ip -n {ns} link del eth0")

    def _address(self):
        return self._endpoint_drift("address flushed", "ip -n {ns} addr flush dev eth0")

    def _netns(self):
        return self._endpoint_drift("netns deleted", "ip netns del {ns}")

    def _nft(self):
        if "ruleset" in self.pending:
            return False
        self._drift("ruleset flushed", "nft flush ruleset", "ruleset",
                    lambda: self.sandbox.sh("nft list table inet netreconcile", check=False).returncode == 0)

    def _sighup(self):
        self.watch.signal(signal.SIGHUP)


def usage(pid: int) -> dict[str, int]:
    """The watch's resident memory (MB), open file descriptors and threads."""
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return {"rss_mb": int(status["VmRSS"].split()[0]) // 1024, "fds": len(os.listdir(f"/proc/{pid}/fd")),
            "threads": int(status["Threads"])}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def test_soak_of_the_watch(sandbox, capsys):
    folder = sandbox.workdir / "m"
    folder.mkdir()
    (folder / "networks.yaml").write_text(text(*(network(f"n{i}", f"10.60.{i}.0/24") for i in range(NETWORKS))))
    for i in range(ENDPOINTS):
        (folder / f"e{i:03d}.yaml").write_text(declared(f"e{i:03d}", {"tier": "web"}))
    args = ("--log-format", "json", "--metrics-addr", METRICS, "--resync", f"{RESYNC:g}s")
    with watching(sandbox, folder, *args) as watch:
        soak = Soak(sandbox, folder, watch)
        first = usage(watch.process.pid)
        start = time.monotonic()
        next_action = start
        while time.monotonic() - start < SECONDS:
            if time.monotonic() >= next_action:
                soak.act()
                next_action = time.monotonic() + soak.rng.uniform(0.2, 0.8)
            soak.poll()
            time.sleep(0.05)
        soak.mend_all()
        while soak.pending:
            soak.poll()
            time.sleep(0.05)
        settled = time.monotonic()
        while sandbox.plan_exitcode(folder) != 0:
            assert time.monotonic() - settled < REPAIR_LIMIT, sandbox.nr("plan", str(folder), check=False).stdout
            time.sleep(0.5)
        last = usage(watch.process.pid)
        page = metrics_page(sandbox)
        stopping = time.monotonic()
    stopped = time.monotonic() - stopping

    lines = [json.loads(line) for line in watch.lines()]  # every line one JSON object: no traceback
    reconciles = [line for line in lines if line["event"] == "reconcile"]
    results = Counter(r["result"] for r in reconciles)
    triggers = Counter(r["trigger"] for r in reconciles)
    repaired = {m.split('"')[1]: float(m.split()[-1]) for m in page.splitlines()
                if m.startswith("netreconcile_drift_repairs_total{") and not m.endswith(" 0.0")}
    drifts = sum(len(v) for v in soak.latencies.values())
    with capsys.disabled():
        print(f"\nsoak: {SECONDS:g} s, seed {SEED}, {ENDPOINTS} endpoints, {sum(soak.actions.values())} actions "
              f"({', '.join(f'{k} {n}' for k, n in sorted(soak.actions.items()))})")
        print(f"  watch: RSS {first['rss_mb']} -> {last['rss_mb']} MB, fds {first['fds']} -> {last['fds']}, "
              f"threads {first['threads']} -> {last['threads']}; SIGTERM -> exit in {stopped:.2f} s")
        print(f"  reconciles: {len(reconciles)} by result ({', '.join(f'{k} {n}' for k, n in sorted(results.items()))}); "
              f"by trigger ({', '.join(f'{k} {n}' for k, n in sorted(triggers.items()))})")
        print(f"  drifts repaired: {drifts}; drifted objects repaired (metric): "
              f"{', '.join(f'{k} {v:g}' for k, v in sorted(repaired.items()))}")
        for kind, values in sorted(soak.latencies.items()):
            print(f"  repair latency, {kind}: n={len(values)} median {statistics.median(values) * 1000:.0f} ms, "
                  f"p95 {percentile(values, 0.95) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms")

    assert results["failed"] == 0 and results["refused"] == 0, results
    assert not [r for r in reconciles if any("cannot read" in e for e in r.get("errors", []))]
    full = [datetime.strptime(r["time"], "%Y-%m-%dT%H:%M:%S%z") for r in reconciles if r["trigger"] in FULL]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(full)]
    assert max(gaps) <= RESYNC + 2, gaps  # the resync is periodic, whatever else runs (times logged to the second)
    assert sum(repaired.values()) >= drifts > 0
    assert last["rss_mb"] <= first["rss_mb"] * 1.5 and last["fds"] <= first["fds"] + 2, (first, last)
