"""netreconcile(8) and netreconcile-manifests(5), generated from the parser and the JSON Schema: `man -l`
renders them without a warning, and every command, option and manifest field is in them."""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from reconciler.cli import build_parser, manifests_page, manpage
from reconciler.cli.walk import commands
from reconciler.input.schema import KIND_SCHEMAS, bundle

pytestmark = pytest.mark.skipif(shutil.which("man") is None, reason="man (Debian package man-db) is not installed")


def rendered(source: str, tmp_path: Path) -> str:
    """The page as `man -l` shows it, in ASCII on a very wide terminal, whitespace made single spaces."""
    path = tmp_path / "page"
    path.write_text(source)
    result = subprocess.run(["man", "--warnings", "-l", str(path)], capture_output=True, text=True, timeout=60,
                            env={"LC_ALL": "C", "MANWIDTH": "400", "MANPAGER": "cat", "PATH": "/usr/bin:/bin"}, check=False)
    assert result.returncode == 0 and not result.stderr, result.stderr
    return " ".join(re.sub(r".\x08", "", result.stdout).split())


def test_the_command_page_names_every_command_and_option(tmp_path):
    text = rendered(manpage.page(), tmp_path)
    assert text.startswith("NETRECONCILE(8)") and "EXIT STATUS" in text and "SEE ALSO" in text
    parser = build_parser()
    subs = commands(parser)
    assert len(subs) > 10
    for name, sub in [("", parser), *subs.items()]:
        if name:
            assert f"netreconcile {name} [-h]" in text, name  # its synopsis
            assert " ".join((sub.description or "").split()[:6]) in text, name
        for action in sub._actions:
            if isinstance(action, argparse._SubParsersAction) or action.help == argparse.SUPPRESS:
                continue
            for flag in action.option_strings or [action.metavar or action.dest]:
                assert re.search(rf"(^|[ \[,]){re.escape(str(flag))}([ \],]|$)", text), (name, flag)
            if action.help:
                assert " ".join(action.help.replace("%%", "%").split()[:5]) in text, (name, action.help)


def properties(node: Any, path: str = "") -> list[tuple[str, str]]:
    """Every property name in a schema, with its own description ("" when it has none)."""
    found = []
    if isinstance(node, dict):
        for name, sub in (node.get("properties") or {}).items():
            found.append((name, sub.get("description", "") if isinstance(sub, dict) else ""))
        for key, value in node.items():
            if key != "$defs" or not path:
                found += properties(value, path + "/" + key)
    elif isinstance(node, list):
        for value in node:
            found += properties(value, path)
    return found


def test_the_manifests_page_has_every_kind_and_field_of_the_schema(tmp_path):
    text = rendered(manifests_page.page(), tmp_path)
    assert text.startswith("NETRECONCILE-MANIFESTS(5)")
    for kind in KIND_SCHEMAS:
        schema = bundle(kind)
        assert f"KIND: {kind.upper()} {' '.join(schema['description'].split())}" in text
        for name, description in properties(schema):
            if name in ("apiVersion", "kind", "metadata", "spec"):  # every document's, in DESCRIPTION
                continue
            assert re.search(rf"\b(spec|metadata)(\.\w+(\[\])?)*\.{name}\b", text), (kind, name)
            assert " ".join(description.split()) in text, (kind, name, description)
