"""A reload of the resolver reads state.json, one entry a line: what is the same as in the state it
serves (each network's names, each asker's view, each network's PTR table) is kept as it was, not
parsed nor made again: one endpoint more costs the reload its asker and its network, not every one's
(model.dns.read, answer.Names). A document laid out otherwise (by hand) is read whole, as before."""

from __future__ import annotations

import asyncio
import gc
import json
from dataclasses import replace
from pathlib import Path

import pytest

from reconciler.model.dns import DnsAsker, DnsNetwork, DnsState, read
from reconciler.resolver.answer import Names
from reconciler.resolver.main import _Loads
from reconciler.resolver.server import Options, Resolver

NETWORKS = {n: DnsNetwork(names={f"e{i}": (f"10.{k}.0.{i}",) for i in range(5)},
                          ptr={f"10.{k}.0.{i}": f"e{i}.{n}" for i in range(5)}) for k, n in enumerate(("a", "b"))}
ASKERS = {f"e{i}": DnsAsker(networks=("a",)) for i in range(5)}
BEFORE = DnsState(NETWORKS, ASKERS)
AFTER = DnsState({**NETWORKS, "b": replace(NETWORKS["b"], names={**NETWORKS["b"].names, "e9": ("10.1.0.9",)},
                                             ptr={**NETWORKS["b"].ptr, "10.1.0.9": "e9.b"})},
                 {**ASKERS, "e9": DnsAsker(networks=("b",)), "e0": DnsAsker(networks=("a", "b"))})


def test_a_read_keeps_what_is_the_same_as_in_the_last_and_reads_the_rest_anew() -> None:
    last = read(BEFORE.to_json())
    now = read(AFTER.to_json(), last)
    assert now.state == AFTER == DnsState.from_json(AFTER.to_json())
    kept = {k for k, v in now.state.askers.items() if v is last.state.askers.get(k)}
    assert kept == {"e1", "e2", "e3", "e4"}  # e0 changed, e9 is new
    assert now.state.networks["a"] is last.state.networks["a"] and now.state.networks["b"] is not last.state.networks["b"]


def test_an_entry_whose_line_is_the_same_is_not_parsed_again(monkeypatch: pytest.MonkeyPatch) -> None:
    import reconciler.model.dns as model

    last = read(BEFORE.to_json())
    parsed: list[str] = []
    real = json.loads
    monkeypatch.setattr(model.json, "loads", lambda text: parsed.append(text) or real(text))
    read(AFTER.to_json(), last)
    assert sorted(next(iter(real(t))) for t in parsed) == ["b", "e0", "e9"]


@pytest.mark.parametrize("layout", [
    lambda state: json.dumps(json.loads(state.to_json())),  # one line
    lambda state: json.dumps(json.loads(state.to_json()), indent=2),
    lambda state: state.to_json() + "\n",
    lambda state: state.to_json().replace('{"askers":{\n', '{"askers":{', 1),  # HEAD's line ends otherwise
    lambda state: state.to_json().replace('"e1":{', '"e1":{"x":1,', 1),  # a line edited by hand: parsed again
])
def test_a_document_laid_out_otherwise_is_read_whole_and_the_same(layout) -> None:
    for last in (None, read(BEFORE.to_json())):
        assert read(layout(AFTER), last).state == AFTER


def test_no_asker_laid_out_without_its_empty_line_is_read_whole() -> None:
    alone = DnsState(networks=AFTER.networks)
    assert read(alone.to_json().replace('{"askers":{\n\n', '{"askers":{\n', 1)).state == alone == read(alone.to_json()).state


@pytest.mark.parametrize("broken", [
    AFTER.to_json().replace('"e1":{"forward":true,', '"e1":{"forward":true', 1),  # not JSON
    AFTER.to_json().replace('"e1":{"forward":true,', '"e1":{"fwd":true,', 1),  # no "forward"
    AFTER.to_json().replace('"formatVersion":1', '"formatVersion":2', 1),
    AFTER.to_json().replace('"e1":{', '"e1":{},"e8":{', 1),  # two entries on a line
])
def test_a_broken_entry_is_refused_whether_its_neighbours_are_kept_or_not(broken: str) -> None:
    for last in (None, read(BEFORE.to_json())):
        with pytest.raises((ValueError, KeyError, TypeError)):
            read(broken, last)


def test_the_ptr_tables_of_the_networks_kept_are_kept() -> None:
    last = read(BEFORE.to_json())
    names_before = Names(last.state)
    now = Names(read(AFTER.to_json(), last).state, names_before)
    assert now.ptr["a"] is names_before.ptr["a"]
    assert now.ptr["b"] is not names_before.ptr["b"] and now.ptr["b"] == Names(AFTER).ptr["b"]


def test_a_reload_serves_the_new_state_from_the_pieces_it_kept(tmp_path: Path) -> None:
    """Through the resolver's own loads: the second serves what state.json says now, names and PTR."""
    loads = _Loads(str(tmp_path), Resolver(Options()))
    try:
        for state in (BEFORE, AFTER):
            (tmp_path / "state.json").write_text(state.to_json())
            asyncio.run(loads.load_once(fatal=state is BEFORE))
    finally:
        gc.unfreeze()
    names = loads.resolver.names
    assert names.state == AFTER and names.ptr == Names(AFTER).ptr
    assert names.lookup(AFTER.askers["e9"], "e9") == (("10.1.0.9",), 10)
