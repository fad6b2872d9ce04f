"""Safe apply: rollback on failure, confirm-or-revert, crash consistency, the lock, and the guards."""

from __future__ import annotations

import re
import time

from builders import converge, endpoint, network, out, write

STATE = ("ip -d link", "ip -d addr", "ip route", "ip -6 route", "ip netns list", "nft list ruleset",
         "for n in $(ip netns list | cut -d' ' -f1); do echo $n; ip -n $n -d link; ip -n $n addr; ip -n $n route; done")
# Recreated links get new ifindexes: compare everything but the numbers the kernel hands out.
NUMBERS = re.compile(r"^\d+: |@if\d+|link-netns(id)? \S+| \w+_timer +[0-9.]+|if\d+:|\(id: \d+\)", re.MULTILINE)


def state(sandbox) -> dict[str, str]:
    return {c: NUMBERS.sub("", out(sandbox, c)) for c in STATE}


def two_networks(endpoints: int = 6) -> list[dict]:
    docs = [network("a", "172.20.0.0/24"), network("b", "172.21.0.0/24")]
    return docs + [endpoint(f"e{i}", "ab"[i % 2]) for i in range(endpoints)]


def test_a_failing_step_rolls_back_to_exactly_the_prior_state(sandbox):
    base = write(sandbox, *two_networks(4))
    converge(sandbox, base)
    before = state(sandbox)
    # Prune e3, add two endpoints on a third network, move e0: deletes, creates and updates mixed.
    changed = [network("a", "172.20.0.0/24"), network("b", "172.21.0.0/24"), network("c", "172.22.0.0/24"),
               endpoint("e0", {"network": "a", "ipv4Address": "172.20.0.99"}), endpoint("e1", "b"),
               endpoint("e2", "a"), endpoint("f1", "c"), endpoint("f2", "c")]
    path = write(sandbox, *changed, name="m2/net.yaml")
    steps = int(re.search(r"Plan: (\d+) to create, (\d+) to update, (\d+) to replace, (\d+) to delete",
                          sandbox.nr("plan", str(path)).stdout).group(1))
    assert steps >= 5
    for k in (1, 3, steps + 2):
        result = sandbox.sh(f"NETRECONCILE_TEST_FAIL_AT_STEP={k} python3 -m reconciler apply --force {path}", check=False)
        assert result.returncode == 1, result.stdout
        assert "injected failure" in result.stderr and "Rolled back" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
        assert state(sandbox) == before, f"state differs after a failure at step {k}"
    assert sandbox.plan_exitcode(base) == 0
    assert "rolled back" in sandbox.nr("status", str(base)).stdout


def test_verification_finds_a_step_that_did_nothing_and_rolls_back(sandbox):
    """NETRECONCILE_TEST_SKIP_STEP=k reports step k done without running it: the kernel then lacks what
    the plan said it made. Apply's verification reads the kernel again where the apply wrote and finds
    it, whether in the namespace the apply creates (its default route, its hosts file) or on the host
    (the resolver not told of the new endpoint): the apply fails naming that object, and rolls back."""
    base = write(sandbox, network("a", "172.20.0.0/24"), endpoint("e0", "a"), endpoint("e1", "a"))
    grown = write(sandbox, network("a", "172.20.0.0/24"), *(endpoint(f"e{i}", "a") for i in range(3)), name="m2/net.yaml")
    skipped(sandbox, base, ["+ nft table"])
    converge(sandbox, base)
    skipped(sandbox, grown, ["+ route 0.0.0.0/0", "~ resolver dns", "+ hosts /etc/netns/e2/hosts"])
    converge(sandbox, grown)


def skipped(sandbox, path, targets: list[str]) -> None:
    """Apply `path` with each step named in `targets` skipped in turn: verification finds it, the apply
    fails and rolls back to exactly the state before."""
    before = state(sandbox)
    steps = [line.strip() for line in sandbox.nr("plan", str(path)).stdout.splitlines() if re.match(r"  [-+~] ", line)]
    for target in targets:
        k = next(i for i, step in enumerate(steps, 1) if step.startswith(target))
        result = sandbox.sh(f"NETRECONCILE_TEST_SKIP_STEP={k} python3 -m reconciler apply {path}", check=False)
        assert result.returncode == 1, result.stdout
        assert f"still differs from the manifests after apply:\n  {steps[k - 1]}" in result.stderr, result.stderr
        assert "Rolled back" in result.stderr and "Traceback" not in result.stderr
        assert state(sandbox) == before, f"state differs after skipping {steps[k - 1]}"


def test_no_rollback_keeps_the_partial_state(sandbox):
    path = write(sandbox, *two_networks(2))
    result = sandbox.sh(f"NETRECONCILE_TEST_FAIL_AT_STEP=4 python3 -m reconciler apply --no-rollback {path}", check=False)
    assert result.returncode == 1 and "partial state is kept" in result.stderr
    assert "br-a" in out(sandbox, "ip -o link")  # steps 1-3 stay: the host sysctl and both bridges
    converge(sandbox, path)


def test_confirm_timeout_reverts_without_confirm_and_keeps_with_it(sandbox):
    base = write(sandbox, network("a", "172.20.0.0/24"), endpoint("e0", "a"))
    converge(sandbox, base)
    before = state(sandbox)
    grown = write(sandbox, network("a", "172.20.0.0/24"), endpoint("e0", "a"), endpoint("e1", "a"), name="m2/n.yaml")
    # 4 s: long enough for the plan below to run inside the window on a loaded machine
    assert "netreconcile confirm" in sandbox.nr("apply", str(grown), "--confirm-timeout", "4").stdout
    assert sandbox.plan_exitcode(grown) == 0, "the change is in place while it waits"
    _wait_for(lambda: state(sandbox) == before, 12, "the change was not reverted")
    assert "reverted" in sandbox.nr("status", str(base)).stdout

    sandbox.nr("apply", str(grown), "--confirm-timeout", "5")
    assert "Confirmed" in sandbox.nr("confirm").stdout
    time.sleep(0.3)
    assert sandbox.plan_exitcode(grown) == 0
    assert sandbox.nr("confirm", check=False).returncode == 1, "a second confirm has nothing to confirm"


def test_kill_at_every_step_boundary_then_apply_converges_and_nothing_leaks(sandbox):
    path = write(sandbox, *two_networks(7))
    converge(sandbox, path)
    converged = state(sandbox)
    sandbox.nr("destroy", str(path))
    empty = state(sandbox)  # ip_forward stays on: the one host setting we never reset
    plan = sandbox.nr("plan", str(path)).stdout
    steps = sum(int(n) for n in re.search(r"Plan: (\d+) to create, (\d+) to update", plan).groups())
    assert steps >= 30, plan
    for k in range(1, steps + 1):
        killed = sandbox.sh(f"NETRECONCILE_TEST_KILL_AFTER_STEP={k} python3 -m reconciler apply {path}", check=False)
        assert killed.returncode == -9 or killed.returncode == 137, (k, killed.returncode, killed.stderr)
        converge(sandbox, path)
        assert state(sandbox) == converged, f"after a kill at step {k}, apply converged to a different state"
        sandbox.nr("destroy", str(path))
        assert state(sandbox) == empty, f"after a kill at step {k}, destroy left something behind"


def test_a_second_apply_waits_for_the_lock_or_fails_at_once_with_no_wait(sandbox):
    path = write(sandbox, network("a", "172.20.0.0/24"), endpoint("e0", "a"))
    sandbox.nr("apply", str(path), "--confirm-timeout", "2")  # its watcher holds the lock for 2 s
    refused = sandbox.nr("apply", str(path), "--no-wait", check=False)
    assert refused.returncode == 1 and "not waiting (--no-wait)" in refused.stderr
    started = time.monotonic()
    waited = sandbox.nr("apply", str(path))
    assert "waiting for" in waited.stderr and time.monotonic() - started > 1
    assert sandbox.plan_exitcode(path) == 0


def test_empty_manifests_prune_nothing_without_allow_empty(sandbox):
    path = write(sandbox, network("a", "172.20.0.0/24"), endpoint("e0", "a"))
    converge(sandbox, path)
    before = state(sandbox)
    empty = sandbox.workdir / "empty"
    empty.mkdir()
    refused = sandbox.nr("apply", str(empty), check=False)
    assert refused.returncode == 1 and "--allow-empty" in refused.stderr
    assert state(sandbox) == before
    sandbox.nr("apply", str(empty), "--allow-empty")
    assert "br-a" not in out(sandbox, "ip -o link") and out(sandbox, "ip netns list") == ""


def test_deleting_more_than_max_delete_needs_force(sandbox):
    path = write(sandbox, *two_networks(4))
    converge(sandbox, path)
    before = state(sandbox)
    shrunk = write(sandbox, network("a", "172.20.0.0/24"), endpoint("e0", "a"), name="m2/n.yaml")
    refused = sandbox.nr("apply", str(shrunk), check=False)
    assert refused.returncode == 1 and "--max-delete" in refused.stderr and "--force" in refused.stderr
    assert state(sandbox) == before
    sandbox.nr("apply", str(shrunk), "--max-delete", "90%")
    assert sandbox.plan_exitcode(shrunk) == 0


def test_status_shows_the_last_reconcile_and_the_git_revision(sandbox):
    path = write(sandbox, network("a", "172.20.0.0/24"), endpoint("e0", "a"))
    sandbox.sh(f"cd {path.parent} && git init -q && git add . && git -c user.name=t -c user.email=t@t commit -qm m")
    head = sandbox.sh(f"git -C {path.parent} rev-parse HEAD").stdout.strip()
    converge(sandbox, path.parent)
    text = sandbox.nr("status", str(path.parent)).stdout
    assert re.search(r"last reconcile: success at \S+ \(apply, \d+ step", text), text
    assert f"manifests revision: {head}" in text


def _wait_for(check, seconds: float, message: str) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(message)
