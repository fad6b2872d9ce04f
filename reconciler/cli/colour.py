"""Colours for plans on a terminal, as Terraform's: `+` green, `-` red, `~` yellow, `-/+` magenta,
reasons dim. Only when stdout is a terminal, NO_COLOR is unset (no-color.org: set and not empty) and
--no-color was not given: a pipe, a file or a log gets the plain text, byte for byte."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TextIO

from reconciler.cli.render import Paint, plain

# SGR codes by the style names render.py paints with (an action's value, or "reason").
CODES = {"create": "32", "delete": "31", "update": "33", "replace": "35", "reason": "2"}
RESET = "\x1b[0m"
NO_COLOR_HELP = "never colour the output (also: the NO_COLOR environment variable)"


def ansi(style: str, text: str) -> str:
    """`text` (already escaped: it holds no control character) in the colour of `style`."""
    return f"\x1b[{CODES[style]}m{text}{RESET}" if text else text


def wanted(args: argparse.Namespace, stream: TextIO | None = None) -> bool:
    """Whether to colour what goes to `stream` (stdout by default)."""
    stream = stream or sys.stdout
    return not getattr(args, "no_color", False) and not os.environ.get("NO_COLOR") and stream.isatty()


def painter(args: argparse.Namespace) -> Paint:
    return ansi if wanted(args) else plain


def flag(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--no-color", action="store_true", help=NO_COLOR_HELP)
