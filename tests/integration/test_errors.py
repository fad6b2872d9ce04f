"""Refusals: an unowned object in the way, or invalid manifests: exit 1, a plain message, nothing changed."""

import re

import pytest
from builders import (
    assert_unchanged,
    converge,
    endpoint,
    iface,
    network,
    plan,
    run_fails_cleanly,
    snapshot,
    write,
)

KERNEL = ("ip -d link show", "ip addr", "ip route", "ip netns list", "nft list ruleset",
          "sysctl net.ipv4.ip_forward", "ls -la /run/netns")

CONFLICTS = {  # making the unowned object, its name in the message, removing it
    "bridge": ("ip link add br-front type bridge", "'br-front'", "ip link del br-front"),
    "netns": ("ip netns add b", "'b'", "ip netns del b"),
}


@pytest.mark.parametrize("case", CONFLICTS, ids=list(CONFLICTS))
def test_an_unowned_object_with_a_wanted_name_stops_apply_before_any_change(sandbox, case):
    command, name, undo = CONFLICTS[case]
    sandbox.sh(command)
    before = snapshot(sandbox, *KERNEL)
    path = write(sandbox, network("front", "172.20.0.0/24"),
                 endpoint("a", iface("front", "172.20.0.10")), endpoint("b", iface("front", "172.20.0.11")))

    for args in (("apply", str(path)), ("plan", str(path))):
        stderr = run_fails_cleanly(sandbox, *args)
        errors = [line for line in stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and name in errors[0] and "not managed by netreconcile" in errors[0], stderr
    assert_unchanged(sandbox, before)

    sandbox.sh(undo)  # the conflict was all that stood in the way
    converge(sandbox, path)
    assert sandbox.ping("a", "172.20.0.11")


VALID = """\
apiVersion: netreconcile/v1
kind: Network
metadata: {name: front}
spec:
  driver: bridge
  ipam: {subnet: 172.20.0.0/24}
---
apiVersion: netreconcile/v1
kind: Endpoint
metadata: {name: a}
spec:
  interfaces: [{network: front, ipv4Address: 172.20.0.10}]
"""

# Each would also change the kernel if it were applied (new endpoint b, changed mtu, ...); lines are 1-based.
INVALID = {
    "schema": (VALID.replace("  driver: bridge\n", "  driver: bridge\n  mtu: big\n"), [6]),
    "address-outside-subnet": (VALID + """\
---
apiVersion: netreconcile/v1
kind: Endpoint
metadata: {name: b}
spec:
  interfaces:
    - network: front
      ipv4Address: 172.99.0.11
""", [20]),
    "two-problems": (VALID + """\
---
apiVersion: netreconcile/v1
kind: Endpoint
metadata: {name: b}
spec:
  interfaces:
    - {network: nowhere}
    - network: front
      ipv4Address: 172.20.0.10
""", [19, 21]),
    "yaml-syntax": (VALID + """\
---
apiVersion: netreconcile/v1
kind: Endpoint
metadata: {name: b}
spec:
  interfaces:
    - network: front
     ipv4Address: 172.20.0.11
""", [20]),
}


@pytest.mark.parametrize("case", INVALID, ids=list(INVALID))
def test_invalid_manifests_name_file_and_line_and_change_nothing(sandbox, case):
    text, lines = INVALID[case]
    path = sandbox.write("m/net.yaml", VALID)
    converge(sandbox, path)
    before = snapshot(sandbox, *KERNEL)

    sandbox.write("m/net.yaml", text)
    for command in ("apply", "plan"):
        stderr = run_fails_cleanly(sandbox, command, str(path))
        found = sorted(int(m) for m in re.findall(rf"^{re.escape(str(path))}:(\d+):\d+: ", stderr, re.MULTILINE))
        assert found == lines, stderr
    assert_unchanged(sandbox, before)
    sandbox.write("m/net.yaml", VALID)
    assert plan(sandbox, path)[0] == 0
