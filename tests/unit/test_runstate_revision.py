"""The git revision a reconcile records: git is asked only where it could find a checkout (asking forks
the process, on every reconcile of the watch), and gives the commit, with -dirty, where it does."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from reconciler.kernel import runstate


def test_manifests_outside_any_checkout_have_no_revision_and_git_is_not_asked(tmp_path: Path, monkeypatch):
    (tmp_path / "m.yaml").write_text("kind: Network\n")
    monkeypatch.delenv("GIT_DIR", raising=False)
    monkeypatch.delenv("GIT_WORK_TREE", raising=False)
    asked: list[object] = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: asked.append(a) or pytest.fail("git was asked"))
    assert runstate.revision([str(tmp_path / "m.yaml"), str(tmp_path)]) is None
    assert asked == []


def test_manifests_in_a_checkout_record_its_commit_and_local_changes(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("GIT_DIR", raising=False)
    monkeypatch.delenv("GIT_WORK_TREE", raising=False)
    folder = tmp_path / "repo" / "manifests"
    folder.mkdir(parents=True)
    (folder / "m.yaml").write_text("kind: Network\n")
    git = ["git", "-C", str(tmp_path / "repo"), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    assert runstate.revision([str(folder)]) == head
    (folder / "m.yaml").write_text("kind: Endpoint\n")
    assert runstate.revision([str(folder / "m.yaml")]) == f"{head}-dirty"
