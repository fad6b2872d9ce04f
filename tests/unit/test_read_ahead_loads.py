"""The child started ahead of a one-shot plan (kernel/ahead.py) loads only what reading needs
(kernel/nsread.py's read_ahead): not kernel/observe.py and what it brings (nftables, the resolver's and
DHCP's state, ...), which would delay its first read by some 20 ms."""

from __future__ import annotations

import subprocess
import sys

PROGRAM = """
import sys
from reconciler.kernel.nsread import read_ahead
print(" ".join(m for m in ("reconciler.kernel.observe", "reconciler.kernel.nft", "reconciler.kernel.resolverstate",
                           "reconciler.engine") if m in sys.modules))
"""


def test_the_reading_child_loads_no_observe() -> None:
    done = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "", done.stdout
