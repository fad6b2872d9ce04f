"""The command leaves without the interpreter's teardown (reconciler/__main__.py's `leave`): its output
out and its exit functions run first; left to the interpreter while another thread runs."""

from __future__ import annotations

import subprocess
import sys
import textwrap

PROGRAM = textwrap.dedent("""
    import atexit, os, sys, threading, time
    from reconciler.__main__ import leave

    class Torn:
        def __del__(self):
            os.write(2, b"torn down")

    kept = Torn()
    atexit.register(lambda: print("exit function ran", file=sys.stderr))
    sys.stdout.write("planned, unflushed")
    if sys.argv[1] == "no exit functions runner":
        del atexit._run_exitfuncs
    if sys.argv[1] == "thread":
        threading.Thread(target=lambda: (time.sleep(0.2), os.write(1, b" thread done"))).start()
    raise SystemExit(leave(3))
""")


def _run(mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", PROGRAM, mode], capture_output=True, text=True, timeout=30, check=False)


def test_leaves_with_its_output_out_and_exit_functions_run_but_no_teardown() -> None:
    done = _run("alone")
    assert done.returncode == 3, done.stderr
    assert done.stdout == "planned, unflushed"
    assert done.stderr.count("exit function ran") == 1, done.stderr
    assert "torn down" not in done.stderr  # the interpreter's teardown (freeing each object) was skipped


def test_another_thread_running_is_waited_for_as_always() -> None:
    done = _run("thread")
    assert done.returncode == 3, done.stderr
    assert done.stdout == "planned, unflushed thread done"
    assert done.stderr.count("exit function ran") == 1 and "torn down" in done.stderr, done.stderr


def test_an_interpreter_without_a_way_to_run_the_exit_functions_first_leaves_as_always() -> None:
    done = _run("no exit functions runner")
    assert done.returncode == 3, done.stderr
    assert done.stdout == "planned, unflushed"
    assert done.stderr.count("exit function ran") == 1 and "torn down" in done.stderr, done.stderr
