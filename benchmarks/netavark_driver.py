"""Runs inside the sandbox: one `netavark setup` (or `teardown`) per container, sequential, each into
a namespace made beforehand, as podman calls it (the network's definition and the container's static
address on stdin).

Usage: python -m benchmarks.netavark_driver setup|teardown FIRST COUNT N CONFIG_DIR -> prints the
seconds the COUNT calls took, for containers FIRST, FIRST + 1, ... of the N-endpoint scenario.
"""

from __future__ import annotations

import subprocess
import sys
import time

from benchmarks.scenario import container_netns, netavark_config, networks

NETAVARK = "/usr/lib/podman/netavark"


def main() -> None:
    command, config_dir = sys.argv[1], sys.argv[5]
    first, count, n = (int(a) for a in sys.argv[2:5])
    spread = networks(n)
    inputs = {i: netavark_config(i, spread) for i in range(first, first + count)}  # built before the clock
    started = time.perf_counter()
    for i, config in inputs.items():
        done = subprocess.run([NETAVARK, "--config", config_dir, command, f"/run/netns/{container_netns(i)}"],
                              input=config, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.exit(f"netavark {command} {container_netns(i)} failed (exit {done.returncode}): {done.stderr.strip()}")
    print(time.perf_counter() - started)


if __name__ == "__main__":
    main()
