"""Median time to read our nftables table, and to write it (replace it, create it, remove it), through libnftables and through `nft -j`,
at the benchmark's size (4 networks, --endpoints endpoints applied first), in a sandbox.

    python -m benchmarks.nft_paths [--endpoints 1000] [--repeat 50]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from benchmarks.sandbox import Sandbox
from benchmarks.scenario import write_manifests

TIMING = """
import os, statistics, sys, time
from reconciler.kernel import nft
table = nft.read_table()
assert table is not None and (nft.library() is None) == (os.environ["NETRECONCILE_NFT"] == "cli")
def median_ms(call, then=lambda: None):
    times = []
    for _ in range({repeat}):
        start = time.perf_counter(); call(); times.append(time.perf_counter() - start); then()
    return statistics.median(times) * 1e3
read, replace = median_ms(nft.read_table), median_ms(lambda: nft.write_table(table, True))
nft.write_table(None)
create = median_ms(lambda: nft.write_table(table, False), lambda: nft.write_table(None))
nft.write_table(table, False)
remove = median_ms(lambda: nft.write_table(None), lambda: nft.write_table(table, False))
print(read, replace, create, remove, len(table.chains), len(table.rules))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, Sandbox() as box:
        path = write_manifests(Path(folder), args.endpoints)
        applied = box.run([sys.executable, "-m", "reconciler", "apply", str(path)])
        if applied.returncode != 0:
            print(applied.stderr, file=sys.stderr)
            return 1
        for mode in ("lib", "cli"):
            done = box.run(["env", f"NETRECONCILE_NFT={mode}", sys.executable, "-c",
                            TIMING.format(repeat=args.repeat)])
            if done.returncode != 0:
                print(done.stderr, file=sys.stderr)
                return 1
            *times, chains, rules = done.stdout.split()
            read, replace, create, remove = (f"{float(t):.2f}" for t in times)
            print(f"{mode}: read {read} ms, write: replace {replace}, create {create}, remove {remove} ms "
                  f"({chains} chains, {rules} rules; medians of {args.repeat})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
