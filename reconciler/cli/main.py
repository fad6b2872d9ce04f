"""The `netreconcile` command line: one parser, each subcommand registered the same way, and `main`,
which runs the one asked for and reports any error (reconciler/cli/failure.py)."""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Sequence
from typing import Any

import reconciler.cli.applying as applying
import reconciler.cli.doctor as doctor
import reconciler.cli.fleet as fleet
import reconciler.cli.planning as planning
import reconciler.cli.tools as tools
import reconciler.cli.watching as watching
from reconciler.cli.command import EXIT_OK, Command, Parser, debug, use_etcd_options
from reconciler.cli.completion import SHELLS, script
from reconciler.cli.failure import INTERRUPTED, fail, failure_of
from reconciler.cli.version import version

EXIT_CODES = """exit codes:
  0  success; plan with --detailed-exitcode: no changes
  1  error: invalid manifests, a refusal, a failed apply (rolled back), a command line that cannot be read
  2  plan with --detailed-exitcode: there are changes

-o json (validate, plan, status, doctor) prints a JSON document on stdout, errors included
(docs/output.md); `netreconcile schema` prints the manifests' JSON Schema, `netreconcile completion
bash|zsh` a completion script."""


class _Version(argparse._VersionAction):
    """--version, its version read only when asked for: reading it (pyproject.toml, or an installed
    copy's package metadata, whose module alone takes 30 ms to load) is no part of every command's start."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: str | Sequence[Any] | None,
                 option_string: str | None = None) -> None:
        self.version = f"%(prog)s {version()}"
        super().__call__(parser, namespace, values, option_string)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="netreconcile",
        description="Declarative reconciler for Linux container networking (Docker's drivers, without Docker).",
        epilog="example: netreconcile apply manifests/ && netreconcile plan manifests/ --detailed-exitcode\n\n"
               + EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--debug", action="store_true", help="show a traceback on errors")
    parser.add_argument("--version", action=_Version, help="print the version and exit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS.values():
        command.add_to(commands)
    return parser


COMPLETION_HELP = "print a shell completion script (bash or zsh)"
COMPLETION_DESCRIPTION = COMPLETION_HELP + """

bash: `source <(netreconcile completion bash)` in ~/.bashrc, or save it as
/etc/bash_completion.d/netreconcile. zsh: save it as _netreconcile in a directory of $fpath
before `compinit` runs (`netreconcile completion zsh > ~/.zfunc/_netreconcile` with
`fpath+=~/.zfunc` in ~/.zshrc), or `eval "$(netreconcile completion zsh)"` after compinit."""


def _completion_arguments(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("shell", choices=SHELLS, metavar="SHELL", help="bash or zsh")
    debug(sub)


def _completion(args: argparse.Namespace) -> int:
    sys.stdout.write(script(build_parser(), args.shell))
    return EXIT_OK


COMPLETION = Command("completion", COMPLETION_HELP,
                     "example: netreconcile completion bash > /etc/bash_completion.d/netreconcile",
                     _completion_arguments, _completion, COMPLETION_DESCRIPTION)
# In the order --help lists them.
COMMANDS = {c.name: c for c in (planning.VALIDATE, planning.PLAN, applying.APPLY, applying.DESTROY, planning.STATUS,
                                applying.CONFIRM, watching.WATCH, fleet.PUSH, doctor.DOCTOR, tools.GRAPH, tools.SCHEMA, COMPLETION)}


# Commands that run for long and keep the collector in their own hands (reconciler/watch/loop.py).
LONG_RUNNING = frozenset({"watch"})


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    collecting = gc.isenabled()
    if args.command not in LONG_RUNNING:
        # What a one-shot command reads and plans lives until it ends, with few cycles: the collector's
        # full passes rescan all of it as it grows (5 at 4000 endpoints, 15x the cost of 1 at 1000).
        gc.disable()
    try:
        use_etcd_options(args)
        return COMMANDS[args.command].run(args)
    except KeyboardInterrupt:
        return fail(args, INTERRUPTED)
    except Exception as err:  # noqa: BLE001 (the promise: no traceback for users, a hint to get one)
        return fail(args, failure_of(err))
    finally:
        if collecting:
            gc.enable()
