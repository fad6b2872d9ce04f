"""The etcd client's codec (URLs, keys, base64, prefix ranges, txn operations), and what push and
`status --fleet` make of what they read: no server needed."""

import base64
import json
import subprocess
import sys

import pytest

from reconciler.errors import UsageError
from reconciler.fleet import push
from reconciler.fleet.status import fleet, key
from reconciler.input import etcd
from reconciler.input.etcd import KV, EtcdURL, Settings, Snapshot


def test_an_etcd_url_names_its_endpoints_and_a_prefix_ending_in_a_slash():
    url = EtcdURL.parse("etcd://h1:2379,h2:2379/netreconcile")
    assert url.endpoints == ("h1:2379", "h2:2379") and url.prefix == "/netreconcile/"
    assert str(url) == "etcd://h1:2379,h2:2379/netreconcile/"
    assert url.name("/netreconcile/net.yaml") == "etcd://h1:2379,h2:2379/netreconcile/net.yaml"
    assert EtcdURL.parse("etcd://h:2379").prefix == "/"
    for bad in ("etcd:///prefix/", "http://h:2379/p/", "etcd://h:2379/p/?x=1"):
        with pytest.raises(UsageError, match="not an etcd source"):
            EtcdURL.parse(bad)


def test_status_keys_and_the_push_marker_are_not_manifests():
    url = EtcdURL.parse("etcd://h:2379/fleet/")
    assert url.manifest("/fleet/net.yaml") and url.manifest("/fleet/sub/a.yaml")
    assert not url.manifest("/fleet/.status/node-a") and not url.manifest("/fleet/.push")
    assert not url.manifest("/fleet/") and not url.manifest("/fleetx/a.yaml") and not url.manifest("/other/a.yaml")


def test_a_prefix_range_ends_just_past_every_key_it_starts():
    assert base64.b64decode(etcd.range_end("/fleet/")) == b"/fleet0"
    assert base64.b64decode(etcd.range_end("é")) == b"\xc3\xaa"   # its last UTF-8 byte, plus one
    assert base64.b64decode(etcd.range_end(b"a\xff\xff")) == b"b"
    assert base64.b64decode(etcd.range_end("")) == b"\0"       # every key


def test_keys_and_values_travel_base64_and_numbers_as_strings():
    item = {"key": etcd.b64("/fleet/é.yaml"), "value": etcd.b64(b"kind: Network\n"), "mod_revision": "42", "lease": "7"}
    assert etcd.kv_of(item) == KV("/fleet/é.yaml", b"kind: Network\n", 42, 7)
    assert etcd.kv_of({"key": etcd.b64("/k")}) == KV("/k", b"", 0, 0)   # the gateway omits zero values
    assert etcd.put("/k", b"v", lease=5) == {"request_put": {"key": "L2s=", "value": "dg==", "lease": "5"}}
    assert etcd.put("/k", b"v") == {"request_put": {"key": "L2s=", "value": "dg=="}}
    assert etcd.delete("/k") == {"request_delete_range": {"key": "L2s="}}
    assert etcd.mod_equals("/k", 0) == {"key": "L2s=", "target": "MOD", "result": "EQUAL", "mod_revision": "0"}
    assert etcd.revision({"header": {"revision": "9"}}) == 9 and etcd.revision({}) == 0


def test_credentials_come_from_etcdctl_s_environment_and_tls_means_https():
    settings = Settings.from_env({"ETCDCTL_CACERT": "/ca.pem", "ETCDCTL_USER": "root:secret", "ETCDCTL_KEY": ""})
    assert settings == Settings(cacert="/ca.pem", user="root:secret") and settings.scheme == "https"
    assert Settings.from_env({}).scheme == "http"


URL = EtcdURL.parse("etcd://h:2379/fleet/")


def test_push_adds_changes_and_deletes_keys_and_leaves_status_keys_alone():
    snapshot = Snapshot(10, (KV("/fleet/a.yaml", b"a", 3), KV("/fleet/b.yaml", b"b", 4), KV("/fleet/c.yaml", b"c", 5),
                             KV("/fleet/.status/node-a", b"{}", 9), KV("/fleet/.push", b"{}", 5)))
    changes = push.diff({"/fleet/a.yaml": b"a", "/fleet/b.yaml": b"B", "/fleet/d.yaml": b"d"}, snapshot, URL)
    assert (changes.add, changes.change, changes.delete) == (("/fleet/d.yaml",), ("/fleet/b.yaml",), ("/fleet/c.yaml",))
    assert (changes.read_at, changes.marker) == (10, 5) and changes
    assert not push.diff({"/fleet/a.yaml": b"a"}, Snapshot(3, (KV("/fleet/a.yaml", b"a", 3),)), URL)


def status(host: str, **body: object) -> KV:
    return KV(key(URL, host), json.dumps({"host": host, "time": "t", "drift": 0, **body}).encode(), 20, 1)


def test_each_declared_host_is_converged_behind_failing_or_silent():
    snapshot = Snapshot(30, (KV("/fleet/net.yaml", b"", 12), KV("/fleet/.push", b"", 12),
                             status("a", revision=14, result="success"), status("b", revision=8, result="success"),
                             status("c", revision=12, result="invalid", error="etcd unreachable"),
                             status("stranger", revision=14, result="success")))
    wanted, states = fleet(["a", "b", "c", "d"], snapshot, URL)
    assert wanted == 12
    assert [(s.host, s.state, s.revision) for s in states] == [
        ("a", "converged", 14), ("b", "behind", 8), ("c", "failing", 12), ("d", "silent", 0)]
    assert str(states[0]) == "a: converged on revision 14 (at t, 0 drifted object(s) repaired)"
    assert str(states[1]) == "b: behind, on revision 8 (manifests at 12; at t, 0 drifted object(s) repaired)"
    assert str(states[2]) == "c: failing (invalid: etcd unreachable)"
    assert str(states[3]).startswith("d: silent")


def test_a_push_that_only_deleted_keys_still_moves_the_manifests_revision():
    snapshot = Snapshot(30, (KV("/fleet/net.yaml", b"", 12), KV("/fleet/.push", b"", 15), status("a", revision=14, result="success")))
    assert snapshot.changed(URL) == 15
    assert fleet(["a"], snapshot, URL)[1][0].state == "behind"


def test_a_command_of_files_loads_no_etcd_module():
    """The command line's start (every command pays it) leaves the etcd client and fleet's modules to a
    command with an etcd source: loading them is 5 to 8 ms of a plan's 0.4 s (issue 23)."""
    loaded = subprocess.run([sys.executable, "-c", "import sys, reconciler.cli.main; print(sorted(sys.modules))"],
                            check=True, capture_output=True, text=True).stdout
    assert "reconciler.input.etcdconf" in loaded
    assert not any(m in loaded for m in ("'reconciler.input.etcd'", "'reconciler.fleet.push'", "'reconciler.fleet.status'"))
