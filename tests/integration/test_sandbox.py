"""The sandbox leaves nothing behind: a server a test started in a namespace it named (a LAN
namespace with a DHCP server in it) dies with the sandbox, and with it the namespace."""

import os
import time

from sandbox import Sandbox


def test_close_kills_what_runs_in_the_namespaces_named_inside(tmp_path):
    box = Sandbox(tmp_path)
    try:
        box.sh("ip netns add lan && ip netns exec lan setsid sleep 1000 </dev/null >/dev/null 2>&1 &")
        deadline = time.monotonic() + 5
        while not (pids := sleepers(box)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pids, "the sleep should run in the lan namespace"
    finally:
        box.close()
    deadline = time.monotonic() + 5
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in pids if alive(pid)]


def sleepers(box: Sandbox) -> list[int]:
    lan = os.stat(f"/proc/{box.holder.pid}/root/run/netns/lan").st_ino
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and _netns(p) == lan]


def _netns(pid: str) -> int | None:
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino
    except OSError:
        return None


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False
