"""Run inside a sandbox: observe read three times, by a child started ahead with the host's links first
(as a one-shot plan reads, kernel/ahead.py), by a forked child (as other one-shot commands read) and
in this process alone; prints JSON: whether all saw the same, and how many items each child had."""

from __future__ import annotations

import json
import sys

from reconciler.kernel import ahead, forked
from reconciler.kernel.nsread import read_ahead
from reconciler.kernel.observe import Reader, observe
from reconciler.kernel.session import Kernel

started = []
_init = forked.Forked.__init__


def _counted(self: forked.Forked, *args: object) -> None:
    started.append(len(args[0]))  # type: ignore[arg-type]
    _init(self, *args)  # type: ignore[arg-type]


def main() -> None:
    forked.Forked.__init__ = _counted  # type: ignore[method-assign]
    ahead.start(read_ahead)
    read_ahead_ = observe(Kernel(), table=False, reader=Reader(forked=True, started=ahead.take()))
    by_child = observe(Kernel(), table=False, reader=Reader(forked=True))
    alone = observe(Kernel(), table=False, reader=Reader(forked=False))
    json.dump({"same": by_child == alone == read_ahead_, "children": started, "objects": len(alone.objects),
               "foreign": sorted(map(str, alone.foreign)), "reasons": {str(k): v for k, v in alone.reasons.items()},
               "differ": sorted(str(k) for k in (by_child.objects.keys() | read_ahead_.objects.keys()) ^ alone.objects.keys())}, sys.stdout)


if __name__ == "__main__":
    main()
