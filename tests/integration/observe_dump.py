"""Run inside a sandbox: what observe (reconciler/kernel/observe.py) reports, as JSON on stdout: each object's
kind, key and fields. The other side of tests/integration/test_observe_crosscheck.py.

Our nftables table is not read (it is no netlink state: `nft` checks it elsewhere)."""

from __future__ import annotations

import json
import sys
from dataclasses import fields

from reconciler.kernel.observe import observe

# --- the adapter: the only lines naming where observe and the kernel session live (issue 16 moves modules)
from reconciler.kernel.session import Kernel


def observed_objects() -> list:
    return list(observe(Kernel(), table=False).objects.values())
# ---


def main() -> None:
    out = [{"kind": o.kind, "key": list(o.key), "fields": {f.name: getattr(o, f.name) for f in fields(o)}}
           for o in observed_objects()]
    json.dump(out, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
