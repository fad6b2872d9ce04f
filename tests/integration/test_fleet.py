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
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from builders import text
from sandbox import REPO, Sandbox
from test_overlay import HOSTS, overlay, placed
from unit.test_cli_output import assert_shape

ETCD_ADDRESS = "10.10.0.2"      # on the underlay bridge ul0: every host reaches it over its eth1
URL = f"etcd://{ETCD_ADDRESS}:2379/fleet/"
CONVERGE = 30.0                 # seconds for three watches to converge after a push
METRICS = "127.0.0.1:9464"      # each host's own loopback

pytestmark = pytest.mark.skipif(shutil.which("etcd") is None, reason="needs etcd (Debian etcd-server)")


class Etcd:
    """One etcd member in the `underlay` namespace; its data in the test's tmp dir, so it can be stopped and
    started again with what it held."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox, self.data = sandbox, sandbox.workdir / "etcd"
        self.log = sandbox.workdir / "etcd.log"
        self.process: subprocess.Popen[bytes] | None = None
        # A fixed MAC: a bridge takes its ports' lowest, and a host killed (its port gone) would change it
        # under the others' ARP caches.
        sandbox.sh(f"ip -n underlay link set ul0 address 02:00:0a:0a:00:02 && ip -n underlay addr add {ETCD_ADDRESS}/24 dev ul0")

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

    def kvs(self) -> dict[str, str]:
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
                "watch", URL, "--host", name, "--resync", "0", "--metrics-addr", METRICS, *args]
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                            env={**os.environ, "PYTHONPATH": str(REPO), "PYTHONFAULTHANDLER": "1"})

    def lines(self) -> list[str]:
        return self.log.read_text().splitlines()

    def wait_for(self, pattern: str, timeout: float = 15.0, after: int = 0) -> str:
        """The first line from line `after` on that matches `pattern`, waiting for it."""
        def matching() -> list[str]:
            return [x for x in self.lines()[after:] if re.search(pattern, x)]

        until(lambda: bool(matching()) or self.dead(), timeout, f"no line matches {pattern!r}:\n{self.log.read_text()}")
        assert not self.dead(), self.log.read_text()
        return matching()[0]

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
    out = json.loads(cluster["node-a"].nr("status", "--fleet", URL, "-o", "json").stdout)
    assert_shape("fleet", out)
    return {h["host"]: h for h in out["hosts"]}


def all_converged(cluster, revision: int, timeout: float = CONVERGE) -> float:
    """Seconds until `status --fleet` shows every host converged on `revision` or later."""
    start = time.monotonic()
    until(lambda: all(h["state"] == "converged" and h["revision"] >= revision for h in fleet_status(cluster).values()),
          timeout, f"not all converged on {revision}: {fleet_status(cluster)}")
    return time.monotonic() - start


def metric(host: Sandbox, name: str) -> float:
    """One value of the host's watch metrics."""
    text = host.sh(f"python3 -c \"import urllib.request; "
                   f"print(urllib.request.urlopen('http://{METRICS}/metrics', timeout=2).read().decode())\"").stdout
    (value,) = [line.split()[-1] for line in text.splitlines() if line.startswith(name + " ")]
    return float(value)


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


def test_a_push_with_an_invalid_file_is_refused_and_changes_no_key_and_dry_run_writes_nothing(cluster, etcd):
    push(cluster, folder(cluster, "v1", *V1))
    before, revision = etcd.kvs(), etcd.revision()
    bad = folder(cluster, "bad", *V2)
    (bad / "endpoint-api1.yaml").write_text(text(placed("api1", "node-c", "appnet", "10.99.0.10")))
    refused = push(cluster, bad, check=False)
    assert refused.returncode == 1
    assert re.search(r"bad/endpoint-api1\.yaml:\d+:\d+: Endpoint/api1: .*outside the subnets", refused.stderr), refused.stderr
    assert (etcd.kvs(), etcd.revision()) == (before, revision)

    dry = push(cluster, folder(cluster, "v2", *V2), "--dry-run")
    assert f"+ {URL}network-backnet.yaml" in dry.stdout and f"~ {URL}endpoint-api1.yaml" in dry.stdout
    assert "Dry run: 2 to add, 1 to change, 0 to delete" in dry.stdout
    assert (etcd.kvs(), etcd.revision()) == (before, revision)

    removed = folder(cluster, "v0", V1[0])
    assert "0 added, 0 changed, 3 deleted" in push(cluster, removed).stdout
    assert sorted(k for k in etcd.kvs() if not k.startswith("/fleet/.")) == ["/fleet/hosts.yaml", "/fleet/network-appnet.yaml"]


# Two pushes that both read the prefix before either writes: the first transaction holds, the second's
# comparison fails and it writes nothing.
INTERLEAVED = """
import sys
from reconciler.fleet import push
from reconciler.input import etcd
url = etcd.EtcdURL.parse(sys.argv[1])
client = etcd.Client(url)
first, second = push.plan(sys.argv[2], url, client), push.plan(sys.argv[3], url, client)
print("first", push.push(*first, url, client))
try:
    push.push(*second, url, client)
except push.PushConflict as err:
    print("second refused:", err)
"""


def test_two_concurrent_pushes_one_wins_and_the_other_fails_cleanly(cluster, etcd):
    push(cluster, folder(cluster, "v0", *V1[:2]))
    v1, v2 = folder(cluster, "v1", *V1), folder(cluster, "v2", *V2)
    script = cluster.sandbox.write("interleaved.py", INTERLEAVED)
    out = cluster["node-a"].sh(f"cd {REPO} && python3 {script} {URL} {v1} {v2}").stdout
    assert re.search(r"first \d+\nsecond refused: another push wrote .* nothing written; push again", out), out
    assert {k for k in etcd.kvs() if k.startswith("/fleet/endpoint-")} == {
        f"/fleet/endpoint-{n}.yaml" for n in ("api1", "api2", "db1")}      # v1's, nothing of v2

    # Through the command line, at once from two hosts, ten times: each ends in success or a clean refusal,
    # and the prefix always holds one push's files, never a mix.
    for _ in range(10):
        procs = [subprocess.Popen(["nsenter", "-t", str(cluster[h].pid), "--net", "--mount", sys.executable, "-m",
                                   "reconciler", "push", str(path), URL], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO), "PYTHONFAULTHANDLER": "1"})
                 for h, path in (("node-a", v1), ("node-b", v2))]
        results = [(p.wait(timeout=30), p.stdout.read(), p.stderr.read()) for p in procs]
        for code, stdout, stderr in results:
            assert (code == 0 and "Pushed" in stdout or "Nothing to push" in stdout) or (
                code == 1 and "error: another push wrote" in stderr and "Traceback" not in stderr), (code, stdout, stderr)
        names = {k for k in etcd.kvs() if k.startswith("/fleet/") and not k.startswith("/fleet/.")}
        assert names in ({f"/fleet/{p.name}" for p in v1.iterdir()}, {f"/fleet/{p.name}" for p in v2.iterdir()})


def test_etcd_stopped_hosts_keep_their_state_then_resume_from_their_revision(cluster, etcd, watches):
    v1 = pushed_revision(push(cluster, folder(cluster, "v1", *V1)))
    all_converged(cluster, v1)
    before, last = {n: netns(cluster, n) for n in watches}, etcd.revision()
    etcd.stop()
    for name, w in watches.items():
        w.wait_for(r"reconcile after etcd change \(etcd unreachable\): invalid source, enforcing revision etcd:\d+")
        w.wait_for(r"retrying in \d+ s from revision")
        status = cluster[name].nr("status", URL, "--host", name, check=False)
        assert status.returncode == 1 and "cannot read: etcd unreachable" in status.stderr, status.stderr
        assert "source: invalid, enforcing revision etcd:" in status.stderr, status.stderr
    refused = cluster["node-a"].nr("apply", URL, "--host", "node-a", check=False)
    assert refused.returncode == 1 and f"{URL}: cannot read: etcd unreachable" in refused.stderr, refused.stderr
    assert metric(cluster["node-a"], "netreconcile_etcd_connected") == 0
    assert metric(cluster["node-a"], "netreconcile_etcd_disconnects_total") >= 1
    time.sleep(5)   # retries, backoff growing: still nothing pruned
    assert {n: netns(cluster, n) for n in watches} == before
    assert cluster["node-b"].ping("api2", "10.200.0.10", within=3)

    seen = {name: len(w.lines()) for name, w in watches.items()}
    etcd.start()
    resumed = [re.search(r"from revision (\d+)", w.wait_for("etcd watch of", after=seen[n])) for n, w in watches.items()]
    assert all(r and v1 < int(r[1]) <= last + 1 for r in resumed), resumed   # from where each was, not from scratch
    assert metric(cluster["node-a"], "netreconcile_etcd_connected") == 1
    all_converged(cluster, v1)
    v2 = pushed_revision(push(cluster, folder(cluster, "v2", *V2)))
    all_converged(cluster, v2)
    assert netns(cluster, "node-c") == {"api1", "db1"}


BLOCK = ("nft add table inet block && nft add chain inet block out '{ type filter hook output priority 0; }' && "
         f"nft add rule inet block out ip daddr {ETCD_ADDRESS} tcp dport 2379 reject with tcp reset")


def test_a_host_whose_revision_was_compacted_does_a_full_resync(cluster, etcd, watches):
    v1 = pushed_revision(push(cluster, folder(cluster, "v1", *V1)))
    all_converged(cluster, v1)
    cluster["node-c"].sh(BLOCK)
    etcd.stop()     # every watch stream ends; node-c cannot come back
    etcd.start()
    v2 = pushed_revision(push(cluster, folder(cluster, "v2", *V2)))
    push(cluster, folder(cluster, "v3", *V2, placed("extra", "node-c", "backnet", "10.201.0.99")))
    etcd.ctl("compact", str(etcd.revision()))
    assert netns(cluster, "node-c") == {"db1"}
    cluster["node-c"].sh("nft delete table inet block")
    watches["node-c"].wait_for(r"etcd compacted past revision \d+ \(to \d+\): full resync", timeout=20)
    watches["node-c"].wait_for(r"reconcile after resync \(etcd compacted")
    all_converged(cluster, v2 + 1)
    assert netns(cluster, "node-c") == {"api1", "db1", "extra"}


def test_an_empty_prefix_prunes_nothing_without_allow_empty(cluster, etcd, watches):
    v1 = pushed_revision(push(cluster, folder(cluster, "v1", *V1)))
    all_converged(cluster, v1)
    empty = cluster.sandbox.workdir / "empty"
    empty.mkdir()
    assert "3 deleted" not in push(cluster, empty).stdout
    assert not [k for k in etcd.kvs() if k.startswith("/fleet/") and not k.startswith("/fleet/.")]
    for w in watches.values():
        w.wait_for(r"refused by a guard; nothing changed")
    assert (netns(cluster, "node-a"), netns(cluster, "node-b"), netns(cluster, "node-c")) == ({"api1"}, {"api2"}, {"db1"})
    assert fleet_status_refused(cluster)
    refused = cluster["node-a"].nr("apply", URL, "--host", "node-a", check=False)
    assert refused.returncode == 1 and "--allow-empty" in refused.stderr
    watches["node-a"].stop()
    cluster["node-a"].nr("apply", URL, "--host", "node-a", "--allow-empty")
    assert netns(cluster, "node-a") == set()


def fleet_status_refused(cluster) -> bool:
    """`status --fleet` of an empty prefix: no Host declared, so no line; it says so."""
    out = cluster["node-b"].nr("status", "--fleet", URL).stdout
    return "0 of 0 host(s)" in out


def test_a_host_killed_goes_silent_when_its_status_key_expires(cluster, etcd, watches):
    v1 = pushed_revision(push(cluster, folder(cluster, "v1", *V1)))
    all_converged(cluster, v1)
    watches["node-b"].process.kill()
    cluster["node-b"].close()
    start = time.monotonic()
    until(lambda: fleet_status(cluster)["node-b"]["state"] == "silent", 20, f"not silent: {fleet_status(cluster)}")
    assert time.monotonic() - start > 2   # the lease outlived the host for a while: it expired, nobody deleted it
    status = cluster["node-a"].nr("status", "--fleet", URL).stdout
    assert "node-b: silent" in status and "node-a: converged" in status and "2 of 3 host(s) converged" in status


CERTS = """
set -e
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test-ca -keyout ca.key -out ca.pem 2>/dev/null
# The client's certificate names no CommonName: etcd refuses one through its JSON gateway when auth is
# enabled (it would take the CN for the user, which the gateway cannot pass on), and the user is given.
for who in server client; do
  subject=$([ $who = server ] && echo /CN=server || echo /O=netreconcile)
  openssl req -newkey rsa:2048 -nodes -subj $subject -keyout $who.key -out $who.csr 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth,clientAuth\\n' > $who.ext
  openssl x509 -req -in $who.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile $who.ext -out $who.pem 2>/dev/null
done
"""


def test_tls_with_client_certificates_and_user_password_from_flags_or_etcdctl_s_variables(sandbox):
    """etcd on the sandbox's 127.0.0.1 asking for a client certificate (from our CA) and, with auth
    enabled, a user and password."""
    certs = sandbox.workdir / "certs"
    certs.mkdir()
    subprocess.run(["sh", "-c", CERTS], cwd=certs, check=True)
    tls = [f"--trusted-ca-file={certs}/ca.pem", f"--cert-file={certs}/server.pem", f"--key-file={certs}/server.key"]
    argv = ["nsenter", "-t", str(sandbox.holder.pid), "--net", "--mount", "etcd", "--data-dir", str(sandbox.workdir / "etcd"),
            "--listen-client-urls", "https://127.0.0.1:2379", "--advertise-client-urls", "https://127.0.0.1:2379",
            "--listen-peer-urls", "http://127.0.0.1:2380", "--client-cert-auth", "--auth-token-ttl=1", *tls]
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ctl = (f"etcdctl --endpoints 127.0.0.1:2379 --cacert {certs}/ca.pem --cert {certs}/client.pem "
           f"--key {certs}/client.key")
    try:
        until(lambda: sandbox.sh(f"{ctl} endpoint health", check=False).returncode == 0, 20, "etcd did not start")
        sandbox.sh(f"{ctl} user add root --new-user-password s3cret && {ctl} auth enable")
        url = "etcd://127.0.0.1:2379/fleet/"
        flags = [f"--etcd-cacert={certs}/ca.pem", f"--etcd-cert={certs}/client.pem", f"--etcd-key={certs}/client.key"]
        manifests = sandbox.write("m/net.yaml", text(*HOSTS, *V1[:2]))

        pushed = sandbox.nr("push", str(manifests.parent), url, *flags, "--etcd-user", "root:s3cret")
        assert "Pushed: 1 added" in pushed.stdout
        env = (f"ETCDCTL_CACERT={certs}/ca.pem ETCDCTL_CERT={certs}/client.pem ETCDCTL_KEY={certs}/client.key "
               "ETCDCTL_USER=root:s3cret")
        run = f"cd {REPO} && {env} python3 -m reconciler"
        assert sandbox.sh(f"{run} validate {url}").stdout == "valid: 1 network(s), 1 endpoint(s)\n"

        wrong = sandbox.sh(f"{run} validate {url} --etcd-user root:wrong", check=False)
        assert wrong.returncode == 1 and "authentication failed" in wrong.stderr and "Traceback" not in wrong.stderr
        no_cert = sandbox.sh(f"cd {REPO} && ETCDCTL_CACERT={certs}/ca.pem python3 -m reconciler validate {url}", check=False)
        assert no_cert.returncode == 1 and f"{url}: cannot read: etcd unreachable" in no_cert.stderr, no_cert.stderr
        # A token lives a second here (--auth-token-ttl): a client that outlives it authenticates again.
        later = sandbox.sh(f"{run} -c 'import time; from reconciler.input import etcd; "
                           f"c = etcd.Client(etcd.EtcdURL.parse(\"{url}\")); c.range(\"/fleet/\"); time.sleep(3); "
                           "print(len(c.range(\"/fleet/\").kvs))'".replace("-m reconciler -c", "-c"))
        assert later.stdout == "2\n"   # net.yaml and the push marker
        plain = sandbox.nr("validate", url, check=False)   # http to an https server: refused, clearly
        assert plain.returncode == 1 and f"{url}: cannot read:" in plain.stderr
    finally:
        server.kill()
        server.wait()


BENCH_ENDPOINTS = int(os.environ.get("NETRECONCILE_FLEET_ENDPOINTS", "1000"))


def test_benchmark_push_of_1000_endpoints_over_three_hosts_all_converge(cluster, etcd, watches):
    """The benchmark of the issue: one push of 1000 endpoints (four overlay networks, in files of 100:
    the transaction stays under etcd's 128 operations) placed round-robin on three hosts; the time
    from the push to `status --fleet` showing every host converged is printed."""
    path = cluster.sandbox.workdir / "big"
    path.mkdir()
    (path / "hosts.yaml").write_text(text(*HOSTS))
    (path / "networks.yaml").write_text(text(*(overlay(f"net{n}", f"10.{210 + n}.0.0/23") for n in range(4))))
    names = ("node-a", "node-b", "node-c")
    endpoints = [placed(f"e{i}", names[i % 3], f"net{i % 4}", f"10.{210 + i % 4}.{(i // 4) // 200}.{(i // 4) % 200 + 10}")
                 for i in range(BENCH_ENDPOINTS)]
    for start in range(0, len(endpoints), 100):
        (path / f"endpoints-{start // 100:02d}.yaml").write_text(text(*endpoints[start:start + 100]))
    for w in watches.values():
        w.wait_for("etcd watch of")
    start = time.monotonic()
    revision = pushed_revision(push(cluster, path))
    all_converged(cluster, revision, timeout=300)
    took = time.monotonic() - start
    print(f"\npush of {BENCH_ENDPOINTS} endpoints over 3 hosts -> all converged: {took:.1f} s")
    counts = [len(netns(cluster, n)) for n in names]
    assert sum(counts) == BENCH_ENDPOINTS and max(counts) - min(counts) <= 1, counts
    assert cluster["node-a"].ping("e0", f"10.210.0.{10 + 1}", within=5)   # e4, on node-b, same network
