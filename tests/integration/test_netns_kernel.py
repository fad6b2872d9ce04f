"""kernel/netns on the real kernel: the main thread keeps its own namespace open to come back to (one
open() for all the namespaces it enters, not one per entry), while a body within a body, or another
thread, comes back to where it was; namespaces removed inside `together()` are destroyed after it."""

from __future__ import annotations

import sys

SCRIPT = """
import os, threading
from reconciler.kernel import netns

opened = []
real_open = os.open
def counting(path, *args, **kwargs):
    if path == "/proc/thread-self/ns/net":
        opened.append(threading.current_thread() is threading.main_thread())
    return real_open(path, *args, **kwargs)
os.open = counting

def here():
    return os.stat("/proc/thread-self/ns/net").st_ino

host = here()
for name in ("h1", "h2"):
    netns.create(name)
inode = {name: os.stat(netns.path(name)).st_ino for name in ("h1", "h2")}
for _ in range(3):
    for name, other in (("h1", "h2"), ("h2", "h1")):
        with netns.entered(name):
            assert here() == inode[name]
            with netns.entered(other):
                assert here() == inode[other]
            assert here() == inode[name], "a body within a body comes back to the outer namespace"
        assert here() == host

def elsewhere():
    with netns.entered("h1"):
        assert here() == inode["h1"]
    assert here() == host
thread = threading.Thread(target=elsewhere)
thread.start()
thread.join()
netns.move("h2")
with netns.entered("h1"):
    pass
assert here() == inode["h2"], "after a move, the thread comes back to where it moved"
print(opened.count(True), opened.count(False))
"""


def test_the_main_thread_opens_its_namespace_once_and_every_body_comes_back_where_it_was(sandbox):
    script = sandbox.write("home.py", SCRIPT)
    result = sandbox.sh(f"{sys.executable} {script}")
    # The main thread: its own namespace once, each of the 6 inner bodies where it was, and after
    # the move its new home once; the other thread, its own each time.
    assert result.stdout.split() == ["8", "1"], result.stdout


TOGETHER = """
import subprocess, time
from reconciler.kernel import netns

def host_end_there():
    return subprocess.run(["ip", "link", "show", "tv1"], capture_output=True).returncode == 0

netns.create("t1")
subprocess.run("ip link add tv1 type veth peer name eth0 netns t1", shell=True, check=True)
with netns.together():
    netns.remove("t1")
    removed = not netns.path("t1").exists()
    time.sleep(0.3)
    held = host_end_there()
deadline = time.monotonic() + 10
while host_end_there() and time.monotonic() < deadline:
    time.sleep(0.01)
print(removed, held, host_end_there())
"""


def test_namespaces_removed_together_are_destroyed_after_the_body_not_at_their_unmount(sandbox):
    script = sandbox.write("together.py", TOGETHER)
    result = sandbox.sh(f"{sys.executable} {script}")
    # Named no more at once, its veth (whose host end shows the namespace alive) gone only after the body.
    assert result.stdout.split() == ["True", "True", "False"], result.stdout + result.stderr
