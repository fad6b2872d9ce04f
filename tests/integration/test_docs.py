"""The tutorials of docs/tutorials/ run as written (tests/docs.py): every command they show, with
the output they show, against the real kernel in a sandbox; the parts that need the VM's kernel are
in test_docs_vm.py. Setup a reader's machine already has (an uplink, a LAN, several hosts) is made
here, hidden from the tutorial, which says what it stands for.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from builders import make_outside
from jsonschema import Draft202012Validator

from docs import (
    REPO,
    listing_problems,
    make_lan,
    matches,
    parse,
    run_tutorial,
    stop_processes,
)

TUTORIALS = REPO / "docs" / "tutorials"
# Each tutorial and where its test is: here (the running kernel) or in test_docs_vm.py (the VM's).
ON_THIS_KERNEL = {"bridge", "services", "overlay", "macvlan", "macvlan-dhcp", "routing-mesh", "fleet"}
IN_THE_VM = {"macvlan-8021q", "ipvlan"}
SCHEMA_LINE = "# yaml-language-server: $schema="


def tutorial(name: str) -> Path:
    return TUTORIALS / name / "README.md"


def manifest_files() -> list[Path]:
    return sorted([*(REPO / "manifests").rglob("*.y*ml"), *(REPO / "docs").rglob("*.y*ml")])


# The conventions, on small examples (no kernel needed).

def test_placeholders_stand_for_any_lines_or_any_text_within_a_line():
    assert matches(["a", "...", "z"], ["a", "b", "c", "z"]) and matches(["a", "...", "z"], ["a", "z"])
    assert matches(["time=... ms"], ["time=0.083 ms"]) and not matches(["time=... ms"], ["time=0.083 s"])
    assert not matches(["a", "z"], ["a", "b", "z"]) and not matches(["a"], ["a", "b"])
    assert not matches(["a ... b"], ["a x", "y b"])   # text placeholders never span lines


def test_console_blocks_split_into_commands_with_their_output_and_exit_status(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("Intro\n\n```console\n$ one \\\n  --flag\nout 1\n\n[2]\nhost1$ two\n```\n\n"
                    "`docs/x.yaml`:\n```yaml\nkey: value\n```\n")
    first, second = parse(page).commands
    assert (first.host, first.line, first.expected, first.exit_code) == ("", "one \n  --flag", ("out 1",), 2)
    assert (second.host, second.line, second.expected, second.exit_code) == ("host1", "two", (), 0)
    (shown,) = parse(page).listings
    assert (shown.path, shown.text) == ("docs/x.yaml", "key: value\n")


def test_a_yaml_block_must_name_its_file(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("Some text:\n```yaml\nkey: value\n```\n")
    with pytest.raises(ValueError, match="page.md:2: a yaml block must follow a line `PATH`: naming its file"):
        parse(page)


# The tutorials as files: each run by a test, each manifest shown and as shown, valid, and known to editors.

def test_every_tutorial_is_run_by_a_test():
    assert {path.parent.name for path in TUTORIALS.glob("*/README.md")} == ON_THIS_KERNEL | IN_THE_VM


@pytest.mark.parametrize("name", sorted(ON_THIS_KERNEL | IN_THE_VM))
def test_every_manifest_of_a_tutorial_is_shown_in_it_as_it_is(name):
    shown = {listing.path for page in (TUTORIALS / name).glob("*.md") for listing in parse(page).listings}
    files = {str(path.relative_to(REPO)) for path in (TUTORIALS / name).rglob("*.y*ml")}
    assert files and files == shown
    assert listing_problems(parse(tutorial(name))) == []


def test_every_manifest_names_its_schema_for_editors_and_docs_name_the_bundled_one():
    for path in manifest_files():
        first = path.read_text().splitlines()[0]
        assert first.startswith(SCHEMA_LINE), f"{path}: the first line is not {SCHEMA_LINE}..."
        schema = (path.parent / first.removeprefix(SCHEMA_LINE)).resolve()
        assert schema.is_file(), f"{path}: {schema} does not exist"
        if path.is_relative_to(REPO / "docs"):
            assert schema == REPO / "schemas" / "manifest.schema.json", path


def test_the_tutorials_manifests_are_valid_for_editors_and_for_netreconcile():
    validator = Draft202012Validator(json.loads((REPO / "schemas" / "manifest.schema.json").read_text()))
    folders = sorted({path.parent for path in TUTORIALS.rglob("*.y*ml")})
    for folder in folders:
        for path in folder.glob("*.y*ml"):
            for document in yaml.safe_load_all(path.read_text()):
                assert not list(validator.iter_errors(document)), path
        result = subprocess.run([sys.executable, "-m", "reconciler", "validate", str(folder)],
                                check=False, capture_output=True, text=True, cwd=REPO)
        assert result.returncode == 0, f"{folder}: {result.stderr}"


# The tutorials, run.


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


def test_routing_mesh_tutorial(sandbox):
    from cluster import Cluster

    cluster = Cluster(sandbox, names=("manager1", "worker1", "worker2"))   # 10.10.0.11, .12, .13 on one underlay
    try:
        run_tutorial(tutorial("routing-mesh"), {host.name: host for host in cluster})
    finally:
        for host in cluster:
            stop_processes(host)
        cluster.close()


def test_fleet_tutorial(sandbox):
    from cluster import Cluster
    from test_fleet import Etcd

    cluster = Cluster(sandbox, names=("host1", "host2", "host3"))   # eth1 10.10.0.11, .12, .13 on one underlay
    etcd = Etcd(sandbox)   # etcd at 10.10.0.2 on the underlay bridge, its data in the test's tmp dir
    try:
        etcd.start()
        run_tutorial(tutorial("fleet"), {host.name: host for host in cluster})
    finally:
        etcd.stop()
        for host in cluster:
            stop_processes(host)
        cluster.close()


def test_macvlan_tutorial(sandbox):
    make_lan(sandbox, router="172.16.86.1/24", host="172.16.86.10/24")   # eth1, on a LAN with its router
    try:
        run_tutorial(tutorial("macvlan"), {"": sandbox})
    finally:
        stop_processes(sandbox)


def test_macvlan_dhcp_tutorial(sandbox, tmp_path):
    make_lan(sandbox, router="172.16.86.1/24", host="172.16.86.10/24")   # eth1, on a LAN with its router
    sandbox.sh("ip netns exec lan dnsmasq --port=0 --interface=lanbr --bind-interfaces --no-ping "   # its DHCP server
               "--dhcp-range=172.16.86.100,172.16.86.199,255.255.255.0,2m --dhcp-option=option:router,172.16.86.1 "
               f"--dhcp-leasefile={tmp_path}/leases --pid-file={tmp_path}/dnsmasq.pid")
    try:
        run_tutorial(tutorial("macvlan-dhcp"), {"": sandbox})
        assert (tmp_path / "leases").read_text() == ""   # destroy released the lease
    finally:
        stop_processes(sandbox)
