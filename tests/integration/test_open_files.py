"""Our long-running processes hold descriptors for what they serve (the resolver: a UDP and a TCP
socket in every endpoint's namespace): an apply whose resolver would run out of them under the open
files limit it will have is refused before anything changes, not failed after minutes of work."""

from __future__ import annotations

import json
import shlex
import sys

import pytest
from builders import (
    assert_unchanged,
    endpoint,
    iface,
    make_lan,
    network,
    out,
    snapshot,
    write,
)
from dhcpservers import Dnsmasq, dhcp_network
from sandbox import Sandbox

pytestmark = pytest.mark.kernel

ENDPOINTS = 10
NEEDED = 2 * ENDPOINTS + 12  # two sockets per namespace served, and the resolver's own


def limited(sandbox: Sandbox, limit: int, *args: str):
    """netreconcile ARGS with its open files limit (soft and hard) at `limit`; the resolver it starts inherits it."""
    command = " ".join(shlex.quote(a) for a in ("prlimit", f"--nofile={limit}:{limit}", sys.executable, "-m", "reconciler", *args))
    return sandbox.sh(command, check=False)


def manifests(sandbox: Sandbox, endpoints: int = ENDPOINTS):
    return write(sandbox, network("front", "172.20.0.0/24"),
                 *(endpoint(f"e{i}", iface("front", f"172.20.0.{10 + i}")) for i in range(endpoints)))


def test_an_apply_whose_resolver_would_run_out_of_descriptors_is_refused_and_one_just_within_works(sandbox):
    path = manifests(sandbox)
    before = snapshot(sandbox, "ip -o link", "ip netns list", "nft list tables", "ls /run/netreconcile/resolver")
    message = (f"the DNS resolver would serve {ENDPOINTS} namespaces and needs {NEEDED} file descriptors; this host "
               f"allows {NEEDED - 1} (RLIMIT_NOFILE hard limit; raise it, e.g. LimitNOFILE= in the systemd unit, "
               "or run with CAP_SYS_RESOURCE)")
    for command in ("plan", "apply"):
        refused = limited(sandbox, NEEDED - 1, command, str(path))
        assert refused.returncode == 1, f"{command}: exit {refused.returncode}\n{refused.stdout}\n{refused.stderr}"
        assert message in refused.stderr and "Traceback" not in refused.stderr, refused.stderr
    shown = limited(sandbox, NEEDED - 1, "status", str(path))
    assert f"error: {message}" in shown.stdout + shown.stderr, shown.stdout + shown.stderr
    assert_unchanged(sandbox, before)
    done = limited(sandbox, NEEDED, "apply", str(path))
    assert done.returncode == 0, done.stderr
    served = json.loads(out(sandbox, "cat /run/netreconcile/resolver/status.json"))["serving"]
    assert sorted(served) == sorted(f"e{i}" for i in range(ENDPOINTS))
    for i in range(ENDPOINTS):
        peer = (i + 1) % ENDPOINTS
        answer = out(sandbox, f"ip netns exec e{i} dig +time=2 +tries=1 +short @127.0.0.11 e{peer}").split()
        assert answer == [f"172.20.0.{10 + peer}"], (i, answer)


def test_a_running_resolver_is_held_to_the_limit_it_started_with(sandbox):
    assert limited(sandbox, NEEDED, "apply", str(manifests(sandbox))).returncode == 0
    pid = json.loads(out(sandbox, "cat /run/netreconcile/resolver/status.json"))["pid"]
    more = manifests(sandbox, ENDPOINTS + 1)  # a reload (SIGHUP) keeps the running resolver and its limit
    before = snapshot(sandbox, "ip -o link", "ip netns list", "nft list ruleset", "cat /run/netreconcile/resolver/status.json")
    refused = limited(sandbox, 1000, "apply", str(more))
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert (f"the DNS resolver would serve {ENDPOINTS + 1} namespaces and needs {NEEDED + 2} file descriptors; the "
            f"running one (pid {pid}) allows {NEEDED}, the open files limit it started with (stop it, raise the "
            "limit, and apply again)") in refused.stderr, refused.stderr
    assert_unchanged(sandbox, before)


def test_the_lease_keeper_needs_three_descriptors_per_interface(sandbox, tmp_path):
    make_lan(sandbox)
    Dnsmasq(sandbox, tmp_path).start()
    clients = 6
    need = 3 * clients + 12  # a UDP, a packet and an rtnetlink socket per interface (the resolver: 2 per namespace)
    path = write(sandbox, dhcp_network(), *(endpoint(f"d{i}", {"network": "lan60"}) for i in range(clients)))
    before = snapshot(sandbox, "ip -o link", "ip netns list", "nft list tables", "ls /run/netreconcile/dhcp")
    refused = limited(sandbox, need - 1, "apply", str(path))
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert (f"error: the DHCP lease keeper would keep leases on {clients} interfaces and needs {need} file descriptors; "
            f"this host allows {need - 1} (RLIMIT_NOFILE hard limit;") in refused.stderr, refused.stderr
    assert "DNS resolver" not in refused.stderr
    assert_unchanged(sandbox, before)
    done = limited(sandbox, need, "apply", str(path))
    assert done.returncode == 0, done.stderr
    status = json.loads(out(sandbox, "cat /run/netreconcile/dhcp/status.json"))
    assert sorted(status["clients"]) == [f"d{i}/eth0" for i in range(clients)] and not status["failed"], status
