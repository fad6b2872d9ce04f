"""Shell completion scripts for bash and zsh, generated from the argparse parser by shtab: a new
command or flag completes without anything written here."""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from reconciler.cli.walk import actions

SHELLS = ("bash", "zsh")
PATH_METAVARS = ("PATH", "FILE", "DIR")  # positionals and options naming manifests complete files and directories


def script(parser: argparse.ArgumentParser, shell: str) -> str:
    import shtab  # only for this command: the others start without it

    _complete_paths(parser, shtab.FILE)
    return shtab.complete(parser, shell=shell)


def _complete_paths(parser: argparse.ArgumentParser, files: Mapping[str, object]) -> None:
    for action in actions(parser):
        if action.metavar in PATH_METAVARS:
            action.complete = files  # type: ignore[attr-defined]  # shtab's way; compgen -f offers directories too

