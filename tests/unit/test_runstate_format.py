"""The files under /run/netreconcile carry formatVersion: one of another version (a newer netreconcile's,
or an older one's after a change of shape) is refused with a message, never misread; one without it
(written before formatVersion existed) is read as version 1."""

from __future__ import annotations

import json

import pytest

from reconciler.errors import NetreconcileError
from reconciler.kernel import runstate


@pytest.fixture
def run_dir(tmp_path, monkeypatch):
    tmp_path.chmod(0o700)
    monkeypatch.setattr(runstate, "RUN_DIR", tmp_path)
    return tmp_path


def test_every_file_written_carries_the_format_version(run_dir):
    runstate.record("success", [], steps=3)
    runstate.record_applied(runstate.Applied(frozenset({"network/a"}), {}))
    runstate.write_json(runstate.PENDING, {"pid": 1, "deadline": 0.0, "steps": 1})
    for name in ("last.json", "applied.json", "pending.json"):
        assert json.loads((run_dir / name).read_text())["formatVersion"] == runstate.STATE_FORMAT == 1, name
    last = runstate.last()
    assert last is not None and last["steps"] == 3 and "formatVersion" not in last  # status's JSON shape as before
    assert runstate.applied() == runstate.Applied(frozenset({"network/a"}), {})


@pytest.mark.parametrize("version", [2, 0, "1", True, None, 1.5])
@pytest.mark.parametrize("name, read", [("last.json", runstate.last), ("applied.json", runstate.applied)])
def test_a_file_of_another_version_is_refused_with_a_message(run_dir, name, read, version):
    body = {"formatVersion": version, "owners": ["network/a"], "sysctls": {}, "time": "t", "result": "success",
            "trigger": "apply", "steps": 1, "error": "", "paths": [], "revision": None}
    (run_dir / name).write_text(json.dumps(body))
    with pytest.raises(NetreconcileError) as refused:
        read()
    message = str(refused.value)
    assert f"{run_dir / name}: written by another version of netreconcile (formatVersion {json.dumps(version)}; " \
           "this one reads 1)" in message
    assert f"rm {run_dir / name}" in message


def test_a_file_written_before_format_version_is_read_as_version_1(run_dir):
    (run_dir / "applied.json").write_text(json.dumps({"owners": ["network/a", "endpoint/e1"], "sysctls": {"e1": ["net.x"]}}))
    (run_dir / "last.json").write_text(json.dumps({"time": "t", "result": "failed", "trigger": "apply", "steps": 0}))
    assert runstate.applied() == runstate.Applied(frozenset({"network/a", "endpoint/e1"}), {"e1": ("net.x",)})
    assert runstate.last() == {"time": "t", "result": "failed", "trigger": "apply", "steps": 0}
