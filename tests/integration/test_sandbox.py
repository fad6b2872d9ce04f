"""The sandbox leaves nothing behind: a server a test started in a namespace it named (a LAN
namespace with a DHCP server in it) dies with the sandbox, and with it the namespace."""

import os
import time

from cluster import alive
from sandbox import Sandbox, processes_in


def test_close_kills_what_runs_in_the_namespaces_named_inside(tmp_path):
    box = Sandbox(tmp_path)
    try:
        box.sh("ip netns add lan && ip netns exec lan setsid sleep 1000 </dev/null >/dev/null 2>&1 &")
        lan = os.stat(f"/proc/{box.holder.pid}/root/run/netns/lan").st_ino
        deadline = time.monotonic() + 5
        while not (pids := processes_in(lan)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pids, "the sleep should run in the lan namespace"
    finally:
        box.close()
    deadline = time.monotonic() + 5
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in pids if alive(pid)]
