"""The dependencies pyproject.toml declares are exactly those the code imports.

Every module outside the standard library that reconciler/ imports (at the top or inside a function)
comes from a declared dependency, and every declared dependency is imported by reconciler/; the
tests' imports come from those or from the `test` extra, every one of which the tests import. Import
names are mapped to distributions by the installed packages' own metadata
(importlib.metadata.packages_distributions), never by a list kept here.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIRST_PARTY = {"reconciler", "benchmarks", "tests"}


def requirement_name(requirement: str) -> str:
    """The normalised distribution name of a requirement string (PEP 503: case and -_. folded)."""
    name = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement.strip())
    assert name, f"cannot read the requirement {requirement!r}"
    return normalised(name.group(0))


def normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared() -> tuple[set[str], set[str]]:
    """(the project's dependencies, its `test` extra), as normalised distribution names."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return ({requirement_name(r) for r in project["dependencies"]},
            {requirement_name(r) for r in project["optional-dependencies"]["test"]})


def imported_modules(folder: Path) -> dict[str, set[str]]:
    """Top-level module names imported anywhere in the Python files under `folder`, each with the
    files importing it; relative imports and the project's own packages left out."""
    found: dict[str, set[str]] = {}
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], set()).add(str(path.relative_to(REPO)))
    return found


@cache
def sibling_modules(folder: Path) -> frozenset[str]:
    """Modules the tests import from their own folders (sys.path entries set by conftest and pytest)."""
    return frozenset(p.stem for p in folder.rglob("*.py")) | frozenset(p.name for p in folder.rglob("*") if p.is_dir())


def third_party(modules: dict[str, set[str]], local: frozenset[str] = frozenset()) -> dict[str, set[str]]:
    return {m: files for m, files in modules.items()
            if m not in sys.stdlib_module_names and m not in FIRST_PARTY and m not in local and m != "__future__"}


def distributions_of(modules: dict[str, set[str]]) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(distribution -> the modules it provides here, module -> files) for modules no installed
    distribution provides."""
    provided = packages_distributions()
    by_distribution: dict[str, set[str]] = {}
    unknown: dict[str, set[str]] = {}
    for module, files in modules.items():
        names = provided.get(module)
        if not names:
            unknown[module] = files
        for name in names or ():
            by_distribution.setdefault(normalised(name), set()).add(module)
    return by_distribution, unknown


def test_every_import_of_reconciler_outside_the_standard_library_is_a_declared_dependency():
    runtime, _ = declared()
    used, unknown = distributions_of(third_party(imported_modules(REPO / "reconciler")))
    assert not unknown, f"imported by reconciler/ but provided by no installed distribution: {unknown}"
    undeclared = {d: sorted(m) for d, m in used.items() if d not in runtime}
    assert not undeclared, f"imported by reconciler/ but missing from [project] dependencies: {undeclared}"


def test_every_declared_dependency_is_imported_by_reconciler():
    runtime, _ = declared()
    used, _ = distributions_of(third_party(imported_modules(REPO / "reconciler")))
    unused = sorted(runtime - set(used))
    assert not unused, f"declared in [project] dependencies but imported nowhere in reconciler/: {unused}"


def test_the_tests_import_only_declared_dependencies_and_every_test_extra():
    runtime, test_extra = declared()
    tests = REPO / "tests"
    used, unknown = distributions_of(third_party(imported_modules(tests), sibling_modules(tests)))
    assert not unknown, f"imported by tests/ but provided by no installed distribution: {unknown}"
    undeclared = {d: sorted(m) for d, m in used.items() if d not in runtime | test_extra}
    assert not undeclared, f"imported by tests/ but declared neither as a dependency nor in the test extra: {undeclared}"
    unused = sorted(test_extra - set(used))
    assert not unused, f"in the test extra but imported nowhere in tests/: {unused}"


def test_requirement_names_are_read_and_normalised():
    assert requirement_name("PyYAML>=6") == "pyyaml"
    assert requirement_name("prometheus_client >= 0.20") == "prometheus-client"
    assert requirement_name("pyroute2>=0.9.7,<0.10") == "pyroute2"
    assert requirement_name("zope.interface[extra]; python_version>'3'") == "zope-interface"
