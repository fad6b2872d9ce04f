"""Where the firewall goes in a plan (pure): its new rules before any other step, the rules it drops
after every other step; and a table of our name without our marker is never taken as ours."""

from __future__ import annotations

import json

import pytest

from reconciler.input.validate import load_manifests
from reconciler.kernel import nft
from reconciler.model import NFT_MARKER, NftTable
from reconciler.planners import desired_state
from reconciler.planning.plan import Action, changes, diff
from unit.helpers import FIXTURES
from unit.observed_yaml import load_observed
from unit.test_plans import plan_for

PLANS = FIXTURES / "plans"


def by_chain(table: NftTable) -> dict[str, list]:
    chains: dict[str, list] = {}
    for rule in table.rules:
        chains.setdefault(rule.chain, []).append(rule)
    return chains


def test_a_table_that_gains_and_loses_rules_is_written_first_with_both_and_last_with_the_new_ones():
    """Network back (internal) goes and side comes: the first write holds back's rules too, after the
    new ones in each chain; the last is the desired table itself."""
    plan = plan_for(PLANS / "network-swapped")
    first, last = plan.steps[0], plan.steps[-1]
    assert isinstance(first.obj, NftTable) and isinstance(last.obj, NftTable)
    old, guard, new = first.observed, first.desired, last.desired
    assert last.observed == guard and first.action is last.action is Action.UPDATE
    assert set(guard.rules) == set(old.rules) | set(new.rules)
    assert {r.owner for r in guard.rules} == {"network/front", "network/back", "network/side"}
    assert {r.owner for r in new.rules} == {"network/front", "network/side"}
    for chain, rules in by_chain(guard).items():
        wanted = by_chain(new).get(chain, [])
        assert rules[:len(wanted)] == wanted, f"{chain}: the new rules do not come first"
    assert sum(isinstance(s.obj, NftTable) for s in plan.steps) == 2


def test_a_table_that_only_loses_rules_is_written_after_every_link_step():
    plan = plan_for(PLANS / "network-pruned")
    assert isinstance(plan.steps[-1].obj, NftTable)
    assert all(not isinstance(s.obj, NftTable) for s in plan.steps[:-1])


def test_a_table_that_loses_the_rules_listed_first_is_still_written_once_and_last(tmp_path):
    """front's rules come first in each chain: without them, back's rules move up, which is no reason
    to write the table twice."""
    manifests = tmp_path / "m.yaml"
    manifests.write_text(BACK_ONLY)
    observed = load_observed(PLANS / "network-pruned" / "current.yaml")
    plan = diff(desired_state(load_manifests([str(manifests)]), observed), observed)
    tables = [i for i, s in enumerate(plan.steps) if isinstance(s.obj, NftTable)]
    assert tables == [len(plan.steps) - 1]


BACK_ONLY = """apiVersion: netreconcile/v1
kind: Network
metadata: {name: back}
spec:
  driver: bridge
  ipam: {subnet: 172.21.0.0/24}
  internal: true
---
apiVersion: netreconcile/v1
kind: Endpoint
metadata: {name: b}
spec:
  interfaces: [{network: back, ipv4Address: 172.21.0.10}]
"""


def test_a_new_table_comes_before_ip_forward_and_every_link():
    plan = plan_for(PLANS / "create-everything")
    assert isinstance(plan.steps[0].obj, NftTable) and plan.steps[0].action is Action.CREATE
    assert plan.steps[1].obj.title.startswith("net.ipv4.ip_forward=1")


def test_status_still_sees_one_change_of_the_table():
    case = PLANS / "network-swapped"
    observed = load_observed(case / "current.yaml")
    steps = changes(desired_state(load_manifests([str(case / "manifests.yaml")]), observed), observed)
    (table,) = [s for s in steps if isinstance(s.obj, NftTable)]
    assert table.observed == observed.objects[NftTable().key] and not table.reason


def listing(*chains: str) -> dict:
    items = [{"table": {"family": "inet", "name": "netreconcile", "handle": 1}}]
    return {"nftables": items + [{"chain": {"family": "inet", "table": "netreconcile", "name": c}} for c in chains]}


def test_a_listing_without_the_marker_is_foreign_and_the_marker_is_not_a_chain_of_ours():
    with pytest.raises(nft.ForeignTable):
        nft.parse_table(listing("filter-FORWARD"))
    assert nft.parse_table(listing(NFT_MARKER, "in-br-a")).chains[0].name == "in-br-a"
    assert len(nft.parse_table(listing(NFT_MARKER, "in-br-a")).chains) == 1


def test_every_transaction_checks_the_marker_or_creates_the_table_with_it():
    table = NftTable.of([], [])
    created = json.dumps(nft.transaction(table, existing=False))
    assert created.index('"create": {"table"') < created.index(NFT_MARKER)
    for replaced in (nft.transaction(table), nft.transaction(None)):
        assert replaced["nftables"][0] == {"delete": {"chain": nft.MARKER}}
