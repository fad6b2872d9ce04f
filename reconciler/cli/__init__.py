"""The `netreconcile` command: validate, plan, apply, destroy, status, and the tools around them.

Exit codes: 0 success (plan: no changes with --detailed-exitcode), 1 error, invalid manifests or a
command line that cannot be read, 2 plan has changes (only with --detailed-exitcode).

The top layer: may import every layer below (engine, render, progress, watch/, graph); nothing imports it.
"""

from reconciler.cli.command import EXIT_CHANGES, EXIT_ERROR, EXIT_OK
from reconciler.cli.main import build_parser, main

__all__ = ["EXIT_CHANGES", "EXIT_ERROR", "EXIT_OK", "build_parser", "main"]
