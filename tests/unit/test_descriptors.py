"""The descriptors our processes need for a desired state against the limit each will have, and that
limit read without changing this process's own."""

import subprocess
import sys

import pytest

from reconciler.applying import descriptors
from reconciler.errors import PreflightError
from reconciler.kernel import openfiles
from reconciler.kernel.openfiles import FileLimit
from reconciler.model.dhcp import LeaseKeeper
from reconciler.model.dns import Resolver


def resolver(n: int) -> Resolver:
    return Resolver("d", tuple(f"ns{i}" for i in range(n)))


def keeper(n: int) -> LeaseKeeper:
    return LeaseKeeper("d", tuple(f"ns{i}/eth0" for i in range(n)))


def limits(value: int, source: str = openfiles.HARD, pid: int | None = None):
    return lambda process: FileLimit(value, source, pid)


def refusal(desired, limit_of) -> list[str]:
    with pytest.raises(PreflightError) as caught:
        descriptors.require(desired, limit_of)
    return caught.value.messages


def test_ten_thousand_namespaces_need_more_than_a_hard_limit_of_twenty_thousand():
    assert refusal([resolver(10000)], limits(20000)) == [
        ("the DNS resolver would serve 10000 namespaces and needs 20012 file descriptors; this host allows 20000 "
        "(RLIMIT_NOFILE hard limit; raise it, e.g. LimitNOFILE= in the systemd unit, or run with CAP_SYS_RESOURCE)")]


def test_a_limit_just_big_enough_passes_for_each_process():
    descriptors.require([resolver(10000), keeper(100)], lambda p: FileLimit(20012 if p.dir_name == "resolver" else 312, openfiles.HARD))
    descriptors.require([], limits(0))  # no process of ours: nothing to check


def test_the_lease_keeper_needs_three_per_interface_and_its_ceiling_says_what_to_raise():
    assert refusal([resolver(1), keeper(100)], limits(300, openfiles.CEILING)) == [
        ("the DHCP lease keeper would keep leases on 100 interfaces and needs 312 file descriptors; this host "
        "allows 300 (fs.nr_open, the kernel's ceiling; raise it, e.g. sysctl -w fs.nr_open=312)")]


def test_a_running_process_is_held_to_the_limit_it_started_with():
    [message] = refusal([resolver(50)], limits(100, openfiles.RUNNING, 4242))
    assert message.endswith("needs 112 file descriptors; the running one (pid 4242) allows 100, the open files "
                            "limit it started with (stop it, raise the limit, and apply again)")


PROBE = """
import resource
resource.setrlimit(resource.RLIMIT_NOFILE, (100, 200))
from reconciler.kernel.openfiles import for_new_process, raise_limit
found = for_new_process()
print(found.value, *resource.getrlimit(resource.RLIMIT_NOFILE), raise_limit().value)
"""


def test_the_limit_of_a_new_process_is_what_it_raises_to_and_ours_stays_as_it_was():
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    found, soft, hard, raised = map(int, done.stdout.split())
    assert (soft, hard) == (100, 200) and found == raised >= 200


def test_the_demands_are_found_among_thousands_in_desired_order() -> None:
    """Found by their types' places, not by a test of each object: still every one, in order."""
    from reconciler.model import Netns
    others = [Netns(f"ns{i}") for i in range(50)]
    desired = [*others, keeper(3), *others, resolver(2), resolver(5), *others]
    assert descriptors.demands(desired) == [(descriptors.LEASE_KEEPER, 3), (descriptors.RESOLVER, 2), (descriptors.RESOLVER, 5)]
    assert descriptors.demands(others) == []
