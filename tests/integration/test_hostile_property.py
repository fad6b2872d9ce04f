"""Hostile values, drawn from the manifests' own JSON Schema, through the real CLI in a sandbox.

Each example starts from valid manifests (tests/unit/test_fuzz.py builds them: networks, endpoints,
static addresses, sysctls) and puts hostile values where the schema allows a field: strings that match
the field's pattern but end in a newline, carry control characters or name something the kernel or
the host already uses (`lo`, `all`, `nr-…`, `localhost`), numbers at and past their bounds, addresses
and subnets from the special ranges. Fields the example lacks are added from the schema too.

The promise, whatever the input: `apply` either exits 1 with every problem located at `file:line:col`
and the kernel byte-identical, or it applies, the next plan is empty, and `destroy` leaves the kernel as
it found it. Never a traceback, never a failure mid-apply (that is input validation should have refused).
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
import yaml
from builders import snapshot
from hypothesis import HealthCheck, Phase, event, given, seed, settings
from hypothesis import strategies as st
from unit.test_fuzz import manifests, walk

from reconciler.errors import ManifestError
from reconciler.input.schema import bundle
from reconciler.input.validate import load_manifests

pytestmark = pytest.mark.kernel

# No shrinking: through the CLI it takes many minutes; the first failing example is reported whole.
CLI = settings(max_examples=40, deadline=None, database=None, phases=(Phase.explicit, Phase.generate),
               suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                      HealthCheck.filter_too_much, HealthCheck.data_too_large])
KERNEL = ("ip -d link", "ip addr", "ip route show table all", "ip -6 route show table all", "ip netns list",
          "nft list ruleset", "ls -lAR /etc/netns", "ls -lA /run/netns")
SCHEMA = bundle()
DEFS = SCHEMA["$defs"]
LOCATED = re.compile(r"^(error: )?\S+\.yaml:\d+:\d+: ")

# Strings each pattern-checked field gets besides the ones its pattern makes: names the kernel, the
# hosts file or netreconcile itself give a meaning, names that end in a newline (a `$` in a pattern
# matches before one), control characters, path separators, overlong text.
HOSTILE_STRINGS = [
    "lo", "all", "default", "localhost", "ip6-localhost", "nr-0a1b2c3d", "nrs-x", "dm-x", "ov-x", "vx-x", "eth0",
    "a\n", "eth0\n", "a.b", ".", "..", "a\x1b[2Ja", "a\x07", "a\rb", "a\x85b", "a/b", "a b", "-a", "é", "a" * 15,
    "a" * 16, "a" * 63, "a" * 64, "a" * 255, "a" * 256, "", " ",
]
HOSTILE_IPV4 = ["0.0.0.0", "127.0.0.1", "169.254.1.1", "224.0.0.1", "255.255.255.255", "240.0.0.1", "10.0.0.0"]
HOSTILE_IPV6 = ["::", "::1", "::ffff:10.0.0.1", "fe80::1", "ff02::1", "fd00::"]
HOSTILE_CIDRS = ["0.0.0.0/0", "0.0.0.0/1", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "240.0.0.0/4",
                 "10.0.0.0/7", "10.0.0.77/24", "10.9.9.0/31", "10.9.9.9/32", "::/0", "::1/128", "::ffff:0:0/96",
                 "fe80::/10", "ff00::/8", "fd00::/15", "fd00::/127", "fd00::/128"]


def resolve(node: dict) -> dict:
    """The node with its $ref (into the bundle's $defs) merged in."""
    while "$ref" in node:
        target: Any = SCHEMA
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def schema_at(kind: str, path: tuple) -> dict | None:
    """The schema of the value at `path` inside a document of `kind`; None where the schema has none."""
    node: dict | None = resolve(DEFS[kind])
    for step in path:
        if node is None:
            return None
        if isinstance(step, int):
            node = node.get("items")
        elif step in node.get("properties", {}):
            node = node["properties"][step]
        else:
            extra = node.get("additionalProperties")
            node = extra if isinstance(extra, dict) else None
        node = resolve(node) if node is not None else None
    return node


def from_schema(node: dict, depth: int = 0) -> st.SearchStrategy:
    """Values the schema node admits, plus the hostile ones of its type."""
    node = resolve(node)
    if "const" in node:
        return st.just(node["const"])
    if "enum" in node:
        return st.sampled_from(node["enum"])
    kind = node.get("type")
    if isinstance(kind, list):
        return st.one_of(*(from_schema({**node, "type": k}, depth) for k in kind))
    if kind == "string" or "format" in node or "anyOf" in node:
        return _strings(node)
    if kind == "integer":
        low, high = node.get("minimum", -(2**31)), node.get("maximum", 2**31)
        return st.one_of(st.integers(low, high), st.sampled_from([low, high, low - 1, high + 1, 0, 2**63]))
    if kind == "boolean":
        return st.booleans()
    if kind == "array" and depth < 3:
        return st.lists(from_schema(node.get("items", {}), depth + 1), max_size=3)
    if kind == "object" and depth < 3:
        return _objects(node, depth)
    return st.none()


def _strings(node: dict) -> st.SearchStrategy:
    formats = {node.get("format")} | {branch.get("format") for branch in node.get("anyOf", [])}
    special: list[str] = list(HOSTILE_STRINGS)
    made: list[st.SearchStrategy] = []
    if "ipv4" in formats:
        made.append(st.ip_addresses(v=4).map(str))
        special += HOSTILE_IPV4
    if "ipv6" in formats:
        made.append(st.ip_addresses(v=6).map(str))
        special += HOSTILE_IPV6
    if "cidr" in formats:
        special = HOSTILE_CIDRS + HOSTILE_CIDRS  # mostly special ranges, now and then a hostile string
    elif "pattern" in node:
        made.append(st.from_regex(node["pattern"], fullmatch=True).filter(lambda s: len(s) <= 300))
    if not made and "cidr" not in formats:
        made.append(st.text(max_size=20))
    return st.one_of(st.sampled_from(special), *made)


def _objects(node: dict, depth: int) -> st.SearchStrategy:
    properties = node.get("properties", {})
    required = {k: from_schema(properties.get(k, {}), depth + 1) for k in node.get("required", [])}
    optional = {k: from_schema(v, depth + 1) for k, v in properties.items() if k not in required}
    return st.fixed_dictionaries(required, optional=optional)


@st.composite
def hostile_manifests(draw) -> list[dict]:
    """Valid manifests with one to three fields set (or added) to values drawn from the schema."""
    docs = copy.deepcopy(draw(manifests()))
    if not docs:
        return docs
    for _ in range(draw(st.integers(1, 3))):
        doc = draw(st.sampled_from(docs))
        spots = [(p, v) for p, v in walk(doc) if p and p[0] in ("metadata", "spec")]
        path, value = draw(st.sampled_from(spots))
        node = schema_at(doc["kind"], path)
        if isinstance(value, dict) and node is not None and draw(st.booleans()):
            absent = [k for k in node.get("properties", {}) if k not in value]
            if absent:  # a field the example lacks, from the schema
                path = path + (draw(st.sampled_from(absent)),)
                node = schema_at(doc["kind"], path)
        if node is None:
            continue
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        parent[path[-1]] = draw(from_schema(node))
    return docs


def located(stderr: str) -> bool:
    """Every problem line names file:line:col (indented lines continue the one above), after `error: ` for
    a refusal of what the host lacks; the last line says nothing was changed."""
    lines = stderr.splitlines()
    problems = [line for line in lines[:-1] if not line.startswith(" ")]
    return bool(problems) and all(LOCATED.match(line) for line in problems) and "othing was changed" in lines[-1]


def check(sandbox, docs: list[dict], empty: dict[str, str]) -> None:
    path = sandbox.workdir / "hostile" / "m.yaml"
    path.parent.mkdir(exist_ok=True)
    text = yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    result = sandbox.nr("apply", str(path), check=False)
    said = f"exit {result.returncode}\n--- manifests\n{text}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    assert "Traceback" not in result.stdout + result.stderr and "internal error" not in result.stderr, said
    if result.returncode == 1:
        event("refused")
        assert located(result.stderr), f"an apply refused without a located message (or failed mid-way)\n{said}"
        assert snapshot(sandbox, *KERNEL) == empty, f"a refused apply changed the kernel\n{said}"
        return
    assert result.returncode == 0, said
    event("applied" if "Apply complete" in result.stdout else "nothing to apply")
    assert sandbox.plan_exitcode(path) == 0, f"the second plan is not empty\n{said}"
    destroyed = sandbox.nr("destroy", str(path), check=False)
    assert destroyed.returncode == 0, f"{said}\n--- destroy\n{destroyed.stdout}{destroyed.stderr}"
    assert snapshot(sandbox, *KERNEL) == empty, f"destroy left something behind\n{said}"


@CLI
@seed(20261205)
@given(docs=hostile_manifests())
def test_hostile_values_from_the_schema_are_refused_cleanly_or_converge(sandbox, docs):
    check(sandbox, docs, snapshot(sandbox, *KERNEL))


def test_the_generator_reaches_both_outcomes_and_the_hostile_values(tmp_path):
    """The generator is not vacuous: it makes documents validation accepts and documents it refuses, and
    hostile names and subnets reach the fields (checked in-process, without the kernel)."""
    seen = {"valid": 0, "refused": 0, "hostile": 0}
    target = tmp_path / "m.yaml"

    @settings(max_examples=150, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
    @given(docs=hostile_manifests())
    def sample(docs):
        dumped = json.dumps(docs, default=str)
        seen["hostile"] += any(h in dumped for h in ('"lo"', "nr-", "\\u001b", "\\n", "0.0.0.0/", "fe80::"))
        target.write_text(yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True), encoding="utf-8")
        try:
            load_manifests([str(target)])
            seen["valid"] += 1
        except ManifestError:
            seen["refused"] += 1

    sample()
    assert seen["valid"] >= 10 and seen["refused"] >= 10 and seen["hostile"] >= 10, seen
