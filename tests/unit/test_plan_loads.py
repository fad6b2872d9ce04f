"""The command line as a one-shot `plan` loads it (reconciler/cli/main.py) brings no applier, no executor
and not the watch's kernel cache: a plan runs none of them, and loading them is a sixth of its start.
The commands that use them load them themselves."""

from __future__ import annotations

import subprocess
import sys

PROGRAM = """
import sys
import reconciler.cli.main
print(" ".join(m for m in sys.modules if m.startswith(("reconciler.appliers", "reconciler.applying.executor",
                                                      "reconciler.applying.parallel", "reconciler.kernel.cache"))))
"""


def test_the_command_line_loads_no_applier() -> None:
    done = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "", done.stdout
