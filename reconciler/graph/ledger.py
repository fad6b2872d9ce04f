"""What the kernel said (--live): the status rows as checks, each with its owners and where it sits,
and the ledger that hands them out to the nodes that show them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from reconciler.engine import ObjectStatus, State
from reconciler.model import NftTable
from reconciler.plan import Observed
from reconciler.spec import Manifests


@dataclass(frozen=True)
class Check:
    """One thing compared with the kernel: an object of ours, or one nftables rule (by its comment)."""

    owners: tuple[str, ...]
    kind: str
    title: str
    state: State
    place: tuple[str | None, str] | None = None  # (netns, interface) it sits on
    address: str = ""  # an address: its IP, without the prefix length
    label: str = ""    # a rule: its label (`publish-tcp-all-8080`)
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.state.value}: {self.kind} {self.title}" + (f" ({self.detail})" if self.detail else "")


PLACES: dict[str, Callable] = {
    "veth": lambda o: (o.ns, o.peer),
    "macvlan": lambda o: (o.ns, o.name), "ipvlan": lambda o: (o.ns, o.name),
    "address": lambda o: (o.ns, o.ifname), "route": lambda o: (o.ns, o.ifname),
    "bridge": lambda o: (None, o.name), "vxlan": lambda o: (None, o.name),
    "dummy": lambda o: (None, o.name), "vlan": lambda o: (None, o.name),
    "fdb": lambda o: (None, o.ifname), "neigh": lambda o: (None, o.ifname), "bridge-fdb": lambda o: (None, o.ifname),
}


def checks_of(m: Manifests, rows: list[ObjectStatus], observed: Observed) -> tuple[Check, ...]:
    """The status rows as checks; the nftables table split into one check per rule comment."""
    netns_owner = {e.netns: e.owner for e in m.endpoints}
    out = [_check(r, netns_owner) for r in rows if r.obj.kind != "nft"]
    table = next((r for r in rows if r.obj.kind == "nft"), None)
    rules = _rule_checks(table, observed.objects.get(NftTable().key))
    if table is not None and all(c.state is State.IN_SYNC for c in rules):
        out.append(_check(table, netns_owner))  # the chains differ: shown in the notes
    return tuple(out + rules)


def _check(row: ObjectStatus, netns_owner: dict[str, str]) -> Check:
    obj = row.obj
    owners = tuple(obj.owner.split()) or ((netns_owner[obj.netns],) if obj.netns in netns_owner else ())
    place = PLACES[obj.kind](obj) if obj.kind in PLACES else None
    address = obj.address.split("/")[0] if obj.kind == "address" else ""
    return Check(owners, obj.kind, obj.title, row.state, place, address, "", row.detail)


def _rule_checks(table: ObjectStatus | None, observed: NftTable | None) -> list[Check]:
    want = _by_comment(table.obj.rules if table is not None and table.state is not State.EXTRA else ())
    have = _by_comment(observed.rules if observed is not None else ())
    out = []
    for comment in sorted(want.keys() | have.keys()):
        state = (State.EXTRA if comment not in want else State.MISSING if comment not in have
                 else State.IN_SYNC if want[comment] == have[comment] else State.DRIFTED)
        owner, _, label = comment.partition(" ")
        out.append(Check((owner,) if owner else (), "rule", comment or "(no comment)", state, label=label))
    return out


def _by_comment(rules: Iterable) -> dict[str, list[tuple[str, str]]]:
    grouped: dict[str, list[tuple[str, str]]] = {}
    for r in rules:
        grouped.setdefault(r.comment or "", []).append((r.chain, r.expr))
    return {c: sorted(v) for c, v in grouped.items()}


def combined(checks: list[Check], principal: tuple[str, ...] = ()) -> State:
    """Missing when its principal object (or everything) is missing; drifted when anything differs."""
    states = [c.state for c in checks]
    if states and (all(s is State.MISSING for s in states)
                   or any(c.state is State.MISSING and c.kind in principal for c in checks)):
        return State.MISSING
    return State.IN_SYNC if all(s is State.IN_SYNC for s in states) else State.DRIFTED


class Ledger:
    """The checks of one host's kernel, picked by owner, place, address or rule label."""

    def __init__(self, checks: tuple[Check, ...]) -> None:
        self.checks = checks
        self.claimed: set[str] = set()  # owners whose node shows their checks

    def pick(self, owner: str, *, place=None, address: str | None = None, labels: Callable[[str], bool] | None = None,
             rules: bool | None = None) -> list[Check]:
        """The owner's checks; narrowed to a place, an address, rules (or not), rule labels."""
        self.claimed.add(owner)
        out = [c for c in self.checks if owner in c.owners]
        if place is not None:
            out = [c for c in out if c.place == place]
        if address is not None:
            out = [c for c in out if c.address == address]
        if rules is not None:
            out = [c for c in out if (c.kind == "rule") == rules]
        if labels is not None:
            out = [c for c in out if c.kind == "rule" and labels(c.label)]
        return out

    def unclaimed(self) -> list[Check]:
        return [c for c in self.checks if not set(c.owners) & self.claimed]
