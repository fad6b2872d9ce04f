"""The resolver's Python started early by apply (reconciler/appliers/process.py `early`): it loads its
modules while the steps before its own run, does nothing until told to go on, and one never told
(the apply failed, or was killed, before the resolver's step) leaves nothing behind."""

from __future__ import annotations

import json
import re
import shlex
import sys
import time

import pytest
from builders import endpoint, iface, network, out, write
from sandbox import Sandbox
from test_dns import _resolvers

from reconciler.model.dns import DnsAsker, DnsState

pytestmark = pytest.mark.kernel

RUN = "/run/netreconcile/resolver"


def docs() -> list[dict]:
    return [network("front", "172.20.0.0/24"), endpoint("web1", iface("front", "172.20.0.11")),
            endpoint("web2", iface("front", "172.20.0.12"))]


def resolver_step(sandbox: Sandbox, path) -> int:
    """The number of the resolver's step in the plan from nothing (steps are numbered from 1)."""
    text = sandbox.nr("plan", str(path)).stdout
    steps = [line.strip() for line in text.splitlines() if re.match(r"  (-/\+|[-+~]) ", line)]
    found = [n for n, line in enumerate(steps, 1) if line.startswith("+ resolver ")]
    assert len(found) == 1, steps
    return found[0]


def resolver(sandbox: Sandbox, stdin: str) -> tuple[int, str]:
    command = (f"printf {shlex.quote(stdin)} | {shlex.quote(sys.executable)} -m reconciler.resolver --daemon "
               "--when-told")
    done = sandbox.sh(command, check=False, timeout=60)
    return done.returncode, done.stderr


def test_a_resolver_never_told_to_go_on_does_nothing_and_one_told_starts(sandbox):
    sandbox.sh("ip netns add a && ip -n a link set lo up")
    state = sandbox.write("state.json", DnsState(networks={}, askers={"a": DnsAsker(networks=())}).to_json())
    sandbox.sh(f"mkdir -p -m 700 {RUN} && cp {state} {RUN}/state.json")
    assert resolver(sandbox, "") == (0, "")  # the end of its input: it exits, nothing opened, nothing written
    assert out(sandbox, f"ls -A {RUN}").split() == ["state.json"] and _resolvers(sandbox) == []
    code, err = resolver(sandbox, "go\n")
    assert code == 0, err
    status = json.loads(out(sandbox, f"cat {RUN}/status.json"))
    assert list(status["serving"]) == ["a"] and _resolvers(sandbox) == [status["pid"]]


@pytest.mark.parametrize("hook", ["NETRECONCILE_TEST_FAIL_AT_STEP", "NETRECONCILE_TEST_KILL_AFTER_STEP"])
def test_an_apply_ended_before_the_resolvers_step_leaves_no_resolver_behind(sandbox, hook):
    path = write(sandbox, *docs())
    before = resolver_step(sandbox, path)
    assert before > 2
    done = sandbox.sh(f"{hook}={before - 1} {shlex.quote(sys.executable)} -m reconciler apply {path}", check=False)
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
    deadline = time.monotonic() + 5  # killed: the early Python reads the end of its input once its modules are loaded
    while _resolvers(sandbox) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _resolvers(sandbox) == []
    assert "status.json" not in out(sandbox, f"ls -A {RUN} 2>/dev/null || true").split()
    applied = sandbox.nr("apply", str(path)).stdout  # and the next apply starts it as ever
    assert "+ resolver " in applied and len(_resolvers(sandbox)) == 1
