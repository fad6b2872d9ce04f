"""Manifests that used to apply and cut the host off, or to fail half-way and roll back (issue 15):
validate, plan and apply now refuse each with its file, line and object, exit 1, and change nothing."""

import re

import pytest
from builders import (
    assert_unchanged,
    converge,
    endpoint,
    iface,
    lower_network,
    network,
    run_fails_cleanly,
    snapshot,
    text,
)

KERNEL = ("ip -d link show", "ip addr", "ip route", "ip netns list", "nft list ruleset", "ls -la /run/netns /etc/netns")
BASE = (network("front", "172.20.0.0/24"), endpoint("e0", iface("front", "172.20.0.10")))


def with_spec(doc: dict, **spec) -> dict:
    doc["spec"].update(spec)
    return doc


def crowd(count: int) -> list[dict]:
    return [endpoint(f"c{i}", "big") for i in range(count)]


CASES = {  # the documents added to BASE, and what the refusal says (subject: message fragment)
    "whole-internet": ([network("all", "0.0.0.0/0"), endpoint("a", "all")],
                       "Network/all: subnet 0.0.0.0/0 overlaps 127.0.0.0/8 (loopback)"),
    "link-local-subnet": ([network("ll", "169.254.7.0/24")], "Network/ll: subnet 169.254.7.0/24 overlaps 169.254.0.0/16"),
    "host-bits": ([network("hb", "10.88.0.77/24")], "Network/hb: subnet 10.88.0.77/24 has host bits set: the network is 10.88.0.0/24"),
    "dot-in-bridge-name": ([network("dot", "10.1.0.0/24", bridge="br.dot"), endpoint("d", "dot")],
                           "Network/dot: bridge name 'br.dot' contains '.'"),
    "dot-in-network-name": ([network("a.b", "10.1.0.0/24"), endpoint("d", "a.b")],
                            "Network/a.b: bridge name 'br-a.b' (the default, br-<network>: set spec.bridge.name) contains '.'"),
    "dot-in-interface-name": ([endpoint("d", iface("front", name="eth0.1"))], "Endpoint/d: interface name 'eth0.1' contains '.'"),
    "mtu-below-1280": ([network("small", "10.1.0.0/24", mtu=1279), endpoint("d", "small")],
                       "Network/small: spec.mtu: 1279 is less than the minimum of 1280"),
    "bridge-all": ([network("x", "10.1.0.0/24", bridge="all")], "Network/x: bridge name 'all' is reserved by the kernel"),
    "bridge-like-ours": ([network("x", "10.1.0.0/24", bridge="nr-0123456789")],
                         "Network/x: bridge name 'nr-0123456789' looks like a link netreconcile makes itself"),
    "interface-lo": ([endpoint("d", iface("front", name="lo"))], "Endpoint/d: interface name 'lo' is reserved by the kernel"),
    "multicast-mac": ([endpoint("d", {"network": "front", "macAddress": "01:00:5e:00:00:01"})],
                      "Endpoint/d: macAddress 01:00:5e:00:00:01 is a multicast address"),
    "zero-mac": ([endpoint("d", {"network": "front", "macAddress": "00:00:00:00:00:00"})],
                 "Endpoint/d: macAddress 00:00:00:00:00:00 is all zeros"),
    "netns-256-bytes": ([endpoint("d", "front", netns="é" * 128)], "Endpoint/d: netns is 256 bytes long"),
    "netns-escape": ([endpoint("d", "front", netns="d\x1b]0;pwned\x07")],
                     "Endpoint/d: spec.netns: value 'd\\x1b]0;pwned\\x07' holds the control character U+001B"),
    "sysctl-slash": ([endpoint("d", "front", sysctls={"net.ipv4.tcp_congestion_control": "../x"})],
                     "Endpoint/d: sysctls.net.ipv4.tcp_congestion_control: the value '../x' contains '/'"),
    "sysctl-empty-component": ([endpoint("d", "front", sysctls={"net..ipv4": "1"})], "Endpoint/d: spec.sysctls: 'net..ipv4' does not match"),
    "alias-localhost": ([endpoint("d", {"network": "front", "aliases": ["localhost"]})],
                        "Endpoint/d: alias 'localhost' is a name every hosts file already gives the loopback"),
    "alias-of-another": ([endpoint("d", {"network": "front", "aliases": ["e0"]})],
                         "Endpoint/d: alias 'e0' is already the name of endpoint 'e0' on network 'front'"),
    "parent-our-bridge": ([lower_network("m", "macvlan", "192.168.9.0/24", parent="br-front"), endpoint("d", "m")],
                          "Network/m: parent 'br-front' is the bridge of network 'front'"),
    "parent-like-ours": ([lower_network("m", "macvlan", "192.168.9.0/24", parent="nr-d5b8ee8992"), endpoint("d", "m")],
                         "Network/m: parent 'nr-d5b8ee8992' looks like a link netreconcile makes itself"),
    "sysctl-of-another-interface": ([endpoint("d", "front", sysctls={"net.ipv4.conf.eth5.rp_filter": "1"})],
                                    "Endpoint/d: sysctls.net.ipv4.conf.eth5.rp_filter: 'eth5' is not an interface of this endpoint (it has eth0, lo)"),
    "sysctl-disable-ipv6": ([endpoint("d", "front", sysctls={"net.ipv6.conf.eth0.disable_ipv6": "0"})],
                            "Endpoint/d: sysctls.net.ipv6.conf.eth0.disable_ipv6: netreconcile sets it on every interface it makes"),
    "1024-endpoints-on-a-bridge": ([network("big", "10.2.0.0/16"), *crowd(1024)],
                                   "Network/big: 1024 endpoints attach to network 'big': a Linux bridge holds 1023 ports"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_manifest_that_cannot_be_applied_is_refused_before_any_change(sandbox, case):
    docs, said = CASES[case]
    path = sandbox.write("m/net.yaml", text(*BASE))
    converge(sandbox, path)
    before = snapshot(sandbox, *KERNEL)

    sandbox.write("m/net.yaml", text(*BASE, *docs))
    for command in ("validate", "plan", "apply"):
        stderr = run_fails_cleanly(sandbox, command, str(path))
        assert re.search(rf"^{re.escape(str(path))}:\d+:\d+: {re.escape(said)}", stderr, re.MULTILINE), stderr
        assert "nothing was changed" in stderr, stderr
    assert_unchanged(sandbox, before)


def test_a_key_written_twice_is_refused_naming_both_lines(sandbox):
    path = sandbox.write("m/net.yaml", text(*BASE))
    converge(sandbox, path)
    before = snapshot(sandbox, *KERNEL)
    sandbox.write("m/net.yaml", text(*BASE).replace("  driver: bridge\n", "  driver: bridge\n  mtu: 9000\n  mtu: 1400\n"))
    for command in ("validate", "plan", "apply"):
        stderr = run_fails_cleanly(sandbox, command, str(path))
        assert f"{path}:8:3: Network/front: invalid YAML: key 'mtu' is written twice in one mapping (first at line 7, column 3" in stderr
    assert_unchanged(sandbox, before)


def test_blank_runs_in_a_sysctl_value_apply_and_stay_converged(sandbox):
    """The kernel reads "0  2147483647" back as "0 2147483647": the value is compared as it reads it back."""
    path = sandbox.write("m/net.yaml", text(BASE[0], endpoint("e0", "front", sysctls={"net.ipv4.ping_group_range": "0   2147483647"})))
    converge(sandbox, path)
    assert sandbox.sh("ip netns exec e0 sysctl -n net.ipv4.ping_group_range").stdout.split() == ["0", "2147483647"]


def test_a_linux_bridge_holds_exactly_the_ports_validation_allows(sandbox):
    """The kernel's limit itself (BR_MAX_PORTS, port 0 unused), pinned: the 1024th port is refused."""
    from reconciler.input.validate_limits import BRIDGE_PORTS

    batch = "link add br0 type bridge\n" + "".join(f"link add p{i} type veth peer name q{i}\nlink set p{i} master br0\n"
                                                   for i in range(BRIDGE_PORTS + 1))
    sandbox.write("batch", batch)
    result = sandbox.sh(f"ip -force -batch {sandbox.workdir / 'batch'}", check=False)
    assert "Exchange full" in result.stderr, result.stderr
    assert len(sandbox.sh("ip -o link show master br0").stdout.splitlines()) == BRIDGE_PORTS


def test_a_parent_that_other_manifests_made_is_refused_at_plan_time(sandbox):
    """A bridge of another set of manifests is ours too: replaced or deleted with them, it would take the
    macvlan links on it along."""
    other = sandbox.write("other/net.yaml", text(network("lan", "172.21.0.0/24", bridge="lanbr")))
    converge(sandbox, other)
    path = sandbox.write("m/net.yaml", text(lower_network("m", "macvlan", "192.168.9.0/24", parent="lanbr"), endpoint("d", "m")))
    before = snapshot(sandbox, *KERNEL)
    assert sandbox.nr("validate", str(path)).returncode == 0
    for command in ("plan", "apply"):
        stderr = run_fails_cleanly(sandbox, command, str(path))
        assert ("error: network m: parent lanbr is a bridge that netreconcile manages: a parent must be a link of the host "
                "that netreconcile does not manage") in stderr, stderr
        assert "Nothing was changed." in stderr, stderr
    assert_unchanged(sandbox, before)


# --- MTUs below IPv6's minimum, reached at plan time --------------------------------------------------------

def underlay(sandbox, mtu: int, address: str) -> None:
    """The host's underlay `ul0`: a veth into namespace `lan`, up, with `address` (a CIDR) and `mtu`."""
    family = "-6 " if ":" in address else ""
    sandbox.sh(f"ip netns add lan && ip link add ul0 mtu {mtu} type veth peer name eth0 netns lan && "
               f"ip link set ul0 up && ip {family}addr add {address} dev ul0 nodad")


def on_host(address: str, *docs: dict) -> str:
    host = {"apiVersion": "netreconcile/v1", "kind": "Host", "metadata": {"name": "node-a"},
            "spec": {"underlay": {"address": address}}}
    for doc in docs:
        if doc["kind"] == "Endpoint":
            doc["spec"]["host"] = "node-a"
    return text(host, *docs)


def overlay(name: str, subnet: str) -> dict:
    return {"apiVersion": "netreconcile/v1", "kind": "Network", "metadata": {"name": name},
            "spec": {"driver": "overlay", "ipam": {"subnet": subnet}}}


def refused_at_plan(sandbox, path, said: str) -> None:
    """validate accepts; plan and apply refuse, naming the file and line, and change nothing."""
    before = snapshot(sandbox, *KERNEL)
    assert sandbox.nr("validate", str(path)).returncode == 0
    for command in ("plan", "apply"):
        stderr = run_fails_cleanly(sandbox, command, str(path))
        assert re.search(rf"^error: {said}", stderr, re.MULTILINE), stderr
        assert "Nothing was changed." in stderr, stderr
    assert_unchanged(sandbox, before)


def test_an_overlay_whose_underlay_leaves_less_than_1280_is_refused_and_1280_works(sandbox):
    underlay(sandbox, 1329, "10.10.0.11/24")
    path = sandbox.write("m/net.yaml", on_host("10.10.0.11", overlay("appnet", "10.200.0.0/24"), endpoint("a", "appnet")))
    refused_at_plan(sandbox, path, re.escape(
        f"network appnet ({path}:12): the underlay ul0 of host node-a has mtu 1329, which leaves 1279 for the overlay "
        "(VXLAN needs 50 bytes), below IPv6's minimum of 1280") + ".*: raise ul0's mtu to at least 1330$")
    sandbox.sh("ip link set ul0 mtu 1330")
    converge(sandbox, path)
    assert "mtu 1280 " in sandbox.sh("ip -n a link show eth0").stdout


def test_an_overlay_over_an_ipv6_underlay_counts_70_bytes_of_headers(sandbox):
    underlay(sandbox, 1349, "fd10::11/64")
    path = sandbox.write("m/net.yaml", on_host("fd10::11", overlay("appnet", "10.200.0.0/24"), endpoint("a", "appnet")))
    refused_at_plan(sandbox, path, re.escape(
        f"network appnet ({path}:12): the underlay ul0 of host node-a has mtu 1349, which leaves 1279 for the overlay "
        "(VXLAN needs 70 bytes)"))


def test_a_macvlan_network_takes_its_parents_mtu_which_must_be_1280_at_least_and_not_smaller_than_its_own(sandbox):
    underlay(sandbox, 1279, "192.168.60.10/24")
    lan = lower_network("lan", "macvlan", "192.168.60.0/24", parent="ul0")
    path = sandbox.write("m/net.yaml", text(lan, endpoint("a", iface("lan", "192.168.60.21"))))
    refused_at_plan(sandbox, path, re.escape(
        f"network lan ({path}:10): parent ul0 has mtu 1279, which its macvlan links take, below IPv6's minimum of 1280"))

    sandbox.sh("ip link set ul0 mtu 1400")
    lan["spec"]["mtu"] = 1500
    path = sandbox.write("m/net.yaml", text(lan, endpoint("a", iface("lan", "192.168.60.21"))))
    refused_at_plan(sandbox, path, re.escape(
        f"network lan ({path}:11): mtu 1500 is larger than parent ul0's (1400): the kernel refuses a macvlan link "
        "larger than its parent"))

    lan["spec"]["mtu"] = 1400
    converge(sandbox, sandbox.write("m/net.yaml", text(lan, endpoint("a", iface("lan", "192.168.60.21")))))


# --- endpoint sysctls this kernel refuses, found at plan time in a throwaway namespace ---------------------

SYSCTL_REFUSALS = {  # the sysctl -> what the refusal says
    ("net.ipv4.nonexistent", "1"): "this kernel has no such sysctl",
    ("net.ipv4.conf", "1"): "names a folder of sysctls, not a sysctl",
    ("net.core.rmem_max", "100000"): "the kernel lets only the machine's initial network namespace write it (Permission denied)",
    ("net.ipv4.tcp_syncookies", "abc"): "the kernel refuses the value 'abc' (Invalid argument)",
    ("net.ipv4.ip_local_port_range", "60000 1000"): "the kernel refuses the value '60000 1000' (Invalid argument)",
    ("net.ipv4.ping_group_range", "5 1"): "the kernel takes the value '5 1' but reads it back as '1 0': write '1 0'",
    ("net.ipv4.ip_forward", "0x1"): "the kernel takes the value '0x1' but reads it back as '1': write '1'",
    ("net.ipv4.route.flush", "1"): "cannot be read back (Permission denied)",
    ("net.ipv4.conf.eth0.forwarding", "2x"): "the kernel refuses the value '2x' (Invalid argument)",
}


@pytest.mark.parametrize("key, value", sorted(SYSCTL_REFUSALS), ids=[k for k, _ in sorted(SYSCTL_REFUSALS)])
def test_an_endpoint_sysctl_the_kernel_refuses_is_refused_at_plan_time_at_its_line(sandbox, key, value):
    path = sandbox.write("m/net.yaml", text(*BASE))
    converge(sandbox, path)
    sandbox.write("m/net.yaml", text(*BASE, endpoint("d", "front", sysctls={key: value})))
    line = next(n for n, text_line in enumerate(path.read_text().splitlines(), 1) if text_line.strip().startswith(f"{key}:"))
    refused_at_plan(sandbox, path, re.escape(f"endpoint d ({path}:{line}): sysctls.{key}: {SYSCTL_REFUSALS[key, value]}"))


def test_sysctls_the_kernel_takes_as_written_apply(sandbox):
    """What the probe lets through, the apply writes and the next plan finds converged."""
    sysctls = {"net.ipv4.ip_forward": "7", "net.ipv4.ping_group_range": "0 1000", "net.ipv4.ip_unprivileged_port_start": "80",
               "net.ipv4.conf.all.rp_filter": 2, "net.ipv4.conf.lo.rp_filter": "1", "net.ipv6.conf.eth0.accept_ra": "0"}
    converge(sandbox, sandbox.write("m/net.yaml", text(BASE[0], endpoint("d", "front", sysctls=sysctls))))
    assert sandbox.sh("ip netns exec d sysctl -n net.ipv4.ip_forward net.ipv4.conf.lo.rp_filter").stdout.split() == ["7", "1"]


def test_the_sysctl_of_an_interface_is_written_once_the_interface_is_made_and_again_when_it_is_remade(sandbox):
    path = sandbox.write("m/net.yaml", text(BASE[0], endpoint("d", "front", sysctls={"net.ipv4.conf.eth0.rp_filter": "2"})))
    report = converge(sandbox, path)
    assert report.index("veth ") < report.index("sysctl net.ipv4.conf.eth0.rp_filter=2"), report
    assert sandbox.sh("ip netns exec d sysctl -n net.ipv4.conf.eth0.rp_filter").stdout.strip() == "2"
    sandbox.sh("ip -n d link del eth0")
    report = converge(sandbox, path)
    assert "+ sysctl net.ipv4.conf.eth0.rp_filter=2 (netns d)" in report, report
    assert sandbox.sh("ip netns exec d sysctl -n net.ipv4.conf.eth0.rp_filter").stdout.strip() == "2"
