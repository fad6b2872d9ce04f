"""Every folder of the code is a package the wheel ships: one left out of pyproject's list installs
fine and fails at the first import (reconciler.dhcp and reconciler.process once were)."""

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_every_package_of_the_code_is_in_pyprojects_list():
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "reconciler").rglob("__init__.py")}
    assert found - listed == set()
