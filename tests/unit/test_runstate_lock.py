"""The lock an apply takes as it starts (runstate.take_early, for its kernel read ahead: kernel/ahead.py)
is the one its `locked()` then holds: no second lock against itself, released when locked() ends; where
another holds it, nothing is taken early and locked() waits or fails as it always has."""

from __future__ import annotations

import fcntl
import os

import pytest

from reconciler.errors import LockedError
from reconciler.kernel import runstate


@pytest.fixture
def run_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(runstate, "RUN_DIR", tmp_path / "run")
    monkeypatch.setattr(runstate, "LOCK", tmp_path / "run" / "lock")
    monkeypatch.setattr(runstate, "_early", None)
    return tmp_path / "run"


def _free(path) -> bool:
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def test_the_lock_taken_early_is_the_one_locked_holds_then_lets_go(run_dir):
    assert runstate.take_early()
    assert not _free(run_dir / "lock") and (run_dir / "lock").read_text() == f"{os.getpid()}\n"
    with runstate.locked(wait=False):  # a second lock of its own would be refused: this one is held
        assert not _free(run_dir / "lock")
    assert _free(run_dir / "lock")
    with runstate.locked(wait=False):  # taken once: the next locked() takes the lock itself
        assert not _free(run_dir / "lock")
    assert _free(run_dir / "lock")


def test_a_lock_held_elsewhere_is_not_taken_early_and_locked_fails_as_before(run_dir):
    run_dir.mkdir(mode=0o700)
    other = os.open(run_dir / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(other, fcntl.LOCK_EX)
        assert not runstate.take_early()
        with pytest.raises(LockedError), runstate.locked(wait=False):
            pass
    finally:
        os.close(other)
    assert runstate.take_early()
    with runstate.locked(wait=False):
        pass
