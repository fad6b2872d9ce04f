"""validate -o json, valid or not, and the documented shapes: every output checked against its
JSON Schema (schemas/output-*.schema.json), which docs/output.md describes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from reconciler.cli.render import FORMAT_VERSION
from reconciler.errors import ManifestError
from reconciler.input.validate import load_manifests

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "schemas"
OUTPUTS = sorted(SCHEMAS.glob("output-*.schema.json"))


def output_validator(name: str) -> Draft202012Validator:
    """The validator of schemas/output-NAME.schema.json, its refs to the other output schemas resolved."""
    registry: Registry = Registry()
    for path in OUTPUTS:
        schema = json.loads(path.read_text())
        registry = registry.with_resource(schema["$id"], Resource.from_contents(schema))
    return Draft202012Validator(json.loads((SCHEMAS / f"output-{name}.schema.json").read_text()), registry=registry)


def assert_shape(name: str, body: dict) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in output_validator(name).iter_errors(body)]
    assert not errors, errors


def validate_json(*paths: str) -> tuple[int, dict, str]:
    result = subprocess.run([sys.executable, "-m", "reconciler", "validate", *paths, "-o", "json"],
                            check=False, capture_output=True, text=True, cwd=REPO)
    return result.returncode, json.loads(result.stdout), result.stderr


@pytest.mark.parametrize("path", OUTPUTS, ids=[p.name for p in OUTPUTS])
def test_each_output_schema_is_a_valid_schema_of_this_format_version(path):
    schema = json.loads(path.read_text())
    Draft202012Validator.check_schema(schema)
    assert f'"formatVersion": {{"const": {FORMAT_VERSION}}}' in path.read_text()


def test_valid_manifests_give_the_names_of_what_they_declare():
    code, body, stderr = validate_json("manifests/")
    assert code == 0 and stderr == ""
    assert_shape("validate", body)
    m = load_manifests(["manifests/"])
    assert body["valid"] is True and body["networks"] == [n.name for n in m.networks]
    assert body["endpoints"] == [e.name for e in m.endpoints]


INVALID = ["tests/fixtures/invalid/address-is-gateway.yaml", "tests/fixtures/invalid/unknown-field.yaml",
           "tests/fixtures/invalid/bad-type.yaml", "tests/fixtures/invalid/overlapping-subnets.yaml"]


def test_invalid_manifests_give_every_problem_located_on_stdout_and_the_text_on_stderr():
    code, body, stderr = validate_json(*INVALID)
    assert code == 1
    assert_shape("validate", body)
    assert_shape("error", body)
    with pytest.raises(ManifestError) as caught:
        load_manifests(INVALID)
    expected = [{"file": p.where.file, "line": p.where.line, "column": p.where.column, "object": p.subject or None,
                 "message": p.message} for p in caught.value.problems]
    assert body["valid"] is False and body["error"]["type"] == "invalid-manifests"
    assert body["error"]["problems"] == expected and len(expected) >= 4
    assert body["error"]["messages"] == [str(p) for p in caught.value.problems]
    assert stderr.splitlines() == [*body["error"]["messages"], f"{len(expected)} problem(s) found; nothing was changed."]
    assert all(p["line"] > 0 and p["column"] > 0 for p in expected)


def test_a_problem_outside_any_document_has_no_object():
    code, body, _ = validate_json("tests/fixtures/invalid/yaml-syntax.yaml", "does/not/exist.yaml")
    assert code == 1
    assert_shape("validate", body)
    assert all(p["object"] is None for p in body["error"]["problems"]), body
    assert any(p["file"] == "does/not/exist.yaml" for p in body["error"]["problems"])


def test_the_shapes_are_strict_so_the_documentation_cannot_fall_behind():
    _, body, _ = validate_json("manifests/")
    assert_shape("validate", body)
    with pytest.raises(AssertionError):
        assert_shape("validate", {**body, "undocumented": 1})
    with pytest.raises(AssertionError):
        assert_shape("validate", {**body, "formatVersion": FORMAT_VERSION + 1})


def test_docs_output_md_names_every_output_schema_and_error_type():
    text = (REPO / "docs" / "output.md").read_text()
    for path in OUTPUTS:
        assert path.name in text, path.name
    error = json.loads((SCHEMAS / "output-error.schema.json").read_text())
    for kind in error["properties"]["error"]["properties"]["type"]["enum"]:
        assert f"`{kind}`" in text, kind


WITHOUT_DAC = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]  # root, but bound by file modes


def validate_json_as(prefix: list[str], *paths: str) -> tuple[int, dict, str]:
    result = subprocess.run([*prefix, sys.executable, "-m", "reconciler", "validate", *paths, "-o", "json"],
                            capture_output=True, text=True, cwd=REPO, check=False)
    return result.returncode, json.loads(result.stdout), result.stderr


def test_a_missing_path_is_named_without_a_position():
    code, body, stderr = validate_json("does/not/exist.yaml")
    assert code == 1
    assert_shape("validate", body)
    assert body["error"]["problems"] == [{"file": "does/not/exist.yaml", "line": None, "column": None, "object": None,
                                          "message": "no such file or directory"}]
    assert stderr.splitlines()[0] == "does/not/exist.yaml: no such file or directory"


def test_an_unreadable_file_is_named_with_the_reason_without_a_position(tmp_path):
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to make a file that cannot be read")
    path = tmp_path / "a.yaml"
    path.write_text("kind: Network\n")
    path.chmod(0)
    code, body, stderr = validate_json_as(WITHOUT_DAC, str(path))
    assert code == 1
    assert_shape("validate", body)
    assert body["error"]["problems"] == [{"file": str(path), "line": None, "column": None, "object": None,
                                          "message": "cannot read: Permission denied"}]
    assert stderr.splitlines()[0] == f"{path}: cannot read: Permission denied"
