"""`python counted_command.py COMMAND ARGS...`: run netreconcile's command line as `netreconcile` does,
counting the kernel readers it forks (kernel/forked.py): the items of each, one line per child, appended
to the file named by the environment's COUNTED_CHILDREN. A test reads them to pin that a command read
ahead (its result alone cannot tell: the same command reading alone gives the same)."""

from __future__ import annotations

import os
import sys

from reconciler.kernel import forked

_init = forked.Forked.__init__


def _counted(self: forked.Forked, *args: object) -> None:
    with open(os.environ["COUNTED_CHILDREN"], "a") as counted:
        counted.write(f"{len(args[0])}\n")  # type: ignore[arg-type]
    _init(self, *args)  # type: ignore[arg-type]


if __name__ == "__main__":
    forked.Forked.__init__ = _counted  # type: ignore[method-assign]
    from reconciler.__main__ import run
    sys.exit(run())
