"""What a namespace's removal takes along: foreign links and processes are named and need --force,
a rollback restores a deleted endpoint's declared sysctls and says what it could not restore, and
the delete guard judges the source, not one host's share of it."""

from __future__ import annotations

import time

from builders import (
    converge,
    endpoint,
    netns_names,
    network,
    out,
    plan,
    run_fails_cleanly,
    text,
    write,
)
from test_safety import state

PING_GROUPS, ARP_IGNORE = "net.ipv4.ping_group_range", "net.ipv4.conf.all.arp_ignore"
DECLARED = {PING_GROUPS: "0 2147483647", ARP_IGNORE: 1}


def start_sleep(sandbox, ns: str) -> int:
    """A process running inside `ns` (ip netns exec execs it: the pid is the sleep's own)."""
    return int(out(sandbox, f"ip netns exec {ns} sleep 1000 </dev/null >/dev/null 2>&1 & echo $!"))


def stop(sandbox, pid: int) -> None:
    sandbox.sh(f"kill {pid}", check=False)


def sysctl(sandbox, ns: str, key: str) -> str:
    return " ".join(out(sandbox, f"ip netns exec {ns} sysctl -n {key}").split())


def wait_for(check, seconds: float = 5) -> bool:
    end = time.monotonic() + seconds
    while not check():
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True


def test_destroy_of_a_namespace_holding_a_foreign_link_and_a_process_names_them_and_needs_force(sandbox):
    path = write(sandbox, network("a", "172.20.0.0/24"), endpoint("e0", "a"), endpoint("e1", "a"))
    converge(sandbox, path)
    sandbox.sh("ip link add fvh type veth peer name fv1 netns e1")  # made by hand: not ours
    pid = start_sleep(sandbox, "e1")
    try:
        before = state(sandbox)
        refused = run_fails_cleanly(sandbox, "destroy", str(path))
        assert "netns e1" in refused and "foreign link fv1" in refused, refused
        assert f"process {pid} (sleep)" in refused and "--force" in refused, refused
        assert "e0" not in refused, "only the namespace holding foreign things is named"
        assert state(sandbox) == before, "a refused destroy changes nothing"

        done = sandbox.nr("destroy", str(path), "--force").stdout
        lines = done.splitlines()
        with_it = lines[lines.index("  - netns e1") + 1]
        assert with_it.startswith("      with it: ") and with_it.endswith(f", foreign link fv1, process {pid} (sleep)"), done
        assert out(sandbox, "ip netns list") == ""
        assert "br-a" not in out(sandbox, "ip -o link")
    finally:
        stop(sandbox, pid)
    # Once nothing holds the old namespace, the kernel dismantles it, the hand-made veth with it.
    assert wait_for(lambda: "fvh" not in out(sandbox, "ip -o link")), out(sandbox, "ip -o link")


def test_prune_of_a_namespace_holding_a_process_or_a_foreign_link_is_planned_by_name_and_needs_force(sandbox):
    docs = [network("a", "172.20.0.0/24"), endpoint("e0", "a")]
    path = write(sandbox, *docs, endpoint("e1", "a"), endpoint("e2", "a"))
    converge(sandbox, path)
    sandbox.sh("ip -n e2 link add fv1 type veth peer name fv2")
    pid = start_sleep(sandbox, "e1")
    try:
        pruned = write(sandbox, *docs, name="m2/net.yaml")
        code, shown = plan(sandbox, pruned)
        assert code == 2
        lines = shown.splitlines()
        e1 = lines.index("  - netns e1")
        assert lines[e1 + 1].startswith("      with it: ") and lines[e1 + 1].endswith(f", process {pid} (sleep)"), shown
        e2 = lines.index("  - netns e2")
        assert lines[e2 + 1].endswith(", foreign link fv1, foreign link fv2"), shown

        before = state(sandbox)
        refused = run_fails_cleanly(sandbox, "apply", str(pruned), "--max-delete", "100%")
        assert f"netns e1 holds what netreconcile did not create: process {pid} (sleep)" in refused, refused
        assert "netns e2 holds what netreconcile did not create: foreign link fv1, foreign link fv2" in refused, refused
        assert "--force" in refused
        assert state(sandbox) == before, "a refused prune changes nothing"

        converge(sandbox, pruned, "--force")
        assert netns_names(sandbox) == ["e0"]
        assert out(sandbox, "ip -o link show master br-a").count("\n") == 1, "e1's veth left the bridge too"
    finally:
        stop(sandbox, pid)


def test_a_rollback_restores_a_deleted_endpoints_declared_sysctls_and_says_what_it_could_not(sandbox):
    base = write(sandbox, network("a", "172.20.0.0/24"), endpoint("e0", "a"), endpoint("e1", "a", sysctls=DECLARED))
    converge(sandbox, base)
    before = state(sandbox)
    # e1 goes (its delete runs first), e2 comes (its last step fails): the rollback recreates e1.
    changed = write(sandbox, network("a", "172.20.0.0/24"), endpoint("e0", "a"), endpoint("e2", "a"), name="m2/net.yaml")
    steps = [line for line in sandbox.nr("plan", str(changed)).stdout.splitlines() if line.startswith("  ") and line[2] in "+-~"]
    assert "  - netns e1" in steps[:4], steps

    failed = sandbox.sh(f"NETRECONCILE_TEST_FAIL_AT_STEP={len(steps)} python3 -m reconciler apply {changed}", check=False)
    assert failed.returncode == 1 and "injected failure" in failed.stderr and "Rolled back" in failed.stderr, failed.stderr
    assert sysctl(sandbox, "e1", PING_GROUPS) == "0 2147483647" and sysctl(sandbox, "e1", ARP_IGNORE) == "1"
    assert state(sandbox) == before
    assert sandbox.plan_exitcode(base) == 0
    assert "the kernel is as it was before" not in failed.stderr, failed.stderr
    assert "netns e1 is a new namespace" in failed.stderr, failed.stderr

    pid = start_sleep(sandbox, "e1")  # now with a process inside: --force lets the apply delete e1
    try:
        failed = sandbox.sh(f"NETRECONCILE_TEST_FAIL_AT_STEP={len(steps)} python3 -m reconciler apply --force {changed}",
                            check=False)
        assert failed.returncode == 1 and "Rolled back" in failed.stderr, failed.stderr
        assert f"not in the new netns e1, left with the old one: process {pid} (sleep)" in failed.stderr, failed.stderr
        assert sysctl(sandbox, "e1", PING_GROUPS) == "0 2147483647"
        assert sandbox.plan_exitcode(base) == 0
    finally:
        stop(sandbox, pid)


def test_a_rollback_that_recreated_no_namespace_still_says_the_kernel_is_as_before(sandbox):
    base = write(sandbox, network("a", "172.20.0.0/24"), endpoint("e0", "a"))
    converge(sandbox, base)
    grown = write(sandbox, network("a", "172.20.0.0/24"), endpoint("e0", "a"), endpoint("e1", "a"), name="m2/net.yaml")
    failed = sandbox.sh(f"NETRECONCILE_TEST_FAIL_AT_STEP=3 python3 -m reconciler apply {grown}", check=False)
    assert failed.returncode == 1
    assert "Rolled back 2 step(s): the kernel is as it was before this apply." in failed.stderr, failed.stderr


# Several hosts: one manifests directory, the same on every host.

def host(name: str, address: str) -> dict:
    return {"apiVersion": "netreconcile/v1", "kind": "Host", "metadata": {"name": name},
            "spec": {"underlay": {"address": address}}}


def placed(name: str, on: str, address: str) -> dict:
    return {"apiVersion": "netreconcile/v1", "kind": "Endpoint", "metadata": {"name": name},
            "spec": {"host": on, "interfaces": [{"network": "appnet", "ipv4Address": address}]}}


HOSTS = [host("node-a", "10.10.0.11"), host("node-b", "10.10.0.12"), host("node-c", "10.10.0.13")]
APPNET = {"apiVersion": "netreconcile/v1", "kind": "Network", "metadata": {"name": "appnet"},
          "spec": {"driver": "overlay", "ipam": {"subnet": "10.200.0.0/24"}}}


def source(cluster, *endpoints: tuple[str, str], name: str = "m/net.yaml"):
    docs = [placed(ep, on, f"10.200.0.{10 + i}") for i, (ep, on) in enumerate(endpoints)]
    return cluster.sandbox.write(name, text(*HOSTS, APPNET, *docs))


def test_moving_a_hosts_last_endpoint_elsewhere_is_not_refused_but_a_truncated_source_is(cluster):
    placement = [("a1", "node-a"), ("a2", "node-a"), ("b1", "node-b"), ("b2", "node-b"), ("c1", "node-c")]
    path = source(cluster, *placement)
    for h in cluster:
        converge(h, path)
    assert cluster["node-c"].sh("ip netns list").stdout.split()[0] == "c1"

    # c1 moves to node-b: node-c then deletes all it owns, but nothing vanished from the source.
    path = source(cluster, *placement[:4], ("c1", "node-b"))
    for name in ("node-b", "node-c", "node-a"):
        converge(cluster[name], path)
    assert cluster["node-c"].sh("ip netns list; ip -o link show type vxlan").stdout == ""
    assert cluster["node-a"].ping("a1", "10.200.0.14")

    # A truncated source: three of the six objects last applied are gone (50%, allowed), then four (67%).
    half = source(cluster, *placement[:2], name="half/net.yaml")
    assert cluster["node-a"].nr("plan", str(half), "--detailed-exitcode", check=False).returncode == 2
    truncated = source(cluster, *placement[:1], name="truncated/net.yaml")
    for name in ("node-a", "node-b"):
        before = cluster[name].sh("ip netns list; ip -o link").stdout
        refused = run_fails_cleanly(cluster[name], "apply", str(truncated))
        assert "4 of the 6 manifest objects" in refused and "--max-delete" in refused and "--force" in refused, refused
        assert cluster[name].sh("ip netns list; ip -o link").stdout == before
    cluster["node-b"].nr("apply", str(half))  # 3 of 6 gone: within --max-delete 50%
    assert cluster["node-b"].sh("ip netns list").stdout == ""
