"""netreconcile-manifests(5): the manifest format, made from the bundled JSON Schema (every field, its
type, default and description), so that it cannot drift from what `validate` checks. Built into the
wheel's data files (setup.py) as share/man/man5/netreconcile-manifests.5."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import reconciler.cli.roff as roff
from reconciler.cli.version import version
from reconciler.input.schema import KIND_SCHEMAS, bundle

NAME = "netreconcile-manifests"
MAX_DEPTH = 8  # deeper than any field; a schema that refers to itself stops here
DESCRIPTION = """Manifests are YAML files (*.yaml, *.yml, read recursively from the folders given) holding documents
of four kinds: Network, Endpoint, Host and Service. Each document has apiVersion (netreconcile/v1),
kind, metadata (a name, labels, annotations) and spec, whose fields follow for each kind: a field
path (a[] is each item of the list a), its type, its default, and what it means.

`netreconcile validate` checks them against this schema, then checks what a schema cannot
(references between objects, overlaps, allocation). `netreconcile schema [KIND]` prints the schema
itself, for editors."""
EXAMPLE = """apiVersion: netreconcile/v1
kind: Network
metadata: {name: front}
spec: {driver: bridge, ipam: {subnet: 172.20.0.0/24}}
---
apiVersion: netreconcile/v1
kind: Endpoint
metadata: {name: web1}
spec: {interfaces: [{network: front, ipv4Address: 172.20.0.10}]}"""


@dataclass(frozen=True)
class Field:
    """One field of a kind: its dotted path, what values it takes, its default and its description."""

    path: str
    values: str
    default: str
    description: str
    required: bool


def page() -> str:
    whole = bundle()
    parts = [roff.header(NAME, 5, version(), "File Formats"),
             roff.section("name"), roff.text(f"{NAME} - the manifests netreconcile applies"),
             roff.section("synopsis"), roff.text("/etc/netreconcile/manifests/*.yaml"),
             roff.section("description"), roff.paragraphs(str(whole.get("description", ""))),
             roff.paragraphs(DESCRIPTION),
             roff.section("metadata"), *map(_item, fields(bundle("Network"), only="metadata"))]
    for kind in sorted(KIND_SCHEMAS):
        schema = bundle(kind)
        parts += [roff.section(f"kind: {kind}"), roff.paragraphs(str(schema.get("description", ""))),
                  *map(_item, fields(schema, only="spec"))]
    parts += [roff.section("example"), f".PP\n.nf\n{roff.text(EXAMPLE)}\n.fi",
              roff.section("see also"), r"\fBnetreconcile\fR(8)"]
    return "\n".join(filter(None, parts)) + "\n"


def _item(field: Field) -> str:
    facts = [field.values, *(["required"] if field.required else []),
             *([f"default {field.default}"] if field.default else [])]
    return roff.item(field.path, f"({', '.join(filter(None, facts))}) {field.description}".replace("() ", ""))


def fields(schema: dict[str, Any], only: str) -> list[Field]:
    """The fields under the top-level property `only` (spec, metadata), depth first."""
    defs = schema.get("$defs", {})
    top = _resolved(schema, defs)
    return list(_walk(_properties(top, defs).get(only, {}), defs, only, 0))


def _walk(node: dict[str, Any], defs: dict[str, Any], path: str, depth: int) -> Iterator[Field]:
    node = _resolved(node, defs)
    if depth > MAX_DEPTH:
        return
    required = set(node.get("required", []))
    for name, sub in _properties(node, defs).items():
        sub = _resolved(sub, defs)
        here = f"{path}.{name}"
        yield Field(here, _values(sub, defs), _default(sub), str(sub.get("description", "")), name in required)
        yield from _walk(sub, defs, here, depth + 1)
        items = _resolved(sub.get("items", {}), defs) if isinstance(sub.get("items"), dict) else {}
        if _properties(items, defs):
            yield from _walk(items, defs, here + "[]", depth + 1)


def _resolved(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """`node` merged over what its $ref points to (#/$defs/X): its own keys win (a description of its
    own). A target without a type (a constraint such as `printable`) lends no description."""
    ref = node.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/$defs/"):
        return node
    target = _resolved(defs.get(ref.removeprefix("#/$defs/"), {}), defs)
    if "type" not in target:
        target = {k: v for k, v in target.items() if k != "description"}
    return {**target, **{k: v for k, v in node.items() if k != "$ref"}}


def _properties(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """The properties of `node`, with those of its branches (allOf, anyOf, oneOf, then and else: the
    forms a field takes)."""
    found = dict(node.get("properties", {}))
    branches = [b for key in ("allOf", "anyOf", "oneOf") for b in node.get(key, [])]
    for branch in branches + [node[k] for k in ("then", "else") if isinstance(node.get(k), dict)]:
        for name, sub in _properties(_resolved(branch, defs), defs).items():
            found.setdefault(name, sub)
    return found


def _values(node: dict[str, Any], defs: dict[str, Any]) -> str:
    if "const" in node:
        return json.dumps(node["const"])
    if "enum" in node:
        return "one of " + ", ".join(map(str, node["enum"]))
    kinds = node.get("type") or sorted({str(_resolved(b, defs).get("type", "")) for b in node.get("anyOf", [])} - {""})
    text = " or ".join(kinds) if isinstance(kinds, list) else str(kinds)
    if node.get("format"):
        text += f" ({node['format']})"
    if "minimum" in node and "maximum" in node:
        text += f" {node['minimum']} to {node['maximum']}"
    if text == "array" and isinstance(node.get("items"), dict):
        text = f"list of {_values(_resolved(node['items'], defs), defs) or 'values'}"
    return text


def _default(node: dict[str, Any]) -> str:
    return json.dumps(node["default"]) if "default" in node else ""
