"""A reload of the resolver reads state.json whole, but what is the same as in the state it serves (each
network's names, each asker's view, each network's PTR table) is kept as it was, not made again: one
endpoint more costs the reload its asker and its network, not every one's (model.dns.read, answer.Names)."""

from __future__ import annotations

import asyncio
import gc
from dataclasses import replace
from pathlib import Path

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
