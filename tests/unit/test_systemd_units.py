"""The systemd units in contrib/ pass `systemd-analyze verify`: with netreconcile found where a pipx
or pip install puts it (/usr/local/bin), through systemd's own search path and no hard-coded folder,
and the man pages their Documentation= names installed (/usr/local/share/man). Both are put there in
a private mount namespace (tmpfs over the two folders), so the machine's own are never touched."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.cli import manifests_page, manpage

REPO = Path(__file__).resolve().parents[2]
UNITS = sorted((REPO / "contrib").glob("*.service"))
EXECUTABLE = Path(sys.executable).parent / "netreconcile"  # the entry point pip installed beside this Python

pytestmark = [
    pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze (Debian package systemd) is not installed"),
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for a private mount namespace"),
]


def verify(unit: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    (tmp_path / "man8").mkdir(exist_ok=True)
    (tmp_path / "man5").mkdir(exist_ok=True)
    (tmp_path / "man8" / "netreconcile.8").write_text(manpage.page())
    (tmp_path / "man5" / "netreconcile-manifests.5").write_text(manifests_page.page())
    script = ("set -e; mount -t tmpfs none /usr/local/bin; ln -s \"$1\" /usr/local/bin/netreconcile; "
              "mkdir -p /usr/local/share/man; mount --bind \"$2\" /usr/local/share/man; "
              "systemd-analyze verify \"$3\"")
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
                           str(EXECUTABLE), str(tmp_path), str(unit)],
                          capture_output=True, text=True, timeout=120, check=False,
                          env={"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "LC_ALL": "C"})


def test_there_are_the_watch_and_the_boot_time_apply_units():
    assert {u.name for u in UNITS} >= {"netreconcile-watch.service", "netreconcile-apply.service"}


@pytest.mark.parametrize("unit", UNITS, ids=[u.name for u in UNITS])
def test_unit_verifies(unit, tmp_path):
    assert EXECUTABLE.exists(), f"{EXECUTABLE}: install the package (pip install -e .)"
    result = verify(unit, tmp_path)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
    assert "/opt/" not in "".join(line for line in unit.read_text().splitlines(True) if not line.startswith("#"))


def test_the_boot_apply_is_a_oneshot_before_network_online_applying_etc_netreconcile():
    text = (REPO / "contrib" / "netreconcile-apply.service").read_text()
    for line in ("Type=oneshot", "RemainAfterExit=yes", "Before=network-online.target",
                 "ExecStart=netreconcile apply /etc/netreconcile/manifests", "WantedBy=multi-user.target"):
        assert f"\n{line}\n" in text, line


@pytest.mark.parametrize("unit", UNITS, ids=[u.name for u in UNITS])
def test_units_allow_the_descriptors_of_ten_thousand_endpoints(unit):
    """The resolver holds two per namespace served (20,012 at 10,000), the lease keeper three per interface."""
    limits = [int(line.split("=")[1]) for line in unit.read_text().splitlines() if line.startswith("LimitNOFILE=")]
    assert limits and limits[0] >= 3 * 10000 + 12, unit.name
