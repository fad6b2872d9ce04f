"""appliers/process.py's early start: the Python of a process started before its step, told to go on by
`start`, and ended unheard when the run ends first; a process it could not start early is started by
`start` as ever. The process here is a small module that writes down what it did."""

from __future__ import annotations

import os
import sys
import time

import pytest

from reconciler.appliers import process
from reconciler.errors import ApplyError
from reconciler.kernel.processstate import ProcessState

FAKE = '''
import pathlib, sys, time
log = pathlib.Path(sys.argv[sys.argv.index("--state-dir") + 1]) / "log"
log.write_text(log.read_text() + f"loaded {' '.join(sys.argv[1:])}\\n" if log.exists() else f"loaded {' '.join(sys.argv[1:])}\\n")
if "--when-told" in sys.argv and sys.stdin.readline() != "go\\n":
    raise SystemExit(0)
log.write_text(log.read_text() + "went on\\n")
if "--fail" in pathlib.Path(sys.argv[sys.argv.index("--state-dir") + 1]).joinpath("mode").read_text():
    print("cannot bind", file=sys.stderr)
    raise SystemExit(1)
'''


@pytest.fixture
def fake(tmp_path, monkeypatch):
    (tmp_path / "mods").mkdir()
    (tmp_path / "mods" / "fakeprocess.py").write_text(FAKE)
    (tmp_path / "mode").write_text("")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path / "mods"), os.environ.get("PYTHONPATH", "")]))
    state = ProcessState("fake", "fakeprocess", 1)
    monkeypatch.setattr(ProcessState, "state_dir", lambda self: str(tmp_path))
    return state, tmp_path / "log"


def wait_for(path, text: str) -> str:
    deadline = time.monotonic() + 20
    while text not in (path.read_text() if path.exists() else ""):
        assert time.monotonic() < deadline, path.read_text() if path.exists() else "(no log)"
        time.sleep(0.01)
    return path.read_text()


def test_started_early_it_loads_then_waits_and_start_tells_it_to_go_on(fake):
    state, log = fake
    with process.early(state):
        assert wait_for(log, "loaded").splitlines() == [f"loaded --daemon --state-dir {log.parent} --when-told"]
        time.sleep(0.2)
        assert "went on" not in log.read_text()  # loaded, and nothing more until told
        process.start(state, "the fake")
        assert log.read_text().splitlines()[1:] == ["went on"]
    assert process._early == {}


def test_one_never_told_is_ended_with_the_run_having_done_nothing(fake):
    state, log = fake
    with process.early(state):
        wait_for(log, "loaded")
        child = process._early["fakeprocess"]
    assert child.returncode is not None and process._early == {}
    assert "went on" not in log.read_text()


def test_a_failed_start_says_why_whether_started_early_or_not(fake):
    state, log = fake
    (log.parent / "mode").write_text("--fail")
    with process.early(state), pytest.raises(ApplyError, match="the fake did not start: cannot bind"):
        process.start(state, "the fake")
    with pytest.raises(ApplyError, match="the fake did not start: cannot bind"):
        process.start(state, "the fake")


def test_one_that_cannot_be_started_early_is_started_at_its_step(fake, monkeypatch):
    state, log = fake
    with monkeypatch.context() as m:
        m.setattr(sys, "executable", "/nonexistent/python")
        with process.early(state):
            assert process._early == {}
    with process.early(state):
        pass
    process.start(state, "the fake")
    assert log.read_text().splitlines()[-2:] == [f"loaded --daemon --state-dir {log.parent}", "went on"]
