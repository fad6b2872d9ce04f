"""Runs inside the sandbox: one CNI bridge-plugin call per endpoint, sequential, as a runtime would.

Usage: python -m benchmarks.cni_driver ADD|DEL N DATA_DIR -> prints the seconds the N calls took.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from benchmarks.scenario import cni_config, container_netns, networks

CNI_PATH = "/usr/lib/cni"
PLUGIN = f"{CNI_PATH}/bridge"


def call(command: str, i: int, config: str) -> None:
    name = container_netns(i)
    env = dict(os.environ, CNI_COMMAND=command, CNI_CONTAINERID=name, CNI_NETNS=f"/run/netns/{name}",
               CNI_IFNAME="eth0", CNI_PATH=CNI_PATH)
    result = subprocess.run([PLUGIN], input=config, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"CNI {command} {name} failed (exit {result.returncode}): {result.stdout}{result.stderr}")


def main() -> None:
    command, count, data_dir = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    spread = networks(count)
    configs = [cni_config(n, data_dir) for n in range(spread)]
    started = time.perf_counter()
    for i in range(count):
        call(command, i, configs[i % spread])
    print(time.perf_counter() - started)


if __name__ == "__main__":
    main()
