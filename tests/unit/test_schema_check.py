"""The compiled schema check (reconciler/input/schema_check.py): its verdict is jsonschema's on every
manifest of the repository and on many mutations of them, so the fast path lets nothing through
that jsonschema refuses, and refuses nothing jsonschema accepts."""

from __future__ import annotations

import copy
import random
import sys
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from reconciler.errors import ManifestError
from reconciler.input.manifest import load_paths
from reconciler.input.schema import (
    KIND_SCHEMAS,
    UNSHOWN,
    _compiled,
    _dereferenced,
    _validator,
    control_character,
    format_checker,
    load_schema,
    schema_problems,
)
from reconciler.input.schema_check import (
    FORMATS,
    Unsupported,
    compile_schema,
    equal,
    uniq,
)

REPO = Path(__file__).resolve().parents[2]


def corpus() -> list[tuple[str, object]]:
    """(kind, data) of every document of a known kind in the repository's manifests and fixtures."""
    found = []
    for path in sorted(p for folder in ("manifests", "docs", "tests/fixtures") for p in (REPO / folder).rglob("*.y*ml")):
        try:
            docs = load_paths([str(path)])
        except ManifestError:
            continue
        found += [(d.kind, d.data) for d in docs if d.kind in KIND_SCHEMAS]
    return found + [("AddressPools", POOLS)]


POOLS = {"apiVersion": "netreconcile/v1", "kind": "AddressPools", "metadata": {"name": "pools"},
         "spec": {"pools": [{"base": "10.90.0.0/16", "size": 24}, {"base": "fd00:90::/48", "size": 64}]}}  # the README's


CORPUS = corpus()


def jsonschema_valid(kind: str, data: object) -> bool:
    return not any(True for _ in _validator(kind).iter_errors(data))


def compiled_valid(kind: str, data: object) -> bool:
    check = _compiled(kind)
    assert check is not None
    return check(data)


def test_every_kind_compiles_and_the_corpus_covers_them():
    assert all(_compiled(kind) is not None for kind in KIND_SCHEMAS)
    assert {kind for kind, _ in CORPUS} == set(KIND_SCHEMAS)
    assert len(CORPUS) > 100


@pytest.mark.parametrize(("kind", "data"), CORPUS, ids=lambda v: v if isinstance(v, str) else "")
def test_the_verdict_is_jsonschemas_on_the_corpus(kind, data):
    assert compiled_valid(kind, data) == jsonschema_valid(kind, data)


# Values a mutation puts somewhere: of every JSON type, near the edges of our schemas' bounds and formats.
ODD_VALUES = [None, True, False, 0, 1, -1, 1.0, 1.5, 68, 1279, 1280, 65535, 65536, 4095, 4096, 16777215, 16777216,
              "", "x", "eth0", "a" * 16, "br-frontend", "1.2.3.4", "01.2.3.4", "256.1.1.1", "fe80::1", "fe80::1%eth0",
              "10.0.0.0/8", "10.0.0.1/8", "10.0.0.0/33", "::/0", "02:42:ac:14:00:0a", "bridge", "macvlan", "ipvlan",
              "overlay", "host", "auto", "tcp", "udp", "l2", "l3", "bridge-mode", "private", "passthru", [], [1], ["a", "a"],
              [{"network": "n"}], {}, {"name": "x"}, {"subnet": "10.0.0.0/24"}, "netreconcile/v1", "Network", "Endpoint"]


def paths(node: object, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += paths(value, (*prefix, index))
    return out


def mutated(data: object, rng: random.Random) -> object:
    """`data` with one node replaced, removed, or given an extra key."""
    data = copy.deepcopy(data)
    path = rng.choice(paths(data)[1:] or [()])
    if not path:
        return data
    parent = data
    for step in path[:-1]:
        parent = parent[step]
    how = rng.random()
    if how < 0.6:
        parent[path[-1]] = copy.deepcopy(rng.choice(ODD_VALUES))
    elif how < 0.8:
        del parent[path[-1]]
    elif isinstance(parent, dict):
        parent[rng.choice(["extra", "name", "mtu", "driver", "ipam", "subnets", "mode", path[-1]])] = copy.deepcopy(rng.choice(ODD_VALUES))
    return data


def test_the_verdict_is_jsonschemas_on_many_mutations():
    rng = random.Random(23)
    verdicts = {True: 0, False: 0}
    for _ in range(3000):
        kind, data = rng.choice(CORPUS)
        for _ in range(rng.randint(1, 3)):
            data = mutated(data, rng)
        expected = jsonschema_valid(kind, data)
        assert compiled_valid(kind, data) == expected, (kind, data)
        verdicts[expected] += 1
    assert min(verdicts.values()) > 100  # both verdicts are exercised


JSON = st.recursive(st.none() | st.booleans() | st.integers(-2, 70000) | st.floats(allow_nan=False) | st.sampled_from(ODD_VALUES[16:]),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["name", "network", "subnet", "mtu", "x"]), inner, max_size=3),
                    max_leaves=8)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(range(len(CORPUS))), st.randoms(use_true_random=False), JSON)
def test_the_verdict_is_jsonschemas_on_any_value_anywhere(index, rng, value):
    kind, data = CORPUS[index]
    data = copy.deepcopy(data)
    path = rng.choice(paths(data)[1:])
    parent = data
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    assert compiled_valid(kind, data) == jsonschema_valid(kind, data)


FORMAT_SAMPLES = ["1.2.3.4", "0.0.0.0", "255.255.255.255", "01.2.3.4", "1.2.3", "1.2.3.4 ", " 1.2.3.4", "1.2.3.4\n",
                  "256.0.0.1", "::", "::1", "fe80::1", "fe80::1%eth0", "::ffff:1.2.3.4", "1::2::3", "10.0.0.0/8",
                  "10.0.0.1/8", "10.0.0.0/33", "10.0.0.0/08", "fd00::/64", "fd00::1/129", "", "x", 5, None, True, 1.5]


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_the_formats_are_jsonschemas(fmt):
    checker = format_checker()
    for sample in FORMAT_SAMPLES:
        assert FORMATS[fmt](sample) == checker.conforms(sample, fmt), (fmt, sample)


def test_equality_and_uniqueness_keep_true_apart_from_one():
    assert not equal(True, 1) and not equal([0], [False]) and equal({"a": [1]}, {"a": [1.0]})
    assert uniq([1, True]) and not uniq([1, 1.0]) and not uniq([{"a": 1}, {"a": 1}]) and uniq([[1], [True]])


def test_an_unknown_keyword_type_or_format_is_not_compiled():
    for schema in ({"multipleOf": 2}, {"type": "decimal"}, {"format": "email"}, {"$ref": "#/x"}, {"items": {}, "prefixItems": []}):
        with pytest.raises(Unsupported):
            compile_schema(schema, FORMATS)


def test_a_document_the_compiled_check_refuses_gets_jsonschemas_messages(tmp_path):
    path = tmp_path / "n.yaml"
    path.write_text("apiVersion: netreconcile/v1\nkind: Network\nmetadata: {name: n}\nspec:\n  driver: bridge\n  mtu: 99\n")
    (doc,) = load_paths([str(path)])
    (found,) = schema_problems(doc)
    assert (found.where.line, found.where.column) == (6, 3) and "spec.mtu: 99 is less than the minimum of 1280" in found.message


SCHEMA_VALUED = ("additionalProperties", "propertyNames", "items", "not", "if", "then", "else")


def subschemas(node: object) -> list[dict]:
    """Every schema inside a (dereferenced) schema, itself included."""
    if not isinstance(node, dict):
        return []
    found = [node]
    for keyword in ("properties", "patternProperties", "$defs"):
        for sub in node.get(keyword, {}).values():
            found += subschemas(sub)
    for keyword in SCHEMA_VALUED:
        found += subschemas(node.get(keyword))
    for keyword in ("allOf", "anyOf", "oneOf"):
        for sub in node.get(keyword, []):
            found += subschemas(sub)
    return found


def edges(node: dict) -> list[object]:
    """Values at and around each bound of `node`, and its enum and const values."""
    values: list[object] = []
    for keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        if keyword in node:
            bound = node[keyword]
            values += [bound - 1, bound, bound + 1, bound - 0.5, bound + 0.5, float(bound), str(bound)]
    for keyword, make in (("minLength", lambda n: "a" * n), ("maxLength", lambda n: "a" * n),
                          ("minItems", lambda n: [f"i{i}" for i in range(n)]), ("maxItems", lambda n: [f"i{i}" for i in range(n)]),
                          ("minProperties", lambda n: {f"k{i}": 1 for i in range(n)})):
        if keyword in node:
            values += [make(n) for n in range(max(0, node[keyword] - 1), node[keyword] + 2)]
    values += list(node.get("enum", [])) + ([node["const"]] if "const" in node else [])
    return values


def schema_nodes() -> list[dict]:
    return [n for f in KIND_SCHEMAS.values() for n in subschemas(_dereferenced(load_schema(f), f))]


def test_the_verdict_is_jsonschemas_at_every_bound_of_every_subschema():
    nodes = schema_nodes()
    candidates = ODD_VALUES + FORMAT_SAMPLES + [v for n in nodes for v in edges(n)]
    assert len(nodes) > 200
    for node in nodes:
        reference = Draft202012Validator(node, format_checker=format_checker())
        check = compile_schema(node, FORMATS)
        for value in candidates:
            assert check(value) == reference.is_valid(value), (node, value)


# Keywords our manifest schemas use rarely or not yet (oneOf: the output schemas), each against jsonschema.
SYNTHETIC = [
    {"oneOf": [{"required": ["a"]}, {"required": ["b"]}]},
    {"anyOf": [{"type": "integer"}, {"format": "ipv4"}]},
    {"not": {"type": ["string", "null"]}},
    {"if": {"required": ["a"]}, "then": {"required": ["b"]}, "else": {"maxProperties": 1}},
    {"patternProperties": {"^x": {"type": "integer"}}, "additionalProperties": False},
    {"properties": {"a": {}}, "additionalProperties": {"type": "string"}},
    {"propertyNames": {"pattern": "^[a-z]+$", "maxLength": 2}},
    {"items": False}, {"items": {"enum": [1, "a", None]}}, {"uniqueItems": True}, {"const": [1, {"a": False}]},
    {"type": "array", "minItems": 1, "maxItems": 2}, {"exclusiveMinimum": 1, "exclusiveMaximum": 3}, True, False,
]
SYNTHETIC_VALUES = [{}, {"a": 1}, {"b": 1}, {"a": 1, "b": 2}, {"x1": 1}, {"x1": "1"}, {"y": "s"}, {"ab": 1}, {"abc": 1},
                    {"A": 1}, [], [1], [1, 1], [1, True], [1, 1.0], ["a", None], [1, 2, 3], [[1], [True]], [1, {"a": False}],
                    [1, {"a": 0}], 0, 1, 1.5, 2, 3, 3.0, True, None, "1.2.3.4", "x", "ab"]


@pytest.mark.parametrize("schema", SYNTHETIC, ids=str)
def test_the_verdict_is_jsonschemas_for_every_keyword(schema):
    reference = Draft202012Validator(schema, format_checker=format_checker())
    check = compile_schema(schema, FORMATS)
    for value in SYNTHETIC_VALUES:
        assert check(value) == reference.is_valid(value), value


def test_every_unshown_character_is_found_past_the_printable_fast_pass():
    unshown = [c for c in map(chr, range(sys.maxunicode + 1)) if unicodedata.category(c) in UNSHOWN]
    assert len(unshown) > 2000
    assert all(control_character(f"name{c}") for c in unshown)
    assert control_character("plain name\u00e9") is None
