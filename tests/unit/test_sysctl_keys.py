"""A sysctl key only ever reaches files below /proc/sys/net, whoever passes it (a manifest, the record
of the last apply, an applier): a key that could name anything else is refused before any open."""

from __future__ import annotations

import pytest

from reconciler.errors import NetreconcileError
from reconciler.kernel.netns import read_sysctl, sysctl_path, write_sysctl

ESCAPES = ["/etc/hostname", "net/../../etc/hostname", "net.ipv4.conf.x/../../..", "net..ipv4", "net.ipv4.", ".net.ipv4",
           "net.ipv4.ip_forward\0", "net", "kernel.hostname", ""]


@pytest.mark.parametrize("key", ESCAPES)
def test_a_key_that_could_leave_proc_sys_net_names_no_path(key):
    with pytest.raises(NetreconcileError, match="not a key under /proc/sys/net"):
        sysctl_path(key)


def test_keys_name_their_file_below_proc_sys_net():
    assert sysctl_path("net.ipv4.conf.all.forwarding") == "/proc/sys/net/ipv4/conf/all/forwarding"


# Only paths in the test's own folder are tried for real: a regression must not write the machine's files.
def test_an_absolute_key_neither_reads_nor_writes_the_file_it_names(tmp_path):
    secret, made = tmp_path / "secret", tmp_path / "made"
    secret.write_text("root:x:0:0\n")
    for key in (str(secret), str(made)):
        with pytest.raises(NetreconcileError):
            read_sysctl(key)
        with pytest.raises(NetreconcileError):
            write_sysctl(key, "gone")
    assert secret.read_text() == "root:x:0:0\n" and not made.exists()


def test_a_valid_key_reads_its_value_and_a_missing_one_reads_none():
    assert read_sysctl("net.ipv4.ip_forward") in ("0", "1")
    assert read_sysctl("net.ipv4.conf.all.no_such_setting") is None
