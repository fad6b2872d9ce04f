"""Small helpers shared by the unit tests: manifests from text, problems as the CLI prints them."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import ManifestError
from reconciler.input.manifest import load_text
from reconciler.input.spec import (
    Manifests,
    parse_endpoint,
    parse_host,
    parse_network,
    parse_service,
)
from reconciler.input.validate import load_manifests

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def problem_lines(*paths: Path, relative_to: Path) -> list[str]:
    """Every problem load_manifests reports, as `FILE:LINE:COL: Kind/name: message` with FILE relative."""
    with pytest.raises(ManifestError) as caught:
        load_manifests([str(p) for p in paths])
    return [str(p).replace(f"{relative_to}/", "") for p in caught.value.problems]


def parse(text: str) -> Manifests:
    """Typed manifests from YAML text, without validation (so IPAM can be driven directly)."""
    docs = load_text(text, "test.yaml")
    return Manifests(
        networks=tuple(parse_network(d) for d in docs if d.kind == "Network"),
        endpoints=tuple(parse_endpoint(d) for d in docs if d.kind == "Endpoint"),
        hosts=tuple(parse_host(d) for d in docs if d.kind == "Host"),
        services=tuple(parse_service(d) for d in docs if d.kind == "Service"),
    )


def network(name: str, ipam: str, extra: str = "") -> str:
    return f"apiVersion: netreconcile/v1\nkind: Network\nmetadata: {{name: {name}}}\nspec:\n  driver: bridge\n  ipam: {ipam}\n{extra}---\n"


def endpoint(name: str, interfaces: str) -> str:
    return f"apiVersion: netreconcile/v1\nkind: Endpoint\nmetadata: {{name: {name}}}\nspec:\n  interfaces: {interfaces}\n---\n"
