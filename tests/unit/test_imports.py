"""The import graph of reconciler/, read from the source: no module imports, directly or through
others, one that imports it (a package's __init__ importing its modules is never imported back by
them), and no import hides inside a function body to dodge such a circle unless a comment on its
line says why it is there (a dependency loaded only when asked for)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "reconciler"

# Circles and function-body imports still allowed: none (list one here only with the reason).
PENDING_CYCLES: list[set[str]] = []
PENDING_INNER: set[str] = set()


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


MODULES = modules()


def targets(module: str, node: ast.Import | ast.ImportFrom) -> set[str]:
    """The modules of ours an import statement loads (`from pkg import mod` loads pkg, then mod: a
    submodule that imports its siblings so imports its package back)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        base = node.module or ""
        if node.level:  # relative: from the module's package, up level - 1 packages
            package = module.split(".") if MODULES[module].name == "__init__.py" else module.split(".")[:-1]
            package = package[: len(package) - node.level + 1]
            base = ".".join([*package, base] if base else package)
        names = [base, *(f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in MODULES)]
    return {_ours(n) for n in names if _ours(n) not in ("", module)}


def _ours(name: str) -> str:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def imports(module: str) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement of the module, and whether it sits inside a function body."""
    def walk(node: ast.AST, inside: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                yield child, inside
            yield from walk(child, inside or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)))
    return walk(ast.parse(MODULES[module].read_text()), False)


def graph() -> dict[str, set[str]]:
    return {m: {t for node, _ in imports(m) for t in targets(m, node)} for m in MODULES}


def cycles(edges: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = {stack.pop()}
            while v not in component:
                component.add(stack.pop())
            if len(component) > 1:
                found.append(component)

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_reader_sees_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]
    assert targets("reconciler.planners.bridge", ast.parse("from reconciler.planners import firewall").body[0]) == {
        "reconciler.planners", "reconciler.planners.firewall"}
    assert targets("reconciler.planners.bridge", ast.parse("from . import firewall").body[0]) == {
        "reconciler.planners", "reconciler.planners.firewall"}
    assert targets("reconciler.planners.bridge", ast.parse("import reconciler.planners.firewall as fw").body[0]) == {
        "reconciler.planners.firewall"}
    assert targets("reconciler.planners.bridge", ast.parse("from reconciler.planners import Planner").body[0]) == {
        "reconciler.planners"}


def test_no_import_circles():
    assert [c for c in cycles(graph()) if c not in PENDING_CYCLES] == []


def test_no_import_inside_a_function_body_unless_it_says_why():
    lines = {m: MODULES[m].read_text().splitlines() for m in MODULES}
    hidden = [f"{m}:{node.lineno}" for m in MODULES if m not in PENDING_INNER for node, inside in imports(m)
              if inside and targets(m, node) and not _says_why(lines[m], node.lineno)]
    assert hidden == []


def _says_why(lines: list[str], lineno: int) -> bool:
    """A comment on the import's line, or on the line just above it, says why it is there."""
    return "#" in lines[lineno - 1] or lines[lineno - 2].strip().startswith("#")


# The layers, lowest first: a module imports its own layer and those below, never one above.
LAYERS = [
    {"reconciler", "reconciler.errors", "reconciler.frozen", "reconciler.terminal", "reconciler.model"},
    {"reconciler.input"},
    {"reconciler.planning", "reconciler.planners"},
    {"reconciler.kernel"},
    {"reconciler.applying", "reconciler.appliers"},
    {"reconciler.engine"},
    {"reconciler.fleet"},
    {"reconciler.cli", "reconciler.graph", "reconciler.watch", "reconciler.resolver", "reconciler.dhcp", "reconciler.process",
     "reconciler.__main__"},
]


def layer(module: str) -> int:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        for i, names in enumerate(LAYERS):
            if ".".join(parts[:n]) in names:
                return i
    raise AssertionError(f"{module} is in no layer: add its folder to LAYERS")


def test_every_import_goes_down_the_layers_or_stays_in_its_own():
    upward = [f"{m} -> {t}" for m, targets_ in graph().items() for t in targets_ if layer(t) > layer(m)]
    assert upward == []


def test_the_layer_check_can_fail():
    assert layer("reconciler.kernel.observe") > layer("reconciler.planning.plan")
    assert layer("reconciler.input.spec.types") < layer("reconciler.planners.bridge")
    assert layer("reconciler.cli.render") > layer("reconciler.engine")


def test_each_layer_folder_says_what_it_does_and_may_import():
    for package in ("input", "planning", "kernel", "applying", "planners", "appliers", "model", "cli", "watch", "graph"):
        doc = ast.get_docstring(ast.parse((ROOT / package / "__init__.py").read_text())) or ""
        assert "import" in doc, f"reconciler/{package}/__init__.py does not say what it may import"
