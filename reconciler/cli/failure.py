"""How a command that failed says so: its errors on stderr, and under -o json the error document on
stdout (docs/output.md). Exit 1, never a traceback unless --debug asks for one."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

import reconciler.cli.render as render
from reconciler.cli.command import EXIT_ERROR
from reconciler.errors import Kind, NetreconcileError, Problem
from reconciler.terminal import lines


@dataclass(frozen=True)
class Failure:
    """An error as the user reads it on stderr, and as -o json prints it on stdout (error.type)."""

    type: str
    messages: list[str]
    problems: list[Problem] | None = None  # invalid manifests: printed as they are, without "error: "
    footer: str = ""
    kind: Kind = Kind.HOST
    extra: dict[str, Any] | None = None  # more members of the -o json document

    @property
    def prefix(self) -> str:
        if self.problems is not None:
            return ""
        return "internal error: " if self.kind is Kind.BUG else "error: "


def failure_of(err: BaseException) -> Failure:
    """How `err` is reported: ours say it themselves; of the others, PermissionError is the host's (not
    root), any other a bug."""
    if isinstance(err, NetreconcileError):
        return Failure(err.category, err.messages, err.problems, err.footer, err.kind)
    if isinstance(err, PermissionError):
        return Failure("permission-denied",
                       [f"permission denied: {err.filename or err} (netreconcile must run as root)"])
    return Failure("internal", [f"{type(err).__name__}: {err} (run with --debug for a traceback)"], kind=Kind.BUG)


INTERRUPTED = Failure("interrupted", [], kind=Kind.INPUT)


def fail(args: argparse.Namespace, failure: Failure) -> int:
    """Report `failure` and return the exit code."""
    if getattr(args, "debug", False):
        import traceback  # only with --debug: 1.3 ms of every command's start otherwise

        traceback.print_exc()
    for message in failure.messages:
        print(lines(f"{failure.prefix}{message}"), file=sys.stderr)
    if failure.footer:
        print(failure.footer, file=sys.stderr)
    if getattr(args, "output", None) == "json":
        extra = {"valid": False} if args.command == "validate" else failure.extra or {}
        print(render.error_json(failure.type, failure.messages, failure.problems or [], **extra))
    return EXIT_ERROR
