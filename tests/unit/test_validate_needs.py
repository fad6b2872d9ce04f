"""The checks across endpoints that validate.semantic_problems skips on a tally (validate_index.Needs:
`_only(m, needs.X)`, or the endpoints `if needs.X`) may skip them only when they cannot give that
check a problem. A check added there later must get a tally of its own: these tests read the guarded
checks from semantic_problems' own code, so that none is added, or shares another's tally, unseen; and
find, over manifests that each check refuses, that a check its tally skips finds with the endpoints
exactly what it finds without them."""

from __future__ import annotations

import ast
import inspect
import textwrap
from dataclasses import fields
from functools import cache
from itertools import chain, combinations_with_replacement
from typing import Any

from reconciler.input import validate
from reconciler.input.spec import Manifests, Network
from reconciler.input.validate_index import EndpointIndex, Needs
from unit.helpers import endpoint, parse
from unit.test_validate_incremental import FILES, NETWORKS

# Each tally of Needs, and the one check across endpoints it lets semantic_problems skip them for.
GUARDED = {
    "names": "duplicates", "netns": "duplicates", "statics": "_address_clashes", "passthru": "_passthru_problems",
    "hosts": "_host_problems", "vips": "service_problems", "exposure": "exposure_problems",
    "hostnames": "name_problems", "bridge_ports": "limit_problems", "auto": "pool_problems", "dhcp": "dhcp_problems",
}
WHAT_TO_DO = (
    "A check across endpoints that semantic_problems runs behind a tally (`_only(m, needs.X)`) needs a "
    "field of Needs of its own, computed in Needs.of from EndpointIndex tallies that are nonzero whenever "
    "the endpoints may give that check a problem (or give the check `m` whole: it then walks them always). "
    "Then name it in GUARDED here, and add a file that the check refuses to test_validate_incremental.FILES.")


@cache
def guarded_calls() -> dict[str, list[ast.Call]]:
    """Each field of Needs that semantic_problems reads, and the calls of the checks it guards: the
    innermost call around `needs.X` but _only."""
    found: dict[str, list[ast.Call]] = {}

    def visit(node: ast.AST, call: ast.Call | None) -> None:
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id == "_only"):
            call = node
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "needs":
            assert call is not None, f"needs.{node.attr} outside a check's call: {WHAT_TO_DO}"
            found.setdefault(node.attr, []).append(call)
        for child in ast.iter_child_nodes(node):
            visit(child, call)

    visit(ast.parse(textwrap.dedent(inspect.getsource(validate.semantic_problems))), None)
    return found


def check_name(call: ast.Call) -> str:
    return ast.unparse(call.func)


def test_every_tally_guards_one_check_and_every_guarded_check_has_a_tally_of_its_own() -> None:
    calls = guarded_calls()
    shared = {field: [check_name(c) for c in found] for field, found in calls.items() if len(found) > 1}
    assert not shared, f"needs fields that guard more than one check: {shared}. {WHAT_TO_DO}"
    unused = {f.name for f in fields(Needs)} - set(calls)
    assert not unused, f"Needs fields that guard no check of semantic_problems: {sorted(unused)}"
    guarded = {field: check_name(found) for field, (found,) in calls.items()}
    assert guarded == GUARDED, f"semantic_problems' checks behind a tally are now {guarded}. {WHAT_TO_DO}"


def problems_of(call: ast.Call, m: Manifests, walk: bool) -> list[str]:
    """What the check of `call` finds in `m`, as semantic_problems runs it: the endpoints walked or skipped."""
    needs = Needs(**dict.fromkeys((f.name for f in fields(Needs)), walk))
    code = compile(ast.fix_missing_locations(ast.Expression(call)), "<semantic_problems>", "eval")
    return [str(p) for p in eval(code, vars(validate), {"m": m, "needs": needs})]


@cache
def cases() -> dict[str, Manifests]:
    """NETWORKS with each file of FILES, each two of them, all of them; and more endpoints than a bridge
    has ports for."""
    typed = {name: parse(text) for name, text in FILES.items()}
    typed["1024 endpoints on front"] = parse("".join(endpoint(f"e{i}", "[{network: front}]") for i in range(1024)))
    sets = [*combinations_with_replacement(sorted(FILES), 2), tuple(sorted(FILES)), ("1024 endpoints on front",)]
    networks = parse(NETWORKS).networks
    return {"+".join(names): joined(networks, [typed[n] for n in names]) for names in sets}


def joined(networks: tuple[Network, ...], parts: list[Manifests]) -> Manifests:
    def every(kind: str) -> tuple[Any, ...]:
        return tuple(chain.from_iterable(getattr(p, kind) for p in parts))

    return Manifests(networks, every("endpoints"), every("hosts"), every("services"))


def test_a_check_its_tally_skips_would_find_nothing_among_the_endpoints() -> None:
    refused: set[str] = set()
    for name, m in cases().items():
        needs = Needs.of(EndpointIndex.of(m.endpoints), m)
        for field, calls in guarded_calls().items():
            for call in calls:
                walked, skipped = problems_of(call, m, True), problems_of(call, m, False)
                assert getattr(needs, field) or walked == skipped, (
                    f"{name}: Needs.{field} says {check_name(call)} would find nothing among the endpoints, "
                    f"which give it {sorted(set(walked) - set(skipped))}")
                refused |= {field} if walked != skipped else set()
    assert refused == set(guarded_calls()), f"no case of FILES that checks {sorted(set(guarded_calls()) - refused)}: {WHAT_TO_DO}"
