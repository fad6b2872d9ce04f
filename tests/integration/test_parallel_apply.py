"""Endpoints of a long plan made by two processes (reconciler/applying/parallel.py), on the real kernel:
every other endpoint is made by a forked worker, the endpoints of both reach one another, a step
failing in either process rolls the whole apply back to exactly the state before, and a destroy
stays in one process."""

from __future__ import annotations

import re
import sys

from builders import converge, endpoint, iface, network, write
from test_safety import state

SPLIT = "NETRECONCILE_TEST_PARALLEL_FROM=2"  # split from 2 endpoint blocks (64 without it)

LOGGED = """
import os, sys
from reconciler.kernel import netns
def logged(call):
    def run(name, *args, **kwargs):
        with open(sys.argv[1], "a") as log:
            log.write(f"{os.getpid()} {call.__name__} {name}\\n")
        call(name, *args, **kwargs)
    return run
netns.create, netns.remove = logged(netns.create), logged(netns.remove)
from reconciler.cli.main import main
sys.exit(main(sys.argv[2:]))
"""


def one_network(endpoints: int, first: int = 0) -> list[dict]:
    return [network("a", "172.20.0.0/24"),
            *(endpoint(f"e{i}", iface("a", f"172.20.0.{10 + i}")) for i in range(first, endpoints))]


THREAD = """
import threading, time
threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()
"""


NO_FORK = """
import errno, os
def no_fork():
    raise OSError(errno.EAGAIN, "Resource temporarily unavailable")
os.fork = no_fork
"""


def by_process(sandbox, command: str, path, threaded: bool = False, prelude: str = "") -> list[list[str]]:
    """Run `netreconcile COMMAND PATH` split from 2 blocks (with another thread running in it, as in the
    watch, if `threaded`; after `prelude`): the namespaces each process made or removed."""
    prelude += THREAD if threaded else ""
    script, log = sandbox.write("logged.py", prelude + LOGGED), sandbox.workdir / f"{command}.log"
    sandbox.sh(f"{SPLIT} {sys.executable} {script} {log} {command} {path}")
    found: dict[str, list[str]] = {}
    for line in log.read_text().splitlines():
        pid, _, name = line.split()
        found.setdefault(pid, []).append(name)
    return sorted(sorted(names) for names in found.values())


def test_a_process_running_other_threads_makes_every_endpoint_itself(sandbox):
    path = write(sandbox, *one_network(6))  # a fork would copy none of the threads, nor know their locks
    assert by_process(sandbox, "apply", path, threaded=True) == [["e0", "e1", "e2", "e3", "e4", "e5"]]
    assert sandbox.plan_exitcode(path) == 0


def test_where_no_worker_can_be_forked_this_process_makes_every_endpoint_itself(sandbox):
    path = write(sandbox, *one_network(6))
    assert by_process(sandbox, "apply", path, prelude=NO_FORK) == [["e0", "e1", "e2", "e3", "e4", "e5"]]
    assert sandbox.plan_exitcode(path) == 0


def test_every_other_endpoint_is_made_by_a_worker_process_and_they_reach_one_another(sandbox):
    path = write(sandbox, *one_network(6))
    assert by_process(sandbox, "apply", path) == [["e0", "e2", "e4"], ["e1", "e3", "e5"]]
    assert sandbox.plan_exitcode(path) == 0
    for i in range(6):
        assert sandbox.ping(f"e{i}", f"172.20.0.{10 + (i + 1) % 6}", within=3), f"e{i} cannot reach its next"


def test_a_destroy_removes_the_endpoints_in_one_process_and_leaves_nothing(sandbox):
    """Two processes unmounting at once wait on each other: a destroy's run of endpoints is not split."""
    path = write(sandbox, *one_network(6))
    converge(sandbox, path)
    assert by_process(sandbox, "destroy", path) == [["e0", "e1", "e2", "e3", "e4", "e5"]]
    assert sandbox.sh("ip netns list; ls /etc/netns; ip -o link show type veth").stdout == ""


def test_a_step_failing_in_the_worker_or_the_parent_rolls_back_exactly(sandbox):
    base = write(sandbox, *one_network(2))
    converge(sandbox, base)
    before = state(sandbox)
    grown = write(sandbox, *one_network(8), name="m2/net.yaml")
    steps = [line.strip() for line in sandbox.nr("plan", str(grown)).stdout.splitlines() if re.match(r"  [-+~] ", line)]
    created = [i for i, step in enumerate(steps, 1) if step.startswith("+ netns ")]
    assert len(created) == 6
    # The first namespace's block is the parent's, the second the worker's; a step inside each.
    for k in (created[1] + 2, created[2] + 1):
        result = sandbox.sh(f"{SPLIT} NETRECONCILE_TEST_FAIL_AT_STEP={k} {sys.executable} -m reconciler apply {grown}",
                            check=False)
        assert result.returncode == 1, result.stdout
        assert f"{steps[k - 1].split(' (')[0]}: injected failure at step {k}" in result.stderr, result.stderr
        assert "Rolled back" in result.stderr and "Traceback" not in result.stderr, result.stderr
        assert state(sandbox) == before, f"state differs after a failure at step {k}: {steps[k - 1]}"
    result = sandbox.sh(f"{SPLIT} {sys.executable} -m reconciler apply {grown}")
    assert sandbox.plan_exitcode(grown) == 0, result.stdout
