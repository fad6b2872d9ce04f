"""The tutorials that need 802.1q VLAN, ipvlan and dummy links, which the development machines'
kernel lacks: marked `vm`, run by tests/vm/run in a VM booted with Debian's stock kernel (skipped
elsewhere, with the reason). As in test_docs.py, every command of the tutorial runs as written; each
test also keeps a transcript of what the commands printed (under its tmp_path, which tests/vm/run
keeps in its results folder), to read when the VM's kernel or iproute2 says something else.
"""

import pytest
from test_docs import tutorial

from docs import make_lan, run_tutorial, stop_processes

pytestmark = pytest.mark.vm


def test_macvlan_8021q_tutorial(sandbox, tmp_path):
    # eth1 leads to a LAN whose router answers untagged on 172.16.86.1 and on VLAN 10 at 192.168.50.1.
    make_lan(sandbox, router="172.16.86.1/24", host="172.16.86.10/24", vlans={10: "192.168.50.1/24"})
    try:
        run_tutorial(tutorial("macvlan-8021q"), {"": sandbox}, transcript=tmp_path / "transcript.txt")
    finally:
        stop_processes(sandbox)


def test_ipvlan_tutorial(sandbox, tmp_path):
    make_lan(sandbox, router="192.168.1.1/24", host="192.168.1.10/24")   # eth1 on the LAN of the l2 part
    try:
        run_tutorial(tutorial("ipvlan"), {"": sandbox}, transcript=tmp_path / "transcript.txt")
    finally:
        stop_processes(sandbox)
