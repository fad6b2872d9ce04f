"""`python -m reconciler` and the `netreconcile` command (pyproject.toml): the command line, its modules
loaded with the cyclic collector off; a one-shot `plan`, and an `apply` that finds the lock free, have a
child read the kernel meanwhile."""

import atexit
import gc
import os
import sys
import threading

from reconciler import compiled

compiled.install()  # before any of the package's classes is defined (compiled.py)

from reconciler.kernel import ahead, runstate


def run() -> int:
    """Run the command, then leave at once (see `leave`)."""
    return leave(_command())


def leave(code: int) -> int:
    """End the process with `code` once what it wrote is out and its exit functions ran, without the
    interpreter's teardown: freeing every module and object it loaded, one by one, takes 17 ms of a
    one-shot plan at 1000 endpoints, and the kernel frees them at once. Left to the interpreter (`code`
    returned) while another thread runs (its exit waits for it), when the output cannot be flushed
    (its exit says so, as always), or on an interpreter without CPython's way to run the exit functions
    first (atexit._run_exitfuncs: logging's flush, weakref finalizers, whatever a library registered)."""
    compiled.save()
    run_exit_functions = getattr(atexit, "_run_exitfuncs", None)
    if threading.active_count() > 1 or run_exit_functions is None:
        return code
    run_exit_functions()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return code
    os._exit(code)


def _command() -> int:
    """Load the command line and run it. Loading makes tens of thousands of objects (classes, functions)
    that all live until the command ends: the collector's passes among them (about 40) cost 8 ms of
    every command's start and free nothing. main() then keeps it off or on, as the command needs."""
    collecting = gc.isenabled()
    gc.disable()
    if _reads_ahead(sys.argv[1:2]):
        ahead.start(_read)  # while this process loads (kernel/ahead.py)
    try:
        try:
            from reconciler.cli import main  # here, with the collector off (see above)
        finally:
            if collecting:
                gc.enable()
        return main()
    finally:
        ahead.stop()


def _reads_ahead(command: list[str]) -> bool:
    # An apply reads ahead only holding the lock: what it reads no other apply changes before it acts.
    return command == ["plan"] or (command == ["apply"] and runstate.take_early())


def _read(item: str) -> bytes:
    # In the child: it loads what reading needs while its parent loads the command line.
    from reconciler.kernel.nsread import read_ahead
    return read_ahead(item)


if __name__ == "__main__":
    raise SystemExit(run())
