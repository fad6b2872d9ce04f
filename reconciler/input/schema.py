"""JSON Schema (2020-12) validation of manifest documents, errors mapped to file:line."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping
from functools import cache
from ipaddress import ip_network
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.errors import NetreconcileError, Problem
from reconciler.input.manifest import Document
from reconciler.input.schema_check import FORMATS, Check, Unsupported, compile_schema

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator, FormatChecker
    from jsonschema.exceptions import ValidationError

KIND_SCHEMAS = {
    "Network": "network.schema.json", "Endpoint": "endpoint.schema.json", "Host": "host.schema.json",
    "Service": "service.schema.json", "AddressPools": "addresspools.schema.json",
}
API_VERSION = "netreconcile/v1"
Schema = dict[str, Any]


def _schema_dir() -> Path:
    source_tree = Path(__file__).resolve().parents[2] / "schemas"
    if source_tree.is_dir():
        return source_tree
    # an installed copy's schemas only: importlib.resources (and tempfile with it) take 4 ms to load
    from importlib import resources

    return Path(str(resources.files("reconciler.schemas")))


@cache
def load_schema(filename: str) -> Schema:
    loaded: Schema = json.loads((_schema_dir() / filename).read_text())
    return loaded


@cache
def _validator(kind: str) -> Draft202012Validator:
    # jsonschema and referencing take 50 ms to import: only for a document _compiled refuses
    from jsonschema import Draft202012Validator

    # referencing: jsonschema's, loaded with it
    from referencing import Registry, Resource

    registry: Registry = Registry()
    for filename in ("common.schema.json", *KIND_SCHEMAS.values()):
        schema = load_schema(filename)
        resource = Resource.from_contents(schema)
        registry = registry.with_resource(schema["$id"], resource).with_resource(filename, resource)
    schema = _dereferenced(load_schema(KIND_SCHEMAS[kind]), KIND_SCHEMAS[kind])
    return Draft202012Validator(schema, registry=registry, format_checker=_formats())


@cache
def _compiled(kind: str) -> Check | None:
    """The schema of `kind` as one predicate (schema_check.py), whose verdict is _validator's; None if
    it cannot be compiled (then _validator alone judges)."""
    try:
        return compile_schema(_dereferenced(load_schema(KIND_SCHEMAS[kind]), KIND_SCHEMAS[kind]), FORMATS)
    except Unsupported:
        return None


def _valid(kind: str, data: object) -> bool:
    """Whether the compiled schema finds `data` valid: False (and jsonschema judges) when it is not, or
    when it cannot tell (an error jsonschema, on the same value, raises or reports itself)."""
    check = _compiled(kind)
    try:
        return check is not None and check(data)
    except Exception:  # noqa: BLE001 (a value the compiled checks cannot compare: jsonschema's to judge)
        return False


ANNOTATIONS = frozenset({"title", "description", "markdownDescription", "default", "examples", "deprecated"})


def _dereferenced(node: object, filename: str) -> Any:
    """`node` with each $ref replaced by what it points to (our schemas have no recursion): the same
    verdicts and messages, without jsonschema resolving a reference per value it checks (half the
    validation time of a thousand documents). A $ref next to validation keywords joins them in allOf."""
    if isinstance(node, list):
        return [_dereferenced(item, filename) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _dereferenced(value, filename) for key, value in node.items() if key != "$ref"}
    if not isinstance(ref := node.get("$ref"), str):
        return out
    target_file, _, pointer = ref.partition("#")
    target_file = target_file or filename
    target = _dereferenced(_pointed(load_schema(target_file), pointer), target_file)
    if out.keys() <= ANNOTATIONS:
        return {**out, **target}
    return {**out, "allOf": [*out.get("allOf", []), target]}


def _pointed(schema: Schema, pointer: str) -> object:
    node: object = schema
    for part in filter(None, pointer.split("/")):
        assert isinstance(node, dict), f"$ref pointer {pointer} goes through a non-object"
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def format_checker() -> FormatChecker:
    """The formats our validation asserts: the standard ones, and `cidr` (a network like 172.20.0.0/24)."""
    return _formats()


def _formats() -> FormatChecker:
    from jsonschema import FormatChecker  # with jsonschema, only when it is needed

    checker = FormatChecker()
    checker.checks("cidr", raises=ValueError)(lambda value: not isinstance(value, str) or bool(ip_network(value, strict=False)))
    return checker


COMMON = "common.schema.json"
BUNDLE_FILE = "manifest.schema.json"


def bundle(kind: str | None = None) -> Schema:
    """One self-contained schema (every $ref internal, under $defs) for a document of `kind`, or of
    any kind (dispatching on `kind`) when None: what editors load through the $schema line."""
    if kind is not None:
        return _kind_bundle(kind)
    defs = _common_defs()
    for name, filename in sorted(KIND_SCHEMAS.items()):
        defs[name] = _inlined_schema(_without_meta(load_schema(filename)), f"#/$defs/{name}")
    return {
        "$schema": DRAFT, "title": "netreconcile manifest",
        "description": f"One document of any kind ({', '.join(sorted(KIND_SCHEMAS))}); `netreconcile validate` "
                       "also checks what a schema cannot (references between objects, overlaps, allocation).",
        "type": "object", "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {"apiVersion": {"const": API_VERSION}, "kind": {"enum": sorted(KIND_SCHEMAS)}},
        "allOf": [{"if": {"properties": {"kind": {"const": name}}, "required": ["kind"]},
                   "then": {"$ref": f"#/$defs/{name}"}} for name in sorted(KIND_SCHEMAS)],
        "$defs": defs,
    }


DRAFT = "https://json-schema.org/draft/2020-12/schema"


def _kind_bundle(kind: str) -> Schema:
    if kind not in KIND_SCHEMAS:
        raise NetreconcileError(f"unknown kind {kind!r} (known kinds: {', '.join(sorted(KIND_SCHEMAS))})")
    schema = _inlined_schema(_without_meta(load_schema(KIND_SCHEMAS[kind])), "#")
    own, common = schema.pop("$defs", {}), _common_defs()
    if clash := sorted(own.keys() & common.keys()):
        raise AssertionError(f"{KIND_SCHEMAS[kind]} redefines {clash} of {COMMON}")
    return {"$schema": DRAFT, **schema, "$defs": {**common, **own}}


def _common_defs() -> Schema:
    return _inlined_schema(load_schema(COMMON)["$defs"], "#")


def _without_meta(schema: Schema) -> Schema:
    """A schema without $schema and $id: nested, an $id would move the base its refs resolve against."""
    return {k: v for k, v in schema.items() if k not in ("$schema", "$id")}


def _inlined_schema(schema: Schema, local: str) -> Schema:
    inlined = _inlined(schema, local)
    assert isinstance(inlined, dict)
    return inlined


def _inlined(node: object, local: str) -> object:
    """`node` with its refs rewritten for the bundle: common.schema.json#X to #X, a local #X to `local`X."""
    if isinstance(node, list):
        return [_inlined(item, local) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _inlined(value, local) for key, value in node.items()}
    if isinstance(ref := node.get("$ref"), str):
        out["$ref"] = "#" + ref.removeprefix(COMMON + "#") if ref.startswith(COMMON + "#") else local + ref.removeprefix("#")
    return out


def bundle_text(kind: str | None = None) -> str:
    """The bundle as committed in schemas/manifest.schema.json: indented JSON and a final newline."""
    return json.dumps(bundle(kind), indent=2) + "\n"


def schema_problems(doc: Document) -> list[Problem]:
    """Every schema violation of one document, each at the position of the offending node."""
    if not isinstance(doc.data, dict):
        return [doc.problem("a manifest document must be a mapping with apiVersion, kind, metadata and spec")]
    kind = doc.data.get("kind")
    if not isinstance(kind, str) or kind not in KIND_SCHEMAS:
        known = ", ".join(sorted(KIND_SCHEMAS))
        return [doc.problem(f"unknown kind {kind!r} (known kinds: {known})", "kind")]
    if keys := _key_problems(doc):  # the schema's checks would only echo these, or let them through
        return keys
    if _valid(kind, doc.data):
        return []
    problems = [doc.problem(_message(e), *_path(e)) for e in _validator(kind).iter_errors(doc.data)]
    return sorted(problems, key=lambda p: (p.where.line, p.where.column))


def _key_problems(doc: Document) -> list[Problem]:
    """JSON Schema describes JSON, whose keys are strings; YAML reads an unquoted 1, true, on or ~ otherwise.
    Control characters, and the other characters UNSHOWN lists, are refused in every key and value
    (names reach the kernel, file paths, hosts files and terminals; a schema pattern's `$` would even
    let a final newline through), except in the free text of annotations (never printed raw)."""
    if _plain(doc.data):
        return []
    problems: list[Problem] = []

    def walk(node: object, path: list[str | int]) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(key, str):
                    problems.extend(_control_problems(doc, key, [*path, key], "key"))
                    walk(value, [*path, key])
                else:
                    field = ".".join(str(p) for p in path) or "document"
                    message = f"{field}: key {key!r} is not a string (YAML reads an unquoted number, date, yes/no, on/off or ~ as another type: quote it)"
                    problems.append(doc.problem(message, *path, str(key)))
        elif isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, [*path, index])
        elif isinstance(node, str) and path[:2] != ["metadata", "annotations"]:
            problems.extend(_control_problems(doc, node, path, "value"))

    walk(doc.data, [])
    return problems


def _plain(node: object) -> bool:
    """Every key a string, every key and string printable: nothing _key_problems could find (str.isprintable
    is false for every UNSHOWN character), told without building the path of each node (a third of its time)."""
    if isinstance(node, dict):
        for key, value in node.items():  # loops, not all() over generators: half the time
            if not (isinstance(key, str) and key.isprintable() and _plain(value)):
                return False
        return True
    if isinstance(node, list):
        for item in node:
            if not _plain(item):
                return False
        return True
    return not isinstance(node, str) or node.isprintable()


# Characters a terminal does not show as themselves: control characters (C0, DEL, C1) and, as invisible
# or reordering (bidi overrides, zero-width joiners, the BOM) or line-breaking as they are, format
# characters, the line and paragraph separators and lone surrogates. Any of them can make a plan line
# read differently from what it does.
UNSHOWN = {"Cc": "control character", "Cf": "format character", "Zl": "line separator", "Zp": "paragraph separator",
           "Cs": "surrogate"}


def control_character(text: str) -> str | None:
    """The first character of `text` a terminal does not show as itself (UNSHOWN), described as
    "control character U+0007" or "format character U+202E (RIGHT-TO-LEFT OVERRIDE)", or None."""
    if text.isprintable():  # str.isprintable is false for every UNSHOWN category (and a few more): a fast pass
        return None
    found = next((c for c in text if unicodedata.category(c) in UNSHOWN), None)
    if found is None:
        return None
    category = unicodedata.category(found)
    name = f" ({unicodedata.name(found, 'unnamed')})" if category == "Cf" else ""  # which of the many it is
    return f"{UNSHOWN[category]} U+{ord(found):04X}{name}"


def _control_problems(doc: Document, text: str, path: list[str | int], what: str) -> list[Problem]:
    found = control_character(text)
    if found is None:
        return []
    field = ".".join(str(p) for p in (path[:-1] if what == "key" else path)) or "document"
    return [doc.problem(f"{field}: {what} {text!r} holds the {found}: names and values must be printable", *path)]


def _path(error: ValidationError) -> list[str | int]:
    """The offending node: for an unknown field, the first unexpected key rather than its mapping."""
    path = list(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = error.schema.get("properties", {}) if isinstance(error.schema, Mapping) else {}
        path += [k for k in error.instance if k not in known][:1]
    return path


def _message(error: ValidationError) -> str:
    field = ".".join(str(p) for p in error.absolute_path) or "document"
    if error.validator == "additionalProperties":
        return f"{field}: {error.message}"
    if error.validator == "type" and error.validator_value == "string" and isinstance(error.instance, int):
        return f"{field}: {error.instance!r} is not a string (YAML reads unquoted 02:42:... as a number: quote it)"
    if error.validator == "anyOf" and isinstance(error.schema, Mapping) \
            and error.schema.get("anyOf") == [{"format": "ipv4"}, {"format": "ipv6"}]:
        return f"{field}: {error.instance!r} is not an IPv4 or IPv6 address"
    if error.validator == "format" and error.validator_value == "cidr":
        return f"{field}: {error.instance!r} is not a network in CIDR notation (like 172.20.0.0/24)"
    if error.validator == "minimum" and list(error.absolute_path) == ["spec", "mtu"]:
        return (f"{field}: {error.message} (IPv6's minimum: below it the kernel drops a link's IPv6 settings, "
                "which netreconcile sets on every link it makes)")
    if error.validator == "const" and error.absolute_path and error.absolute_path[-1] == "apiVersion":
        return f"apiVersion must be {API_VERSION!r}, not {error.instance!r}"
    return f"{field}: {error.message}"
