import functools
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sandbox import Sandbox, can_sandbox

# The link kinds that tests marked `vm` need, tried in a throwaway network namespace: the machine's
# own network is never touched, and the namespace (with the links in it) vanishes with `unshare`.
VM_KERNEL_PROBE = (
    "ip link add nrprobe type dummy && "
    "ip link add link nrprobe name nrprobe.5 type vlan id 5 && "
    "ip link add link nrprobe name nrprobe1 type ipvlan"
)


@functools.cache
def vm_kernel_missing() -> str | None:
    """Why tests marked `vm` cannot run on this kernel, or None when they can. Probed once per session."""
    if not can_sandbox():
        return "needs root and unshare --net --mount"
    try:
        probe = subprocess.run(["unshare", "--net", "sh", "-c", VM_KERNEL_PROBE],
                               check=False, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"could not probe the kernel for dummy, 802.1q vlan and ipvlan links: {error}"
    if probe.returncode != 0:
        said = " ".join(probe.stderr.split()) or f"exit status {probe.returncode}"
        return ("the running kernel lacks dummy, 802.1q vlan or ipvlan links "
                f"({said}): these tests run in a VM with Debian's stock kernel through tests/vm/run")
    return None


def pytest_collection_modifyitems(config, items):
    """Skip the tests marked `vm` where the running kernel cannot make the links they need, and the
    tests marked `soak` (minutes each) unless `-m` selects them."""
    if "soak" not in (config.option.markexpr or ""):
        for item in items:
            if item.get_closest_marker("soak"):
                item.add_marker(pytest.mark.skip(reason="a soak of minutes: run it with -m soak"))
    vm_items = [item for item in items if item.get_closest_marker("vm")]
    if not vm_items:
        return
    reason = vm_kernel_missing()
    if reason:
        for item in vm_items:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def sandbox(tmp_path):
    """A private network + mount namespace for one test; skipped where it cannot be made (not root)."""
    if not can_sandbox():
        pytest.skip("needs root and unshare --net --mount")
    box = Sandbox(tmp_path)
    yield box
    box.close()


@pytest.fixture
def cluster(sandbox):
    """Three simulated hosts (node-a, node-b, node-c) on an underlay bridge inside the sandbox (tests/cluster.py)."""
    from cluster import Cluster

    hosts = Cluster(sandbox)
    yield hosts
    hosts.close()
