"""The tutorials of docs/tutorials/ run as written (tests/docs.py): every command they show, with
the output they show, against the real kernel in a sandbox; the parts that need the VM's kernel are
in test_docs_vm.py. Setup a reader's machine already has (an uplink, a LAN, several hosts) is made
here, hidden from the tutorial, which says what it stands for.
"""

from pathlib import Path

import pytest
from builders import make_outside
from docs import REPO, make_lan, run_tutorial, stop_processes

TUTORIALS = REPO / "docs" / "tutorials"


def tutorial(name: str) -> Path:
    return TUTORIALS / name / "README.md"


def test_bridge_tutorial(sandbox):
    make_outside(sandbox)   # the uplink: 198.51.100.2 stands for the internet
    try:
        run_tutorial(tutorial("bridge"), {"": sandbox})
    finally:
        stop_processes(sandbox)


def test_services_tutorial(sandbox):
    make_outside(sandbox)   # another machine, `outside`, behind the host's uplink 198.51.100.1
    try:
        run_tutorial(tutorial("services"), {"": sandbox})
    finally:
        stop_processes(sandbox)


def test_overlay_tutorial(sandbox):
    from cluster import Cluster

    cluster = Cluster(sandbox, names=("host1", "host2"))   # eth1 10.10.0.11 and 10.10.0.12 on one underlay
    try:
        run_tutorial(tutorial("overlay"), {host.name: host for host in cluster})
        assert cluster.udp_counter() >= 4   # the pings crossed the underlay as VXLAN
    finally:
        for host in cluster:
            stop_processes(host)
        cluster.close()


def test_macvlan_tutorial(sandbox):
    make_lan(sandbox, router="172.16.86.1/24", host="172.16.86.10/24")   # eth0, on a LAN with its router
    try:
        run_tutorial(tutorial("macvlan"), {"": sandbox})
    finally:
        stop_processes(sandbox)
