"""The long-running processes hold sockets in every namespace they serve: their open-files limit is
raised as far as the kernel allows (root), not left at a hard limit a machine happens to set."""

import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.kernel.openfiles import NR_OPEN

PROBE = """
import resource
resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 20000))   # as a machine or a unit may set them
from reconciler.kernel.openfiles import raise_limit
raise_limit()
print(*resource.getrlimit(resource.RLIMIT_NOFILE))
"""


def may_raise_hard_limits() -> bool:
    """CAP_SYS_RESOURCE in this process's effective set (a container may withhold it from root)."""
    with open("/proc/self/status") as status:
        effective = next(int(line.split()[1], 16) for line in status if line.startswith("CapEff:"))
    return bool(effective & (1 << 24))


def test_the_open_files_limit_is_raised_to_the_hard_one():
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    soft, hard = map(int, done.stdout.split())
    assert soft == hard >= 20000


@pytest.mark.skipif(not may_raise_hard_limits(), reason="raising a hard limit needs CAP_SYS_RESOURCE, which this "
                    "machine withholds (its hard limit, 20,000 descriptors, caps the resolver at about 9,990 namespaces)")
def test_the_open_files_limit_goes_up_to_the_kernels_ceiling():
    ceiling = int(Path(NR_OPEN).read_text())
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    soft, hard = map(int, done.stdout.split())
    assert soft == hard == max(ceiling, 20000)
