"""`python -m reconciler` and the `netreconcile` command (pyproject.toml): the command line, its modules
loaded with the cyclic collector off."""

import gc


def run() -> int:
    """Load the command line and run it. Loading makes tens of thousands of objects (classes, functions)
    that all live until the command ends: the collector's passes among them (about 40) cost 8 ms of
    every command's start and free nothing. main() then keeps it off or on, as the command needs."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        from reconciler.cli import main  # here, with the collector off (see above)
    finally:
        if collecting:
            gc.enable()
    return main()


if __name__ == "__main__":
    raise SystemExit(run())
