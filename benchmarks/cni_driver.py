"""Runs inside the sandbox: one CNI bridge-plugin call per endpoint, sequential, as a runtime would.

Usage: python cni_driver.py ADD|DEL N DATA_DIR -> prints the seconds the N calls took.
"""

import os
import subprocess
import sys
import time

from scenario import NETWORKS, cni_config

PLUGIN, CNI_PATH = "/usr/lib/cni/bridge", "/usr/lib/cni"


def main() -> None:
    command, count, data_dir = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    configs = [cni_config(n, data_dir) for n in range(NETWORKS)]
    started = time.perf_counter()
    for i in range(count):
        env = dict(os.environ, CNI_COMMAND=command, CNI_CONTAINERID=f"c{i}", CNI_NETNS=f"/run/netns/c{i}",
                   CNI_IFNAME="eth0", CNI_PATH=CNI_PATH)
        result = subprocess.run([PLUGIN], input=configs[i % NETWORKS], env=env, capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit(f"CNI {command} c{i} failed: {result.stdout}{result.stderr}")
    print(time.perf_counter() - started)


if __name__ == "__main__":
    main()
