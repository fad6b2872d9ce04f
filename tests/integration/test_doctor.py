"""`netreconcile doctor`: it agrees with `ip link add` tried independently on the running kernel (so
it passes on this machine's kernel, which lacks ipvlan, vlan and dummy, and on Debian's, which has
them), its JSON has the documented shape, and the namespace it runs in is never touched."""

import json
import re

import pytest

from reconciler.cli.render import FORMAT_VERSION
from reconciler.kernel.capabilities import LINK_KINDS, NFT_FEATURES

pytestmark = pytest.mark.kernel

EVERYWHERE = ("bridge", "veth", "vxlan", "macvlan")  # on every kernel we run on
LOWER = "ip link add nrlow type veth peer name nrlow1 && "
TRUTH = {  # each tried by iproute2 in a namespace of its own, nested in the sandbox
    "ipvlan": LOWER + "ip link add link nrlow name nrtry type ipvlan mode l2",
    "vlan": LOWER + "ip link add link nrlow name nrtry type vlan id 5",
    "dummy": "ip link add nrtry type dummy",
}
MODULES = {"ipvlan": "ipvlan", "vlan": "8021q", "dummy": "dummy"}
ENTRY_KEYS = {"supported", "config", "hint", "answer", "probeFailed"}
STATE = "ip -o link; ip -o addr; ip route show table all; ip -6 route show table all; nft list ruleset"


def kernel_has(sandbox, kind: str) -> bool:
    """Whether iproute2 can make a link of `kind`; any refusal but "Unknown device type" fails the test."""
    tried = sandbox.sh(f"unshare --net sh -c '{TRUTH[kind]}'", check=False)
    if tried.returncode != 0:
        assert "Unknown device type" in tried.stderr, tried.stderr
    return tried.returncode == 0


def doctor_json(sandbox) -> dict:
    result = sandbox.nr("doctor", "-o", "json")  # exit 0: the bridge driver has all it needs
    return json.loads(result.stdout)


def test_doctor_agrees_with_ip_link_on_every_kind(sandbox):
    links = {e["kind"]: e for e in doctor_json(sandbox)["links"]}

    for kind in EVERYWHERE:
        assert links[kind]["supported"], links[kind]
    for kind in TRUTH:
        has = kernel_has(sandbox, kind)
        assert links[kind]["supported"] == has, (kind, links[kind])
        if not has:
            assert links[kind]["hint"] == f"modprobe {MODULES[kind]}"
            assert links[kind]["answer"] == "Operation not supported" and not links[kind]["probeFailed"]


def test_doctor_text_is_a_table_with_a_hint_for_each_missing_kind(sandbox):
    text = sandbox.nr("doctor").stdout
    tables, verdict = text.rstrip().rsplit("\n\n", 1)
    rows = {line.split()[0]: line.split() for line in tables.splitlines() if line.strip()}

    assert rows["KIND"] == ["KIND", "SUPPORTED", "CONFIG", "HINT"]
    assert rows["NFTABLES"] == ["NFTABLES", "SUPPORTED", "CONFIG", "HINT"]
    for kind in EVERYWHERE:
        assert rows[kind][1] == "yes"
    for kind in TRUTH:
        expected = ["yes"] if kernel_has(sandbox, kind) else ["no", "modprobe", MODULES[kind]]
        assert rows[kind][1:2] + rows[kind][3:] == expected, rows[kind]
    assert rows["ipvlan"][2] == "CONFIG_IPVLAN" and rows["vlan"][2] == "CONFIG_VLAN_8021Q"
    assert all(rows[feature][1] == "yes" for feature in ("inet", "nat-masquerade", "ct-state"))
    assert verdict == "bridge networks: ready"


def test_doctor_json_shape(sandbox):
    report = doctor_json(sandbox)

    assert set(report) == {"formatVersion", "links", "nftables", "drivers"}
    assert report["formatVersion"] == FORMAT_VERSION
    assert [e["kind"] for e in report["links"]] == list(LINK_KINDS)
    assert [e["feature"] for e in report["nftables"]] == list(NFT_FEATURES)
    for entry in report["links"] + report["nftables"]:
        assert set(entry) - {"kind", "feature"} == ENTRY_KEYS
        assert re.fullmatch(r"CONFIG_[A-Z0-9_]+", entry["config"])
        assert entry["supported"] == (entry["answer"] == "")
    assert report["drivers"] == {"bridge": {"ready": True, "missing": []}}


def test_doctor_never_touches_the_namespace_it_runs_in(sandbox):
    events = sandbox.workdir / "events"
    sandbox.sh(f"ip -o monitor link address route > {events} 2>&1 & echo $! > {sandbox.workdir}/monitor.pid")
    mark(sandbox, events, "nrmark0")  # the monitor listens: it has seen this
    before = sandbox.sh(STATE).stdout

    sandbox.nr("doctor")

    assert sandbox.sh(STATE).stdout == before
    mark(sandbox, events, "nrmark1")  # whatever happened before this has been seen too
    sandbox.sh(f"kill $(cat {sandbox.workdir}/monitor.pid)")
    seen = events.read_text().splitlines()
    start = max(i for i, line in enumerate(seen) if "nrmark0" in line)
    end = min(i for i, line in enumerate(seen) if "nrmark1" in line)
    assert seen[start + 1:end] == []


def mark(sandbox, events, name: str) -> None:
    """Make and remove a bridge in the sandbox, and wait until the monitor has logged its removal."""
    sandbox.sh(f"ip link add {name} type bridge && ip link del {name} && "
               f"for i in $(seq 100); do grep -q 'Deleted.*{name}' {events} && exit 0; "
               f"ip link add {name} type bridge && ip link del {name}; sleep 0.05; done; exit 1")
