"""What the watch enforces while its source is invalid: the last valid manifests' objects, and nothing pruned."""

from __future__ import annotations

from reconciler.model import Bridge, NftRule, NftTable, Sysctl
from reconciler.planners import firewall
from reconciler.planners.keep import unpruned
from reconciler.planning.plan import Observed, diff

FORWARD = firewall.FORWARD
OWNERS = frozenset({"network/front"})


def rule(owner: str, label: str, chain: str = FORWARD) -> NftRule:
    return NftRule(chain, f"{owner} {label}".strip(), f'[{{"accept": "{owner}-{label}"}}]')


def table(*rules: NftRule) -> NftTable:
    found = firewall.table(list(rules))
    assert found is not None
    return found


def observed(*objects) -> Observed:
    return Observed({o.key: o for o in objects})


def test_objects_the_manifests_do_not_declare_stay_and_missing_ones_are_made():
    front, back = Bridge("br-front", owner="network/front"), Bridge("br-back", owner="network/back")
    kept = unpruned([front], observed(back, Sysctl(None, "net.ipv4.ip_forward", "0")), OWNERS)
    assert kept == [front, back]  # a sysctl is never pruned anyway: not added
    steps = diff(kept, observed(back)).steps
    assert [(s.action.value, s.obj) for s in steps] == [("create", front)]


def test_rules_of_owners_the_manifests_do_not_know_stay_after_the_rule_they_followed():
    a1, a2 = rule("network/front", "in"), rule("network/front", "out")
    b1, b2, b3 = rule("network/back", "first"), rule("network/back", "in"), rule("network/back", "masq", firewall.POSTROUTING)
    by_hand = rule("", "accept")  # inserted by hand, no owner: drift, and goes
    seen = table(b1, a1, b2, by_hand, a2, b3)
    wanted = table(a1, a2)
    kept = unpruned([wanted], observed(seen), OWNERS)
    assert kept == [table(b1, a1, b2, a2, b3)]
    assert unpruned([wanted], observed(table(a2)), OWNERS) == [wanted]  # a missing rule of ours comes back
