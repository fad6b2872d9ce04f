"""The test-only switches of an apply, read from the environment in this one place:
NETRECONCILE_TEST_FAIL_AT_STEP=k makes step k fail before it runs; NETRECONCILE_TEST_SKIP_STEP=k makes
step k say it worked and do nothing (what verification is there to catch);
NETRECONCILE_TEST_KILL_AFTER_STEP=k sends SIGKILL to this process once step k is done (and keeps the run
in one process); NETRECONCILE_TEST_PARALLEL_FROM=n splits runs of n endpoints or more over two processes
(parallel.py; 64 without it)."""

from __future__ import annotations

import os
import signal

from reconciler.errors import ApplyError

PARALLEL_FROM = "NETRECONCILE_TEST_PARALLEL_FROM"


def fail_at(number: int) -> None:
    if os.environ.get("NETRECONCILE_TEST_FAIL_AT_STEP") == str(number):
        raise ApplyError(f"injected failure at step {number} (NETRECONCILE_TEST_FAIL_AT_STEP)")


def skipped(number: int) -> bool:
    return os.environ.get("NETRECONCILE_TEST_SKIP_STEP") == str(number)


def kill_after(number: int) -> None:
    if os.environ.get("NETRECONCILE_TEST_KILL_AFTER_STEP") == str(number):
        os.kill(os.getpid(), signal.SIGKILL)


def killing() -> bool:
    """A test is to kill this process after some step."""
    return bool(os.environ.get("NETRECONCILE_TEST_KILL_AFTER_STEP"))


def parallel_from(default: int) -> int:
    value = os.environ.get(PARALLEL_FROM, "")
    return int(value) if value.isdigit() else default
