"""kernel/netns.list_names: the named namespaces are the mount points of the folder, one stat each:
a leftover plain file, a folder or a symbolic link there is no namespace."""

from __future__ import annotations

import os
from pathlib import Path

from reconciler.kernel import netns


def mount_points(folder: Path) -> list[str]:
    """What os.path.ismount says, entry by entry (the definition list_names had)."""
    return sorted(p.name for p in folder.iterdir() if os.path.ismount(p))


def test_only_mount_points_are_named_namespaces(monkeypatch, tmp_path):
    (tmp_path / "leftover").write_text("")
    (tmp_path / "folder").mkdir()
    (tmp_path / "link").symlink_to("/proc/self/ns/net")
    monkeypatch.setattr(netns, "NETNS_DIR", tmp_path)
    assert netns.list_names() == [] == mount_points(tmp_path)
    monkeypatch.setattr(netns, "NETNS_DIR", Path("/"))  # /proc, at least, is mounted there
    assert "proc" in netns.list_names()
    assert netns.list_names() == mount_points(Path("/"))
    monkeypatch.setattr(netns, "NETNS_DIR", tmp_path / "missing")
    assert netns.list_names() == []
