"""Drift made by hand is seen by plan and status, and apply repairs it (traffic works again, plan empty)."""

from dataclasses import dataclass

import pytest
from builders import (
    UPLINK_OUT,
    converge,
    endpoint,
    host_veth,
    iface,
    make_outside,
    network,
    out,
    plan,
    status,
    write,
)


@dataclass(frozen=True)
class Drift:
    command: str      # run in the sandbox after a converged apply; {veth} is a's host veth
    names: str        # plan's output must name the drifted object
    title: str        # status row (kind, start of title) ...
    state: str        # ... and its state
    kind: str
    broken: str = ""  # what the drift breaks, checked before repairing: "a-b", "nat", "isolation" (a reaches c)


DRIFTS = {
    "netns-deleted": Drift("ip netns del a", "+ netns a", "a", "missing", "netns", "a-b"),
    "veth-deleted": Drift("ip link del {veth}", "{veth}", "{veth}", "missing", "veth", "a-b"),
    "peer-down": Drift("ip -n a link set eth0 down", "{veth}", "{veth}", "drifted", "veth", "a-b"),
    "address-deleted": Drift("ip -n a addr del 172.20.0.10/24 dev eth0", "172.20.0.10/24 on a/eth0",
                             "172.20.0.10/24 on a/eth0", "missing", "address", "a-b"),
    "default-route-deleted": Drift("ip -n a route del default", "0.0.0.0/0 via 172.20.0.1 dev eth0 in a",
                                   "0.0.0.0/0 via 172.20.0.1 dev eth0 in a", "missing", "route", "nat"),
    "bridge-deleted": Drift("ip link del br-front", "+ bridge br-front", "br-front", "missing", "bridge", "a-b"),
    "bridge-down": Drift("ip link set br-front down", "up: False -> True", "br-front", "drifted", "bridge", "a-b"),
    "bridge-mtu": Drift("ip link set br-front mtu 1400", "mtu: 1400 -> 1500", "br-front", "drifted", "bridge"),
    "gateway-deleted": Drift("ip addr del 172.20.0.1/24 dev br-front", "172.20.0.1/24 on br-front",
                             "172.20.0.1/24 on br-front", "missing", "address", "nat"),
    "ip-forward-off": Drift("sysctl -qw net.ipv4.ip_forward=0", "net.ipv4.ip_forward=1", "net.ipv4.ip_forward",
                            "drifted", "sysctl", "nat"),
    "nft-table-deleted": Drift("nft delete table inet netreconcile", "table inet netreconcile",
                               "table inet netreconcile", "missing", "nft", "isolation"),
    "nft-masquerade-flushed": Drift("nft flush chain inet netreconcile nat-POSTROUTING",
                                    "+ rule nat-POSTROUTING: network/front masquerade-172.20.0.0/24",
                                    "table inet netreconcile", "drifted", "nft", "nat"),
    "nft-rules-inserted": Drift("nft insert rule inet netreconcile filter-FORWARD accept && "
                                "nft insert rule inet netreconcile raw-PREROUTING accept",
                                "table inet netreconcile", "table inet netreconcile", "drifted", "nft", "isolation"),
}


def _manifests(sandbox):
    return write(sandbox, network("front", "172.20.0.0/24"), network("back", "172.21.0.0/24"),
                 endpoint("a", iface("front", "172.20.0.10")), endpoint("b", iface("front", "172.20.0.11")),
                 endpoint("c", iface("back", "172.21.0.10")))


def _works(sandbox) -> None:
    # Within 3 s: the pings that proved the drift broke things left failed ARP entries, which the
    # kernel retries on its own clock (the repair can be quicker than that).
    assert sandbox.ping("a", "172.20.0.11", within=3)
    assert sandbox.ping("a", "172.20.0.1", within=3)
    assert sandbox.ping("a", UPLINK_OUT, within=3)
    assert sandbox.unreachable("a", "172.21.0.10")
    assert sandbox.unreachable("c", "172.20.0.10")


BROKEN = {
    "a-b": lambda sb: sb.unreachable("a", "172.20.0.11"),
    "nat": lambda sb: sb.unreachable("a", UPLINK_OUT),
    "isolation": lambda sb: sb.ping("a", "172.21.0.10"),  # the hole a lost firewall opens
}


@pytest.mark.parametrize("case", DRIFTS, ids=list(DRIFTS))
def test_drift_is_detected_and_repaired(sandbox, case):
    drift = DRIFTS[case]
    make_outside(sandbox)
    path = _manifests(sandbox)
    veth = host_veth(converge(sandbox, path), "a")

    sandbox.sh(drift.command.format(veth=veth))
    if drift.broken:
        assert BROKEN[drift.broken](sandbox), f"the drift should break {drift.broken} (test premise)"

    code, text = plan(sandbox, path)
    assert code == 2, text
    assert drift.names.format(veth=veth) in text, text
    rows = [r for r in status(sandbox, path) if r["kind"] == drift.kind and r["title"].startswith(drift.title.format(veth=veth))]
    assert [r["state"] for r in rows] == [drift.state], rows

    converge(sandbox, path)  # the empty plan after it: every object is in sync again
    _works(sandbox)


def test_status_text_marks_a_missing_veth(sandbox):
    path = _manifests(sandbox)
    veth = host_veth(converge(sandbox, path), "b")
    sandbox.sh(f"ip link del {veth}")
    lines = out(sandbox, f"python3 -m reconciler status {path}").splitlines()
    assert any(line.startswith("missing") and veth in line for line in lines), lines
    assert not any(line.startswith("missing") and "a/eth0" in line for line in lines), lines


def test_port_isolation_of_an_icc_false_network_is_restored(sandbox):
    path = write(sandbox, network("front", "172.20.0.0/24", icc=False),
                 endpoint("a", iface("front", "172.20.0.10")), endpoint("b", iface("front", "172.20.0.11")))
    veth = host_veth(converge(sandbox, path), "a")
    assert "isolated on" in out(sandbox, f"bridge -d link show dev {veth}")
    sandbox.sh(f"bridge link set dev {veth} isolated off")

    code, text = plan(sandbox, path)
    assert code == 2 and veth in text and "isolated: False -> True" in text, text
    converge(sandbox, path)
    assert "isolated on" in out(sandbox, f"bridge -d link show dev {veth}")
    assert sandbox.unreachable("a", "172.20.0.11")
    assert sandbox.ping("a", "172.20.0.1")
