"""A JSON Schema (2020-12) compiled into one Python predicate: whether a document is valid, no messages.

Its verdict is jsonschema's Draft202012Validator's with our format checker, keyword for keyword (the
same type rules, `equal` and `uniq` semantics, `re.search` patterns and format checks), for the
keywords our schemas use; a schema with any other keyword is not compiled (Unsupported). It checks a
thousand documents in a tenth of jsonschema's time and without importing it (50 ms of every
command's start): schema.py asks it first and runs jsonschema only on what it finds invalid, for
the messages.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable, Mapping, Sequence
from ipaddress import AddressValueError, IPv4Address, IPv6Address, ip_network
from itertools import pairwise
from typing import Any

Check = Callable[[Any], bool]
Formats = Mapping[str, Check]


class Unsupported(Exception):
    """A schema uses a keyword (or a type, or a format) the compiler does not know."""


# Keywords that assert nothing: annotations, and what other keywords read (then/else: by `if`).
IGNORED = frozenset({"title", "description", "markdownDescription", "default", "examples", "deprecated", "$schema",
                     "$id", "$defs", "$comment", "then", "else", "readOnly", "writeOnly"})


def compile_schema(schema: object, formats: Formats) -> Check:
    """The predicate of `schema` (its $refs already replaced by what they point to); Unsupported when
    it uses what this compiler does not know."""
    if schema is True:
        return _always
    if schema is False:
        return _never
    if not isinstance(schema, dict):
        raise Unsupported(f"schema {schema!r}")
    checks = []
    for keyword, value in schema.items():
        if keyword in IGNORED:
            continue
        build = _KEYWORDS.get(keyword)
        if build is None:
            raise Unsupported(f"keyword {keyword!r}")
        checks.append(build(value, schema, formats))
    return _every(checks)


def _always(_: object) -> bool:
    return True


def _never(_: object) -> bool:
    return False


def _every(checks: list[Check]) -> Check:
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]
    chain = tuple(checks)

    def check(x: object) -> bool:
        for one in chain:
            if not one(x):
                return False
        return True
    return check


def _is_number(x: object) -> bool:
    return isinstance(x, numbers.Number) and not isinstance(x, bool)


def _is_integer(x: object) -> bool:  # draft 4 on: a float with no fractional part is an integer
    return (isinstance(x, int) and not isinstance(x, bool)) or (isinstance(x, float) and x.is_integer())


TYPES: dict[str, Check] = {
    "array": lambda x: isinstance(x, list), "boolean": lambda x: isinstance(x, bool), "integer": _is_integer,
    "null": lambda x: x is None, "number": _is_number, "object": lambda x: isinstance(x, dict),
    "string": lambda x: isinstance(x, str),
}


def _type(value: object, schema: dict[str, Any], formats: Formats) -> Check:
    names = [str(n) for n in (value if isinstance(value, list) else [value]) if isinstance(n, str) and n in TYPES]
    if names != (value if isinstance(value, list) else [value]):
        raise Unsupported(f"type {value!r}")
    if len(names) == 1:
        return TYPES[names[0]]
    checks = tuple(TYPES[n] for n in names)
    return lambda x: any(c(x) for c in checks)


def _properties(value: dict[str, Any], schema: dict[str, Any], formats: Formats) -> Check:
    subs = tuple((name, compile_schema(sub, formats)) for name, sub in value.items())

    def check(x: object) -> bool:
        if not isinstance(x, dict):
            return True
        for name, sub in subs:
            if name in x and not sub(x[name]):
                return False
        return True
    return check


def _pattern_properties(value: dict[str, Any], schema: dict[str, Any], formats: Formats) -> Check:
    subs = tuple((re.compile(pattern), compile_schema(sub, formats)) for pattern, sub in value.items())
    return lambda x: not isinstance(x, dict) or all(
        sub(v) for pattern, sub in subs for k, v in x.items() if pattern.search(k))


def _additional_properties(value: object, schema: dict[str, Any], formats: Formats) -> Check:
    known = schema.get("properties", {})
    joined = "|".join(schema.get("patternProperties", {}))
    patterns = re.compile(joined) if joined else None

    def extras(x: dict[Any, Any]) -> list[Any]:
        return [k for k in x if k not in known and not (patterns and patterns.search(k))]
    if isinstance(value, dict):
        sub = compile_schema(value, formats)
        return lambda x: not isinstance(x, dict) or all(sub(x[k]) for k in extras(x))
    if not value:
        if patterns is None:  # no extra key: the keys a subset of the known ones, told by a set operation
            names = frozenset(known)
            return lambda x: not isinstance(x, dict) or x.keys() <= names
        return lambda x: not isinstance(x, dict) or not extras(x)
    return _always


def _property_names(value: object, schema: dict[str, Any], formats: Formats) -> Check:
    sub = compile_schema(value, formats)
    return lambda x: not isinstance(x, dict) or all(sub(k) for k in x)


def _required(value: list[str], schema: dict[str, Any], formats: Formats) -> Check:
    names = frozenset(value)
    return lambda x: not isinstance(x, dict) or x.keys() >= names


def _items(value: object, schema: dict[str, Any], formats: Formats) -> Check:
    if "prefixItems" in schema:
        raise Unsupported("keyword 'prefixItems'")
    if value is False:
        return lambda x: not isinstance(x, list) or not x
    sub = compile_schema(value, formats)

    def check(x: object) -> bool:
        if isinstance(x, list):
            for item in x:
                if not sub(item):
                    return False
        return True
    return check


def _const(value: object, schema: dict[str, Any], formats: Formats) -> Check:
    if isinstance(value, str):  # what `equal` does with a string
        return lambda x: x == value
    return lambda x: equal(x, value)


def _enum(value: list[Any], schema: dict[str, Any], formats: Formats) -> Check:
    return lambda x: any(equal(each, x) for each in value)


def _bound(test: Callable[[Any, Any], bool]) -> Callable[[Any, dict[str, Any], Formats], Check]:
    def build(value: Any, schema: dict[str, Any], formats: Formats) -> Check:
        return lambda x: not _is_number(x) or test(x, value)
    return build


def _sized(kind: type, test: Callable[[int, Any], bool]) -> Callable[[Any, dict[str, Any], Formats], Check]:
    def build(value: Any, schema: dict[str, Any], formats: Formats) -> Check:
        return lambda x: not isinstance(x, kind) or test(len(x), value)  # type: ignore[arg-type]  # a str, list or dict
    return build


def _unique_items(value: object, schema: dict[str, Any], formats: Formats) -> Check:
    if not value:
        return _always
    return lambda x: not isinstance(x, list) or uniq(x)


def _pattern(value: str, schema: dict[str, Any], formats: Formats) -> Check:
    search = re.compile(value).search
    return lambda x: not isinstance(x, str) or search(x) is not None


def _format(value: str, schema: dict[str, Any], formats: Formats) -> Check:
    if value not in formats:
        raise Unsupported(f"format {value!r}")
    return formats[value]


def _all_of(value: list[Any], schema: dict[str, Any], formats: Formats) -> Check:
    return _every([compile_schema(sub, formats) for sub in value])


def _any_of(value: list[Any], schema: dict[str, Any], formats: Formats) -> Check:
    subs = tuple(compile_schema(sub, formats) for sub in value)
    return lambda x: any(sub(x) for sub in subs)


def _one_of(value: list[Any], schema: dict[str, Any], formats: Formats) -> Check:
    subs = tuple(compile_schema(sub, formats) for sub in value)
    return lambda x: sum(1 for sub in subs if sub(x)) == 1


def _not(value: object, schema: dict[str, Any], formats: Formats) -> Check:
    sub = compile_schema(value, formats)
    return lambda x: not sub(x)


def _if(value: object, schema: dict[str, Any], formats: Formats) -> Check:
    test = compile_schema(value, formats)
    then = compile_schema(schema["then"], formats) if "then" in schema else _always
    otherwise = compile_schema(schema["else"], formats) if "else" in schema else _always
    return lambda x: then(x) if test(x) else otherwise(x)


_KEYWORDS: dict[str, Callable[[Any, dict[str, Any], Formats], Check]] = {
    "type": _type, "properties": _properties, "patternProperties": _pattern_properties,
    "additionalProperties": _additional_properties, "propertyNames": _property_names, "required": _required,
    "items": _items, "const": _const, "enum": _enum,
    "minimum": _bound(lambda x, v: not x < v), "maximum": _bound(lambda x, v: not x > v),
    "exclusiveMinimum": _bound(lambda x, v: not x <= v), "exclusiveMaximum": _bound(lambda x, v: not x >= v),
    "minItems": _sized(list, lambda n, v: not n < v), "maxItems": _sized(list, lambda n, v: not n > v),
    "minLength": _sized(str, lambda n, v: not n < v), "maxLength": _sized(str, lambda n, v: not n > v),
    "minProperties": _sized(dict, lambda n, v: not n < v), "maxProperties": _sized(dict, lambda n, v: not n > v),
    "uniqueItems": _unique_items, "pattern": _pattern, "format": _format,
    "allOf": _all_of, "anyOf": _any_of, "oneOf": _one_of, "not": _not, "if": _if,
}


# jsonschema's equality (jsonschema/_utils.py): True is not 1, False is not 0, also inside lists and mappings.
_TRUE, _FALSE = object(), object()


def _unbool(x: object) -> object:
    return _TRUE if x is True else _FALSE if x is False else x


def equal(one: object, two: object) -> bool:
    """Whether two values are equal as JSON Schema's const, enum and uniqueItems compare them."""
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return one == two
    if isinstance(one, Sequence) and isinstance(two, Sequence):
        return len(one) == len(two) and all(equal(a, b) for a, b in zip(one, two, strict=True))
    if isinstance(one, Mapping) and isinstance(two, Mapping):
        return len(one) == len(two) and all(key in two and equal(value, two[key]) for key, value in one.items())
    return _unbool(one) == _unbool(two)


def uniq(items: list[Any]) -> bool:
    """Whether no two items are equal (as `equal` says)."""
    try:
        ordered = sorted(_unbool(i) for i in items)  # type: ignore[type-var]  # a TypeError is handled
        return not any(equal(a, b) for a, b in pairwise(ordered))
    except (NotImplementedError, TypeError):
        seen: list[object] = []
        for item in map(_unbool, items):
            if any(equal(other, item) for other in seen):
                return False
            seen.append(item)
        return True


def _parses(parse: Callable[[str], object], error: type[Exception]) -> Callable[[str], object | None]:
    def parsed(text: str) -> object | None:
        try:
            return parse(text)
        except error:
            return None
    return parsed


_ipv4, _ipv6 = _parses(IPv4Address, AddressValueError), _parses(IPv6Address, AddressValueError)
_network = _parses(lambda text: ip_network(text, strict=False), ValueError)


def _is_ipv6(x: object) -> bool:
    if not isinstance(x, str):
        return True
    address = _ipv6(x)
    return address is not None and not getattr(address, "scope_id", "")


# jsonschema's own checks of these formats (jsonschema/_format.py), and our `cidr` (schema.py's).
FORMATS: dict[str, Check] = {
    "ipv4": lambda x: not isinstance(x, str) or _ipv4(x) is not None,
    "ipv6": _is_ipv6,
    "cidr": lambda x: not isinstance(x, str) or _network(x) is not None,
}
