"""Sysctls are written through a private procfs instance (reconciler/kernel/procfs.py), never through
the host's /proc: each namespace looked up through /proc leaves a dentry in one hash chain that every
later namespace's first lookup walks (a quadratic apply, and a slower host for every other tool)."""

from __future__ import annotations

import json
import sys

from builders import endpoint, network, text

# Runs netreconcile in-process inside the sandbox and records every path the process opens.
RECORDED_APPLY = """
import json, sys
opened = []
sys.addaudithook(lambda event, args: opened.append(str(args[0])) if event == "open" else None)
from reconciler.cli import main
code = main(["apply", sys.argv[1]])
json.dump({"code": code, "opened": opened}, open(sys.argv[2], "w"))
"""

# Writes a sysctl in each of N namespaces through one kernel session, counting procfs instances.
SESSION_WRITES = """
import json, os, sys
from reconciler.kernel import netns, procfs
from reconciler.kernel.session import Kernel
made = []
real = procfs.open_instance
def counted():
    if sys.argv[2] == "refused":
        raise PermissionError(1, "Operation not permitted")
    made.append(real())
    return made[-1]
procfs.open_instance = counted
before = set(os.listdir("/proc/self/fd"))
with Kernel() as kernel:
    for i in range(int(sys.argv[1])):
        kernel.write_sysctl(f"s{i}", "net.ipv4.conf.lo.forwarding", "1")
        assert kernel.read_sysctl(f"s{i}", "net.ipv4.conf.lo.forwarding") == "1"
left = set(os.listdir("/proc/self/fd")) - before - {str(netns.kept_home())}  # the home kept for good (netns.py)
print(json.dumps({"instances": len(made), "fds_left": len(left)}))
"""


def test_apply_writes_endpoint_sysctls_without_proc(sandbox, tmp_path):
    docs = [network("n1", "10.61.0.0/24"), *(endpoint(f"e{i}", "n1") for i in range(3))]
    manifests = sandbox.write("m/net.yaml", text(*docs))
    record = tmp_path / "opened.json"
    sandbox.sh(f"{sys.executable} -c '{RECORDED_APPLY}' {manifests} {record}")
    result = json.loads(record.read_text())
    assert result["code"] == 0
    # the host namespace's own settings (its bridges', fs.nr_open) may be read through /proc: one namespace,
    # one dentry; no endpoint namespace's network sysctl may
    assert [p for p in result["opened"] if p.startswith("/proc/sys/net/") and "/br-" not in p] == []
    assert "sys/net/ipv6/conf/eth0/disable_ipv6" in result["opened"]
    for i in range(3):  # what the kernel holds, read the usual way from inside the endpoint
        assert sandbox.sh(f"ip netns exec e{i} cat /proc/sys/net/ipv6/conf/eth0/disable_ipv6").stdout.strip() == "1"


def _session_writes(sandbox, count: int, mode: str) -> dict:
    sandbox.sh("ip -batch - <<EOF\n" + "".join(f"netns add s{i}\n" for i in range(count)) + "EOF")
    out = sandbox.sh(f"{sys.executable} -c '{SESSION_WRITES}' {count} {mode}").stdout
    for i in range(count):
        assert sandbox.sh(f"ip netns exec s{i} cat /proc/sys/net/ipv4/conf/lo/forwarding").stdout.strip() == "1"
    return json.loads(out)


def test_an_instance_serves_at_most_64_namespaces_and_is_closed(sandbox):
    assert _session_writes(sandbox, 130, "counted") == {"instances": 3, "fds_left": 0}


def test_without_the_right_to_make_an_instance_proc_is_used(sandbox):
    assert _session_writes(sandbox, 5, "refused") == {"instances": 0, "fds_left": 0}
