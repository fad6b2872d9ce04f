"""Desired state that prunes nothing: what the watch enforces while its source is invalid.

The last valid manifests are enforced (drift is repaired towards them), but what the kernel holds of
ours beyond them stays as it is: an object they do not declare is kept, and in our nftables table the
rules of owners they do not know are kept, each after the rule it followed, as the resolver keeps the
names and askers of manifests they do not know, and the lease keeper their leases. No I/O here.
"""

from __future__ import annotations

from dataclasses import replace

import reconciler.planners.firewall as firewall
from reconciler.model import KernelObject, NftRule, NftTable
from reconciler.model.dhcp import DhcpState, LeaseKeeper
from reconciler.model.dhcp import keeper as dhcp_keeper
from reconciler.model.dns import DnsState, Gone, Resolver, merged
from reconciler.planning.plan import Observed


def unpruned(desired: list[KernelObject], observed: Observed, owners: frozenset[str]) -> list[KernelObject]:
    """`desired`, plus every prunable object `observed` holds that it lacks; the table keeps foreign owners' rules."""
    keys = {o.key for o in desired}
    extra = [o for k, o in observed.objects.items() if k not in keys and o.prunable]
    return [_with_rules_of_others(o, observed, owners) if isinstance(o, NftTable)
            else _with_names_of_others(o, observed, owners) if isinstance(o, Resolver)
            else _with_clients_of_others(o, observed, owners) if isinstance(o, LeaseKeeper) else o for o in desired] + extra


def _with_clients_of_others(keeper: LeaseKeeper, observed: Observed, owners: frozenset[str]) -> LeaseKeeper:
    """The lease keeper also keeping the leases of endpoints these manifests do not declare."""
    seen = observed.objects.get(keeper.key)
    if not isinstance(seen, LeaseKeeper):
        return keeper
    try:
        mine, theirs = DhcpState.from_json(keeper.state), DhcpState.from_json(seen.state)
    except (ValueError, KeyError, TypeError):
        return keeper
    others = {k: c for k, c in theirs.clients.items() if f"endpoint/{c.endpoint}" not in owners and k not in mine.clients}
    return dhcp_keeper(DhcpState({**mine.clients, **others})) or keeper


def _with_names_of_others(resolver: Resolver, observed: Observed, owners: frozenset[str]) -> Resolver:
    """The resolver also serving what it serves for manifests these do not declare (their askers, their
    names), these manifests' own names as they now are."""
    seen = observed.objects.get(resolver.key)
    if not isinstance(seen, Resolver):
        return resolver
    mine = frozenset(o.partition("/")[2] for o in owners if o.startswith(("endpoint/", "service/")))
    try:
        others = DnsState.from_json(seen.state).without(Gone(frozenset(resolver.serving), owners=mine))
    except (ValueError, KeyError, TypeError):
        return resolver
    state = merged(DnsState.from_json(resolver.state), others)
    return replace(resolver, digest=state.digest, serving=tuple(sorted(state.askers)), state=state.to_json())


def _with_rules_of_others(table: NftTable, observed: Observed, owners: frozenset[str]) -> NftTable:
    seen = observed.objects.get(table.key)
    if not isinstance(seen, NftTable) or not any(_of_others(r, owners) for r in seen.rules):
        return table
    return firewall.table(_merged(list(table.rules), list(seen.rules), owners)) or table


def _of_others(rule: NftRule, owners: frozenset[str]) -> bool:
    """A rule we wrote (its comment names an owner, `network/x`) for an owner these manifests do not declare;
    a rule inserted by hand names none, and goes as drift."""
    return "/" in rule.owner and rule.owner not in owners


def _merged(wanted: list[NftRule], seen: list[NftRule], owners: frozenset[str]) -> list[NftRule]:
    """`wanted` in its order, each kept rule of `seen` placed after the wanted rule it followed there."""
    following: dict[NftRule | None, list[NftRule]] = {}
    last: NftRule | None = None
    present = set(wanted)
    for rule in seen:
        if _of_others(rule, owners):
            following.setdefault(last, []).append(rule)
        elif rule in present:
            last = rule
    merged = following.pop(None, [])
    for rule in wanted:
        merged += [rule, *following.pop(rule, [])]
    return merged
