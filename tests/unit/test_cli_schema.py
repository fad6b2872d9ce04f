"""`netreconcile schema` and schemas/manifest.schema.json: the bundle editors load through each
manifest's `# yaml-language-server: $schema=` line, generated from the per-kind schemas."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from reconciler.errors import ManifestError
from reconciler.input.manifest import load_paths
from reconciler.input.schema import (
    KIND_SCHEMAS,
    bundle,
    bundle_text,
    format_checker,
    schema_problems,
)

REPO = Path(__file__).resolve().parents[2]
BUNDLE = REPO / "schemas" / "manifest.schema.json"
MANIFESTS = sorted(p for folder in ("manifests", "docs") for p in (REPO / folder).rglob("*.y*ml"))
INVALID = sorted((REPO / "tests" / "fixtures" / "invalid").glob("*.yaml"))
MODELINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$", re.MULTILINE)
# yaml-language-server applies a modeline to the document it is in only (its issue 946): in these
# folders, every document of a file repeats the file's first line.
EVERY_DOCUMENT = ("manifests", "docs")


def netreconcile(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reconciler", *args], check=False, capture_output=True, text=True, cwd=REPO)


def validator(schema: dict) -> Draft202012Validator:
    """An editor's view: the schema alone, no registry, so any external $ref fails to resolve."""
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=format_checker())


def refs(node: object) -> list[str]:
    if isinstance(node, list):
        return [r for item in node for r in refs(item)]
    if not isinstance(node, dict):
        return []
    own = [node["$ref"]] if "$ref" in node else []
    return own + [r for value in node.values() for r in refs(value)]


def test_the_committed_bundle_is_what_the_code_generates():
    assert BUNDLE.read_text() == bundle_text(), "schemas/manifest.schema.json is stale: run `netreconcile schema > schemas/manifest.schema.json`"


def test_schema_prints_the_committed_bundle_and_one_kind_on_request():
    assert netreconcile("schema").stdout == BUNDLE.read_text()
    network = netreconcile("schema", "Network")
    assert network.returncode == 0 and json.loads(network.stdout) == bundle("Network")


def test_an_unknown_kind_is_a_clear_error():
    result = netreconcile("schema", "Router")
    assert result.returncode == 1 and result.stdout == ""
    assert "invalid choice: 'Router'" in result.stderr and "'Network'" in result.stderr, result.stderr


@pytest.mark.parametrize("kind", [None, *sorted(KIND_SCHEMAS)])
def test_every_bundle_is_self_contained(kind):
    schema = bundle(kind)
    assert "$id" not in json.dumps(schema)  # no nested base URI that would move where a ref points
    for ref in refs(schema):
        assert ref.startswith("#/$defs/"), ref
        _resolve(schema, ref)


def _resolve(schema: dict, ref: str) -> None:
    node = schema
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]  # KeyError: a dangling ref


def documents(path: Path) -> list:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def test_there_are_manifests_to_check():
    assert any(p.parent.name == "manifests" for p in MANIFESTS)


@pytest.mark.parametrize("path", MANIFESTS, ids=[str(p.relative_to(REPO)) for p in MANIFESTS])
def test_each_manifest_points_at_the_bundle_and_is_valid_against_it(path):
    text = path.read_text()
    (target,) = MODELINE.findall(text.split("\n", 1)[0])  # the first line, where editors look
    assert (path.parent / target).resolve() == BUNDLE
    if path.relative_to(REPO).parts[0] in EVERY_DOCUMENT:
        for document in re.split(r"^---$", text, flags=re.MULTILINE)[1:]:
            assert document.lstrip("\n").startswith(text.split("\n", 1)[0] + "\n"), document
    check = validator(json.loads(BUNDLE.read_text()))
    docs = documents(path)
    assert docs
    for doc in docs:
        assert not list(check.iter_errors(doc)), [e.message for e in check.iter_errors(doc)]


def fixture_documents(path: Path) -> list:
    try:
        return load_paths([str(path)])
    except ManifestError:
        return []  # not YAML: no schema to compare


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_the_bundle_rejects_exactly_what_our_schema_check_rejects(path):
    check = validator(bundle())
    docs = fixture_documents(path)
    for doc in docs:
        ours = bool(schema_problems(doc))
        assert bool(list(check.iter_errors(doc.data))) == ours, (doc.subject, schema_problems(doc))
        if ours and isinstance(doc.data, dict) and doc.data.get("kind") in KIND_SCHEMAS:
            assert list(validator(bundle(doc.data["kind"])).iter_errors(doc.data))


def test_some_fixtures_are_schema_errors_and_some_are_not():
    verdicts = {bool(schema_problems(d)) for p in INVALID for d in fixture_documents(p)}
    assert verdicts == {True, False}


def test_the_bundle_refuses_a_document_of_one_kind_with_fields_of_another():
    network = {"apiVersion": "netreconcile/v1", "kind": "Network", "metadata": {"name": "a"},
               "spec": {"driver": "bridge", "interfaces": [{"network": "a"}]}}
    assert list(validator(bundle()).iter_errors(network))
    network["spec"].pop("interfaces")
    assert not list(validator(bundle()).iter_errors(network))
    assert list(validator(bundle("Endpoint")).iter_errors(network))
