"""`netreconcile watch` running in the background: it converges on file changes, repairs kernel drift,
keeps the last applied state when the source is bad, and obeys signals."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from builders import (
    assert_unchanged,
    converge,
    endpoint,
    host_veth,
    iface,
    ipv4_of,
    netns_names,
    network,
    out,
    snapshot,
    text,
    write,
)
from sandbox import REPO, Sandbox

DEADLINE = 2.0   # seconds from a change to a converged kernel
STARTUP = 15.0   # seconds for the watch to start and finish its first reconcile
METRICS = "127.0.0.1:9464"  # the sandbox's own loopback


class Watch:
    """A `netreconcile watch` started inside the sandbox; stdout and stderr go to a log file."""

    def __init__(self, sandbox: Sandbox, path: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.log = sandbox.workdir / "watch.log"
        argv = ["nsenter", "-t", str(sandbox.holder.pid), "--net", "--mount",
                sys.executable, "-m", "reconciler", "watch", str(path), *args]
        environ = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=environ)

    def lines(self) -> list[str]:
        return self.log.read_text().splitlines()

    def reconciles(self) -> list[str]:
        return [line for line in self.lines() if "reconcile after" in line or '"event": "reconcile"' in line]

    def wait_for(self, pattern: str, timeout: float = DEADLINE, after: int = 0) -> str:
        """The first log line from `after` on that matches `pattern`, waiting for it to appear."""
        end = time.monotonic() + timeout
        while True:
            found = [line for line in self.lines()[after:] if re.search(pattern, line)]
            if found:
                return found[0]
            assert self.process.poll() is None, f"the watch exited ({self.process.returncode}):\n{self.log.read_text()}"
            assert time.monotonic() < end, f"no log line matches {pattern!r} in {timeout} s:\n{self.log.read_text()}"
            time.sleep(0.05)

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def stop(self) -> int:
        """SIGTERM, and the exit code."""
        self.signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise


@contextmanager
def watching(sandbox: Sandbox, path: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[Watch]:
    """Start a watch, wait for its first reconcile; at the end, SIGTERM must stop it with exit 0."""
    watch = Watch(sandbox, path, *args, env=env)
    try:
        watch.wait_for("startup", timeout=STARTUP)
        yield watch
        assert watch.stop() == 0, watch.log.read_text()
    finally:
        if watch.process.poll() is None:
            watch.process.kill()
            watch.process.wait()


def converges(sandbox: Sandbox, path: Path, looks_right: Callable[[], bool]) -> float:
    """Seconds from now until the kernel looks right and `plan --detailed-exitcode` exits 0; at most DEADLINE."""
    start = time.monotonic()
    while time.monotonic() - start < DEADLINE:
        if looks_right() and sandbox.plan_exitcode(path) == 0:
            return time.monotonic() - start
        time.sleep(0.05)
    raise AssertionError(f"not converged within {DEADLINE} s: {sandbox.nr('plan', str(path), check=False).stdout}")


def replace_file(path: Path, content: str) -> None:
    """Write as editors do: a temporary file, renamed over the old one."""
    tmp = path.with_name(f".{path.name}.swp")
    tmp.write_text(content)
    os.replace(tmp, path)


def base(sandbox: Sandbox) -> Path:
    write(sandbox, network("front", "172.20.0.0/24"), endpoint("a", iface("front", "172.20.0.10")),
          endpoint("b", iface("front", "172.20.0.11")))
    return sandbox.workdir / "m"


def host_veths(sandbox: Sandbox) -> list[str]:
    return [line.split(":")[1].strip().split("@")[0] for line in out(sandbox, "ip -o link show type veth").splitlines()]


def test_converges_within_deadline_when_a_manifest_is_added_changed_and_removed(sandbox):
    folder = base(sandbox)
    with watching(sandbox, folder) as watch:
        assert sandbox.plan_exitcode(folder) == 0
        c = folder / "c.yaml"
        c.write_text(text(endpoint("c", iface("front", "172.20.0.12"))))
        added = converges(sandbox, folder, lambda: "c" in netns_names(sandbox) and ipv4_of(sandbox, "c") == ["172.20.0.12/24"])
        assert sandbox.ping("c", "172.20.0.10")

        replace_file(c, text(endpoint("c", iface("front", "172.20.0.13"))))
        changed = converges(sandbox, folder, lambda: ipv4_of(sandbox, "c") == ["172.20.0.13/24"])

        c.unlink()
        removed = converges(sandbox, folder, lambda: netns_names(sandbox) == ["a", "b"])
        assert any("file change" in line and "c.yaml" in line for line in watch.reconciles())
    print(f"file change -> converged: added {added:.2f} s, changed {changed:.2f} s, removed {removed:.2f} s")


def test_a_broken_manifest_changes_nothing_and_is_logged_with_its_line_then_the_fix_converges(sandbox):
    folder = base(sandbox)
    path = folder / "net.yaml"
    with watching(sandbox, folder) as watch:
        before = snapshot(sandbox, "ip -d link", "ip addr", "ip -n a addr", "ip -n a route", "nft list ruleset")
        # A change that would move a's address, in a file that is also invalid: none of it may happen.
        broken = path.read_text().replace("172.20.0.10", "172.20.0.20").replace("driver: bridge", "driver: bridge\n  color: blue")
        seen = len(watch.lines())
        replace_file(path, broken)
        watch.wait_for("invalid", after=seen)
        line = next(n for n, text_line in enumerate(broken.splitlines(), 1) if "color" in text_line)
        watch.wait_for(rf"{re.escape(str(path))}:{line}:\d+: .*color", after=seen)
        time.sleep(0.3)
        assert_unchanged(sandbox, before)

        replace_file(path, broken.replace("\n  color: blue", ""))
        converges(sandbox, folder, lambda: ipv4_of(sandbox, "a") == ["172.20.0.20/24"])
        last = json.loads(sandbox.nr("status", str(folder), "-o", "json").stdout)["lastReconcile"]
        assert (last["result"], last["trigger"]) == ("success", "watch:file"), last


def test_an_emptied_folder_is_refused_and_nothing_is_deleted(sandbox):
    folder = base(sandbox)
    with watching(sandbox, folder) as watch:
        before = snapshot(sandbox, "ip -d link", "ip netns list", "nft list ruleset")
        seen = len(watch.lines())
        (folder / "net.yaml").unlink()
        watch.wait_for("refused", after=seen)
        assert "pass --allow-empty" in watch.wait_for("declare nothing", after=seen)
        assert_unchanged(sandbox, before)


def test_an_owned_veth_deleted_by_hand_comes_back_without_a_file_change(sandbox):
    folder = base(sandbox)
    with watching(sandbox, folder) as watch:
        # Foreign objects changing make no reconcile: only our objects' events count.
        seen = len(watch.reconciles())
        sandbox.sh("ip link add foreign0 type bridge && ip link set foreign0 up && ip addr add 203.0.113.1/24 dev foreign0")
        time.sleep(0.6)
        assert len(watch.reconciles()) == seen, watch.lines()

        veth = host_veths(sandbox)[0]
        sandbox.sh(f"ip link del {veth}")
        repaired = converges(sandbox, folder, lambda: veth in host_veths(sandbox))
        assert "kernel event" in watch.reconciles()[seen], watch.lines()
        assert sandbox.ping("a", "172.20.0.11")
    print(f"veth deleted -> repaired: {repaired:.2f} s")


def test_sighup_forces_a_resync_that_brings_back_a_deleted_nft_table(sandbox):
    folder = base(sandbox)
    with watching(sandbox, folder, "--resync", "300s") as watch:
        sandbox.sh("nft delete table inet netreconcile")
        time.sleep(0.5)  # no rtnetlink event for nftables: nothing happens until a resync
        assert sandbox.sh("nft list table inet netreconcile", check=False).returncode != 0
        seen = len(watch.lines())
        watch.signal(signal.SIGHUP)
        converges(sandbox, folder, lambda: sandbox.sh("nft list table inet netreconcile", check=False).returncode == 0)
        assert "SIGHUP" in watch.wait_for("reconcile after", after=seen)


def test_json_log_metrics_readiness_and_sigterm(sandbox, tmp_path):
    folder = base(sandbox)
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    notify.settimeout(STARTUP)
    env = {"NOTIFY_SOCKET": str(tmp_path / "notify.sock")}
    with watching(sandbox, folder, "--log-format", "json", "--metrics-addr", METRICS, env=env) as watch:
        assert notify.recv(4096).decode().startswith("READY=1\n")
        page = sandbox.sh(f"{sys.executable} -c \"import urllib.request; "
                          f"print(urllib.request.urlopen('http://{METRICS}/metrics', timeout=2).read().decode())\"").stdout
        assert 'netreconcile_reconciles_total{result="applied"} 1.0' in page, page
        assert "netreconcile_reconcile_duration_seconds_count 1.0" in page
        assert re.search(r"^netreconcile_last_success_timestamp_seconds [1-9]", page, re.MULTILINE), page
    lines = [json.loads(line) for line in watch.lines()]  # every line is one JSON object
    startup = next(line for line in lines if line["event"] == "reconcile")
    assert (startup["trigger"], startup["result"]) == ("startup", "applied") and startup["steps"] > 0, startup
    assert isinstance(startup["duration_ms"], (int, float))
    assert lines[-1]["event"] == "stop" and lines[-1]["signal"] == "SIGTERM"
    notify.close()


def test_drift_inside_an_endpoint_namespace_is_repaired_after_a_file_change(sandbox):
    """The watch keeps what it read of each namespace; news from a namespace makes it read it again."""
    folder = base(sandbox)
    with watching(sandbox, folder) as watch:
        (folder / "c.yaml").write_text(text(endpoint("c", iface("front", "172.20.0.12"))))
        converges(sandbox, folder, lambda: "c" in netns_names(sandbox) and ipv4_of(sandbox, "c") == ["172.20.0.12/24"])
        time.sleep(0.6)  # past the quiet time after an apply, when kernel events are taken as its own
        seen = len(watch.reconciles())
        sandbox.sh("ip -n a addr flush dev eth0")
        converges(sandbox, folder, lambda: ipv4_of(sandbox, "a") == ["172.20.0.10/24"])
        assert "kernel event" in watch.reconciles()[seen], watch.lines()
        assert sandbox.ping("a", "172.20.0.12")


def test_a_bridge_ports_isolation_turned_off_by_hand_is_restored_without_a_file_change(sandbox):
    """Bridge port news is all the kernel tells of a port flag changed: the kernel cache, which reads
    no port again for such news telling nothing new, reads this one again."""
    folder = write(sandbox, network("front", "172.20.0.0/24", icc=False), endpoint("a", iface("front", "172.20.0.10")),
                   endpoint("b", iface("front", "172.20.0.11")))
    veth = host_veth(sandbox.nr("plan", str(folder), check=False).stdout, "a")
    with watching(sandbox, folder) as watch:
        time.sleep(0.6)  # past the quiet time after an apply, when kernel events are taken as its own
        seen = len(watch.reconciles())
        sandbox.sh(f"bridge link set dev {veth} isolated off")
        converges(sandbox, folder, lambda: "isolated on" in out(sandbox, f"bridge -d link show dev {veth}"))
        assert "kernel event" in watch.reconciles()[seen], watch.lines()
        assert sandbox.unreachable("a", "172.20.0.11")


def test_bridge_port_news_telling_nothing_we_manage_is_no_event_even_a_ports_first(sandbox):
    """A bridge tells of its ports as ports come and go (hundreds of messages at 1000 endpoints): the
    watch knows what each port showed when it started, so a port's first news is an event only if
    it tells of a change to what we manage (isolation, learning)."""
    folder = write(sandbox, network("front", "172.20.0.0/24", icc=False), endpoint("a", iface("front", "172.20.0.10")))
    veth = host_veth(sandbox.nr("plan", str(folder), check=False).stdout, "a")
    converge(sandbox, folder)
    with watching(sandbox, folder) as watch:
        time.sleep(0.6)  # past the quiet time after an apply, when kernel events are taken as its own
        seen = len(watch.reconciles())
        sandbox.sh(f"bridge link set dev {veth} priority 7")  # port news; nothing of ours changed
        time.sleep(1.5)
        assert watch.reconciles()[seen:] == [], watch.lines()
        sandbox.sh(f"bridge link set dev {veth} isolated off")
        converges(sandbox, folder, lambda: "isolated on" in out(sandbox, f"bridge -d link show dev {veth}"))


def test_after_adding_an_endpoint_hand_made_changes_in_the_namespaces_it_left_alone_are_still_seen(sandbox):
    """The add-one reconcile reads again only what changed: a hosts file edited by hand (no kernel
    event tells of it) and a namespace deleted by hand are still found and repaired, the resolver
    serving the namespace made again."""
    folder = base(sandbox)
    with watching(sandbox, folder) as watch:
        (folder / "c.yaml").write_text(text(endpoint("c", iface("front", "172.20.0.12"))))
        converges(sandbox, folder, lambda: "c" in netns_names(sandbox))
        hosts_b = out(sandbox, "cat /etc/netns/b/hosts")
        time.sleep(0.6)  # past the quiet time after an apply, when kernel events are taken as its own
        seen = len(watch.reconciles())
        sandbox.sh("echo '10.9.9.9 intruder' >> /etc/netns/b/hosts && ip netns del a")
        converges(sandbox, folder, lambda: "172.20.0.10/24" in out(sandbox, "ip -n a -4 -o addr show 2>/dev/null || true")
                  and out(sandbox, "cat /etc/netns/b/hosts") == hosts_b)
        assert "kernel event" in watch.reconciles()[seen], watch.lines()
        served = json.loads(out(sandbox, "cat /run/netreconcile/resolver/status.json"))["serving"]
        assert served["a"] == int(out(sandbox, "stat -L -c %i /run/netns/a"))
        assert sandbox.ping("a", "172.20.0.12")


def test_the_resync_runs_on_time_while_files_change_every_second(sandbox):
    """--resync is the longest time between two full reconciles, whatever else triggers reconciles."""
    folder = base(sandbox)
    with watching(sandbox, folder, "--resync", "2s") as watch:
        seen = len(watch.reconciles())
        sandbox.sh("nft delete table inet netreconcile")  # no rtnetlink event: only a resync repairs it
        start, restored, changes = time.monotonic(), None, 0
        while time.monotonic() - start < 7.0:
            (folder / "noise.yaml").write_text(f"# change {changes}\n")  # no documents: nothing to do
            changes += 1
            end = time.monotonic() + 1.0
            while time.monotonic() < end:
                if restored is None and sandbox.sh("nft list table inet netreconcile", check=False).returncode == 0:
                    restored = time.monotonic() - start
                time.sleep(0.1)
        lines = watch.reconciles()[seen:]
        resyncs = [line for line in lines if "after resync" in line]
        assert sum("file change" in line for line in lines) >= 5, lines
        assert len(resyncs) >= 3, lines  # at about 2, 4 and 6 s
        assert restored is not None and restored < 2.0 + 1.0, (restored, lines)


def metrics_page(sandbox: Sandbox) -> str:
    return sandbox.sh(f"{sys.executable} -c \"import urllib.request; "
                      f"print(urllib.request.urlopen('http://{METRICS}/metrics', timeout=2).read().decode())\"").stdout


def test_a_broken_file_leaves_the_last_good_manifests_enforced_repairing_drift_and_pruning_nothing(sandbox):
    folder = sandbox.workdir / "m"
    front, a, b = network("front", "172.20.0.0/24"), endpoint("a", iface("front", "172.20.0.10")), endpoint("b", iface("front", "172.20.0.11"))
    write(sandbox, front, a)
    write(sandbox, b, name="m/b.yaml")
    # What a one-off `apply` of other manifests adds meanwhile: not in the last good manifests, kept.
    more = write(sandbox, front, a, b, network("back", "172.21.0.0/24"), endpoint("x", iface("back", "172.21.0.10")),
                 name="more/all.yaml")
    with watching(sandbox, folder, "--log-format", "json", "--metrics-addr", METRICS) as watch:
        seen = len(watch.lines())
        replace_file(folder / "b.yaml", "kind: [\n")
        enforcing = json.loads(watch.wait_for("invalid source, enforcing revision", after=seen))
        assert enforcing["result"] == "invalid" and re.fullmatch(r"sha256:[0-9a-f]{12}", enforcing["enforcing"]), enforcing
        assert any("b.yaml:2:1: invalid YAML" in e for e in enforcing["errors"]), enforcing
        assert re.search(r"^netreconcile_source_valid 0\.0$", metrics_page(sandbox), re.MULTILINE)

        sandbox.apply(more)
        time.sleep(0.6)  # the watch hears the apply's kernel events and reconciles: nothing may go
        veth = host_veths(sandbox)[0]
        sandbox.sh(f"ip link del {veth}")
        repaired = converges(sandbox, more, lambda: veth in host_veths(sandbox) and "x" in netns_names(sandbox))
        assert sandbox.ping("a", "172.20.0.11")
        # the repair's trigger is the kernel event, or the resync when the event fell in the window the
        # watch ignores after its own apply (a loaded machine): either way it enforced the last good state
        repair = json.loads(watch.wait_for(r'"enforced": ?"applied"', after=seen))
        assert (repair["result"], repair["enforced"], repair["enforcing"]) == ("invalid", "applied", enforcing["enforcing"]), repair
        assert "invalid source, enforcing revision" in repair["message"]

        status = sandbox.nr("status", str(folder), "-o", "json", check=False)
        assert status.returncode == 1
        last = json.loads(status.stdout)["lastReconcile"]
        assert (last["result"], last["sourceValid"], last["enforcing"]) == ("invalid", False, enforcing["enforcing"]), last
        assert f"source: invalid, enforcing revision {enforcing['enforcing']}" in sandbox.nr("status", str(folder), check=False).stderr

        seen = len(watch.lines())
        write(sandbox, b, name="m/b.yaml")  # mended: the source is enforced again, whole
        converges(sandbox, folder, lambda: netns_names(sandbox) == ["a", "b"])
        assert re.search(r"^netreconcile_source_valid 1\.0$", metrics_page(sandbox), re.MULTILINE)
    print(f"veth deleted with a broken file present -> repaired: {repaired:.2f} s")


def drifted_kinds(sandbox: Sandbox, path: Path) -> Counter:
    """The objects `plan` would set right, by kind: what a reconcile now repairs."""
    changes = json.loads(sandbox.nr("plan", str(path), "-o", "json").stdout)["changes"]
    return Counter(c["kind"] for c in changes)


@contextmanager
def frozen(watch: Watch) -> Iterator[None]:
    """The watch stopped (SIGSTOP): what happens meanwhile, it hears of when it goes on."""
    watch.signal(signal.SIGSTOP)
    try:
        yield
    finally:
        watch.signal(signal.SIGCONT)


def test_the_drift_counter_counts_each_repaired_object_by_kind_whatever_the_trigger(sandbox):
    folder = base(sandbox)
    expected: Counter = Counter()
    with watching(sandbox, folder, "--log-format", "json", "--metrics-addr", METRICS, "--resync", "300s") as watch:
        def drift(command: str, then: Callable[[], None] = lambda: None, trigger: str = "kernel") -> None:
            time.sleep(0.6)  # past the quiet time after an apply, when kernel events are taken as its own
            seen = len(watch.reconciles())
            with frozen(watch):
                sandbox.sh(command)
                found = drifted_kinds(sandbox, folder)
                assert found, f"{command}: the premise is drift"
                expected.update(found)
                then()
            converges(sandbox, folder, lambda: True)
            assert json.loads(watch.reconciles()[seen])["trigger"] == trigger, watch.reconciles()[seen:]

        drift(f"ip link del {host_veths(sandbox)[0]}")
        drift("ip -n a addr flush dev eth0")
        drift("ip netns del b")
        drift("sysctl -qw net.ipv4.ip_forward=0", then=lambda: watch.signal(signal.SIGHUP), trigger="sighup")
        c = folder / "c.yaml"  # nftables sends no event: the next reconcile, for a file change, repairs it
        drift("nft delete table inet netreconcile", then=lambda: c.write_text(text(endpoint("c", iface("front", "172.20.0.12")))),
              trigger="file")
        time.sleep(0.6)
        replace_file(c, text(endpoint("c", iface("front", "172.20.0.13"))))  # a change, not drift
        converges(sandbox, folder, lambda: ipv4_of(sandbox, "c") == ["172.20.0.13/24"])

        page = metrics_page(sandbox)
    counted = {m[1]: int(float(m[2])) for m in re.finditer(r'^netreconcile_drift_repairs_total\{kind="(\w+)"\} (\S+)$', page, re.MULTILINE)}
    assert {k: n for k, n in counted.items() if n} == dict(expected), page
    logged: Counter = Counter()
    for line in watch.reconciles():
        logged.update(json.loads(line).get("repairs", {}))
    assert logged == expected
    assert {"veth", "address", "route", "netns", "sysctl", "nft"} <= set(expected), expected


def test_in_a_git_checkout_the_revision_enforced_is_the_commit_last_applied(sandbox):
    folder = base(sandbox)
    git = f"git -C {folder} -c user.name=t -c user.email=t@example.com"
    sandbox.sh(f"git init -q {folder} && {git} add . && {git} commit -qm good")
    good = out(sandbox, f"{git} rev-parse HEAD").strip()
    with watching(sandbox, folder) as watch:
        seen = len(watch.lines())
        replace_file(folder / "net.yaml", "kind: [\n")
        sandbox.sh(f"{git} commit -qam broken")  # the checkout moves on; what stays enforced does not
        line = watch.wait_for("invalid source", after=seen)
        assert f"invalid source, enforcing revision {good}: no changes" in line, line


def test_a_step_the_watch_skipped_is_found_by_its_verification_and_rolled_back(sandbox):
    """NETRECONCILE_TEST_SKIP_STEP=k reports step k done without running it: the watch adding an
    endpoint verifies only where it wrote (that namespace, and the host),
    and still finds what it lacks, in the new namespace (its default route, its hosts file) or on the
    host (the resolver not told of it, a step the watch waits for only after the kernel is read back)."""
    folder = base(sandbox)
    converge(sandbox, folder)
    added = text(endpoint("c", iface("front", "172.20.0.12")))
    grown = sandbox.write("m2/net.yaml", (folder / "net.yaml").read_text())
    sandbox.write("m2/c.yaml", added)
    steps = [line.strip() for line in sandbox.nr("plan", str(grown.parent)).stdout.splitlines() if re.match(r"  [-+~] ", line)]
    for target in ("+ route 0.0.0.0/0", "~ resolver dns", "+ hosts /etc/netns/c/hosts"):
        k = next(i for i, step in enumerate(steps, 1) if step.startswith(target))
        with watching(sandbox, folder, env={"NETRECONCILE_TEST_SKIP_STEP": str(k)}) as watch:
            seen = len(watch.lines())
            (folder / "c.yaml").write_text(added)
            watch.wait_for("Rolled back", timeout=10, after=seen)
            logged = watch.lines()[seen:]
            found = next(n for n, line in enumerate(logged) if "still differs from the manifests after apply:" in line)
            assert logged[found + 1].strip() == steps[k - 1], logged
            (folder / "c.yaml").unlink()
        converge(sandbox, folder)
