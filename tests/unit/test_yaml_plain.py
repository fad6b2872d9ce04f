"""The one-pass build of plain YAML (reconciler/input/yamlplain.py) gives what the node tree's parse
gives (yamlload._load): the same data, of the same types, the same position of every node in the
same order, or the same problems; and it answers for the plain files manifests are."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.errors import ManifestError
from reconciler.input import yamlload
from reconciler.input.document import Document

pytestmark = pytest.mark.skipif(yamlload._FastLoader is None, reason="PyYAML built without libyaml")


def tree_parse(text: str) -> list[Document]:
    """The parse before the one-pass build: libyaml's parser, PyYAML's when libyaml refuses."""
    if yamlload._FastLoader is None or not text.isascii():
        return yamlload._load(yamlload._Loader, text, "f.yaml")
    try:
        return yamlload._load(yamlload._FastLoader, text, "f.yaml")
    except ManifestError:
        return yamlload._load(yamlload._Loader, text, "f.yaml")


def outcome(parse: Any, text: str) -> object:
    try:
        return [(_typed(d.data), list(d.positions.items()), d.file) for d in parse(text)]
    except ManifestError as err:
        return [(p.where, p.subject, p.message) for p in err.problems]


def _typed(value: object) -> object:
    """The value with the type of every part (1, 1.0 and True compare equal in Python)."""
    if isinstance(value, dict):
        return ("dict", [(_typed(k), _typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [_typed(v) for v in value])
    return (type(value).__name__, repr(value))


def same(text: str) -> None:
    assert outcome(lambda t: yamlload.load_text(t, "f.yaml"), text) == outcome(tree_parse, text)


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=8),
                    st.sampled_from(["yes", "no", "on", "~", "null", "0x1f", "0o17", "1_000", "1e3", ".inf", "-.nan",
                                     "2001-12-14", "=", "<<", "1:20", "", " a", "a: b", "#", "!x", "&a", "*a"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.one_of(SCALARS, st.just("k")), inner, max_size=4)), max_leaves=20)
SNIPPETS = ["&a ", "*a", "!!str ", "! ", "!!map ", "<<: {x: 1}\n", "k: 1\n", "k: 2\n", "- ", ": ", "{", "]", "\t",
            "? ", "%YAML 1.1\n", "---\n", "...\n", "x: &b [1]\ny: *b\n", "\"\\ud83d\\ude00\"", "2001-12-14 ", "\x07"]


def _dumped(docs: list[Any], how: int) -> str:
    if how == 0:
        return "\n---\n".join(json.dumps(d) for d in docs) + "\n"
    if how == 1:
        return "\n---\n".join(json.dumps(d, indent=2) for d in docs)
    return yaml.safe_dump_all(docs, default_flow_style=[False, True, None][how - 2], sort_keys=False)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(VALUES, min_size=1, max_size=4), st.integers(0, 4), st.randoms(use_true_random=False))
def test_the_same_documents_or_problems_as_the_tree_parse(docs: list[Any], how: int, rng: random.Random) -> None:
    text = _dumped(docs, how)
    same(text)
    for _ in range(3):  # anchors, aliases, tags, merge keys, keys twice, broken syntax spliced in
        at = rng.randrange(len(text) + 1)
        text = text[:at] + rng.choice(SNIPPETS) + text[at:]
        same(text)


@pytest.mark.parametrize("text", [
    "a: 1\na: 2\n", "a: 1\n'a': 2\n", "a: 1\n1: 2\n'1': 3\n", "<<: {a: 1}\nb: 2\n", "a: &x 1\nb: *x\n",
    "a: !!str 1\n", "a: ! 1\n", "when: 2001-12-14\n", "= : 1\n", "[" * 101 + "]" * 101, "[" * 99 + "]" * 99,
    "a: [1, 2\n", "---\n---\na: 1\n...\n", "", "# only a comment\n", "{\"a\": \"\\ud83d\\ude00\"}\n",
    "? [1]\n: 2\n", "a:\n  - b: 1\n    b: 2\n", "x: 1\n---\nx: 1\nx: 1\n",
])
def test_the_same_on_edge_cases(text: str) -> None:
    same(text)


def test_a_document_past_the_node_bound_is_left_to_the_tree_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlload, "MAX_NODES", 10)
    same("[" + ", ".join(["1"] * 10) + "]\n")
    same("[" + ", ".join(["1"] * 8) + "]\n")


def test_plain_manifests_are_built_in_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """The JSON of the benchmark's manifests, and block YAML, never reach the node tree's parse."""
    text = "\n---\n".join(json.dumps({"kind": "Endpoint", "metadata": {"name": f"e{i}"}, "spec": {"interfaces": [{"network": "n0"}]}})
                          for i in range(3)) + "\n---\nkind: Network\nmetadata: {name: n0}\nspec:\n  mtu: 1500\n"
    expected = outcome(tree_parse, text)

    def refused(*_: object) -> None:
        raise AssertionError("parsed through the node tree")
    monkeypatch.setattr(yamlload, "_load", refused)
    assert outcome(lambda t: yamlload.load_text(t, "f.yaml"), text) == expected
