"""Every command's --help shows an example, and the example is a command line the parser accepts."""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.cli import EXIT_ERROR, build_parser

REPO = Path(__file__).resolve().parents[2]


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


COMMANDS = sorted(subcommands(build_parser()))


def command_lines(example: str) -> list[list[str]]:
    """The netreconcile invocations of a shell line: split at && and |, without comments and redirections."""
    lexer = shlex.shlex(example, posix=True, punctuation_chars=True)
    commands: list[list[str]] = [[]]
    redirected = False
    for token in lexer:
        if token in ("&&", "||", "|", ";"):
            commands.append([])
            redirected = False
        elif token in (">", ">>", "<"):
            redirected = True
        elif not redirected:
            commands[-1].append(token)
    return [c[1:] for c in commands if c and c[0] == "netreconcile"]


def examples(help_text: str) -> list[str]:
    return [line.split("example:", 1)[1] for line in help_text.splitlines() if line.startswith("example:")]


def test_the_walk_finds_every_command_including_the_new_ones():
    assert {"validate", "plan", "apply", "destroy", "status", "confirm", "watch", "doctor", "graph", "schema",
            "completion"} <= set(COMMANDS)


@pytest.mark.parametrize("name", ["netreconcile", *COMMANDS])
def test_help_shows_an_example_that_parses(name):
    parser = build_parser()
    sub = parser if name == "netreconcile" else subcommands(parser)[name]
    found = examples(sub.format_help())
    assert found, f"{name} --help has no `example:` line"
    lines = [line for text in found for line in command_lines(text)]
    assert lines, found
    parsed = [build_parser().parse_args(argv) for argv in lines]  # SystemExit: an example does not parse
    assert name == "netreconcile" or name in {args.command for args in parsed}, lines


def test_the_examples_are_what_help_prints():
    result = subprocess.run([sys.executable, "-m", "reconciler", "plan", "--help"], check=False, capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0
    assert "example: netreconcile plan manifests/ --detailed-exitcode" in result.stdout


def test_top_level_help_documents_the_exit_codes():
    text = build_parser().format_help()
    assert "exit codes:" in text
    for line in ("  0  success", "  1  error", "  2  plan with --detailed-exitcode: there are changes"):
        assert line in text, text


@pytest.mark.parametrize("argv", [["plan"], ["plan", "x", "--detailed-exit-code"], ["frobnicate"], ["plan", "x", "-o", "yaml"]])
def test_a_command_line_that_cannot_be_read_exits_1_not_2_which_means_changes(argv):
    result = subprocess.run([sys.executable, "-m", "reconciler", *argv], check=False, capture_output=True, text=True, cwd=REPO)
    assert result.returncode == EXIT_ERROR, result
    assert "usage: netreconcile" in result.stderr and "error:" in result.stderr
