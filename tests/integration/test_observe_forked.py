"""A one-shot observe of many namespaces is read by a forked child while the parent parses
(kernel/forked.py, kernel/nsread.py), a one-shot plan's by one started as the command starts, the host's
links first (kernel/ahead.py), as an apply's that finds the lock free: each must see exactly what a read in
one process sees, drift made by hand in any namespace included; plan must show that drift, apply repair it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from builders import converge, endpoint, iface, network, plan, write

from reconciler.kernel.observe import FORK_FROM

pytestmark = pytest.mark.kernel

HERE = Path(__file__).resolve().parent
COUNT = FORK_FROM + 6


def _many(sandbox):
    return write(sandbox, network("a", "172.20.0.0/24"),
                 *(endpoint(f"e{i:02}", iface("a", f"172.20.0.{10 + i}")) for i in range(COUNT)))


def _dump(sandbox) -> dict:
    return json.loads(sandbox.sh(f"{sys.executable} {HERE / 'forked_dump.py'}").stdout)


def test_drift_in_any_namespace_is_seen_through_the_forked_read(sandbox):
    path = _many(sandbox)
    converge(sandbox, path)  # its plan reads through the child: no drift where there is none
    sandbox.sh("ip -n e07 addr del 172.20.0.17/24 dev eth0 && ip -n e20 route del default"
               " && ip -n e33 link set eth0 mtu 1400 && ip -n e60 link set lo down"
               " && echo '10.9.9.9 edited' >> /etc/netns/e44/hosts")
    code, report = plan(sandbox, path)
    assert code == 2, report
    for drift in ("172.20.0.17/24 on e07/eth0", "0.0.0.0/0 via 172.20.0.1 dev eth0 in e20", "mtu: 1400 -> 1500",
                  "netns e60", "hosts /etc/netns/e44/hosts", "- 10.9.9.9 edited"):
        if drift not in report:
            pytest.fail(f"{drift!r} not in:\n{report}")
    dumped = _dump(sandbox)
    assert dumped["children"] == [1 + COUNT, COUNT] and dumped["same"], dumped  # ahead: the host, then each


def test_what_is_not_ours_or_in_the_way_is_seen_alike_by_the_child(sandbox):
    path = _many(sandbox)
    converge(sandbox, path)
    elsewhere = sandbox.workdir / "e51"
    sandbox.sh("ip netns add e30x && ip -n e30x link set lo up"  # a namespace not ours, read between ours
               " && touch /run/netns/e31x"  # a leftover plain file: no namespace
               " && rm /etc/netns/e50/resolv.conf && ln -s /etc/hostname /etc/netns/e50/resolv.conf"
               f" && cp -a /etc/netns/e51 {elsewhere} && rm -r /etc/netns/e51 && ln -s {elsewhere} /etc/netns/e51")
    dumped = _dump(sandbox)
    assert dumped["children"] == [1 + COUNT + 1, COUNT + 1] and dumped["same"], dumped
    assert "('netns', 'e30x')" in dumped["foreign"], dumped
    reasons = " ".join(dumped["reasons"].values())
    assert "/etc/netns/e50/resolv.conf is a symbolic link" in reasons and "/etc/netns/e51" in reasons, dumped


def test_an_apply_reading_ahead_repairs_drift_in_any_namespace_and_adds_what_is_new(sandbox):
    path = _many(sandbox)
    converge(sandbox, path)
    sandbox.sh("ip -n e07 addr del 172.20.0.17/24 dev eth0 && ip -n e33 link set eth0 mtu 1400"
               " && echo '10.9.9.9 edited' >> /etc/netns/e44/hosts")
    write(sandbox, endpoint("extra", iface("a", "172.20.0.200")), name="m/extra.yaml")
    counted = sandbox.workdir / "children"
    applied = sandbox.sh(f"COUNTED_CHILDREN={counted} {sys.executable} {HERE / 'counted_command.py'} apply {path.parent}")
    assert counted.read_text().split() == [str(1 + COUNT)], "the apply read ahead: the host, then each namespace"
    for drift in ("+ address 172.20.0.17/24 on e07/eth0", "<-> e33/eth0", "~ hosts /etc/netns/e44/hosts", "netns extra"):
        assert drift in applied.stdout, applied.stdout
    assert plan(sandbox, path.parent)[0] == 0
    assert "172.20.0.17/24" in sandbox.sh("ip -n e07 -o addr show dev eth0").stdout
    assert "mtu 1500" in sandbox.sh("ip -n e33 -o link show dev eth0").stdout
