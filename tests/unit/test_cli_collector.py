"""The cyclic collector during a command: off for a one-shot command (its model lives until it ends,
and full passes over it grow faster than N), left to the watch, and as it was once main returns."""

from __future__ import annotations

import argparse
import gc
import importlib
from dataclasses import replace

import pytest

# reconciler.cli exports the function main, which hides the module of that name as an attribute.
cli = importlib.import_module("reconciler.cli.main")


def _recording(monkeypatch: pytest.MonkeyPatch, name: str) -> list[bool]:
    seen: list[bool] = []

    def run(args: argparse.Namespace) -> int:
        seen.append(gc.isenabled())
        return 0

    monkeypatch.setitem(cli.COMMANDS, name, replace(cli.COMMANDS[name], run=run))
    return seen


def test_a_one_shot_command_runs_without_the_collector_and_gives_it_back(monkeypatch: pytest.MonkeyPatch) -> None:
    assert gc.isenabled()
    seen = _recording(monkeypatch, "plan")
    assert cli.main(["plan", "manifests"]) == 0
    assert seen == [False]
    assert gc.isenabled()


def test_the_watch_keeps_the_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _recording(monkeypatch, "watch")
    assert cli.main(["watch", "manifests"]) == 0
    assert seen == [True]


def test_a_disabled_collector_stays_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _recording(monkeypatch, "plan")
    gc.disable()
    try:
        cli.main(["plan", "manifests"])
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert seen == [False]
