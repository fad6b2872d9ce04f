"""Run inside a sandbox: observe read twice, by a forked child (as a one-shot command reads) and in
this process alone; prints JSON: whether both saw the same, and how many children were started."""

from __future__ import annotations

import json
import sys

from reconciler.kernel import forked
from reconciler.kernel.observe import Reader, observe
from reconciler.kernel.session import Kernel

started = []
_init = forked.Forked.__init__


def _counted(self: forked.Forked, *args: object) -> None:
    started.append(len(args[0]))  # type: ignore[arg-type]
    _init(self, *args)  # type: ignore[arg-type]


def main() -> None:
    forked.Forked.__init__ = _counted  # type: ignore[method-assign]
    by_child = observe(Kernel(), table=False, reader=Reader(forked=True))
    alone = observe(Kernel(), table=False, reader=Reader(forked=False))
    json.dump({"same": by_child == alone, "children": started, "objects": len(alone.objects),
               "foreign": sorted(map(str, alone.foreign)), "reasons": {str(k): v for k, v in alone.reasons.items()},
               "differ": sorted(str(k) for k in by_child.objects.keys() ^ alone.objects.keys())}, sys.stdout)


if __name__ == "__main__":
    main()
