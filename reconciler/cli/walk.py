"""The walk over the argparse parser that the completion scripts and the man page are made from: a
command or an option added to the parser reaches both without anything written for them."""

from __future__ import annotations

import argparse


def commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The subcommands' parsers by name, in the order --help lists them."""
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.update(action.choices)
    return found


def actions(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """Every option and positional of the parser and of its subcommands, recursively."""
    found = list(parser._actions)
    for sub in commands(parser).values():
        found += actions(sub)
    return found
