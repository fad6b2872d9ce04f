"""What the kernel said (--live): the status rows as checks, each with its owners and where it sits,
and the ledger that hands them out to the nodes that show them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from reconciler.engine import ObjectStatus, State
from reconciler.input.spec import Manifests
from reconciler.model import (
    Address,
    Bridge,
    BridgeFdb,
    Dummy,
    Fdb,
    Ipvlan,
    KernelObject,
    Macvlan,
    Neigh,
    NftRule,
    NftTable,
    Route,
    Veth,
    Vlan,
    Vxlan,
)
from reconciler.planning.plan import Observed

Place = tuple[str | None, str]  # (netns, interface): where an object sits


@dataclass(frozen=True)
class Check:
    """One thing compared with the kernel: an object of ours, or one nftables rule (by its comment)."""

    owners: tuple[str, ...]
    kind: str
    title: str
    state: State
    place: Place | None = None  # the interface it sits on
    address: str = ""  # an address: its IP, without the prefix length
    label: str = ""    # a rule: its label (`publish-tcp-all-8080`)
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.state.value}: {self.kind} {self.title}" + (f" ({self.detail})" if self.detail else "")


def place_of(obj: KernelObject) -> Place | None:
    """The interface an object sits on, or is: a veth by its peer inside the endpoint."""
    match obj:
        case Veth():
            return (obj.ns, obj.peer)
        case Macvlan() | Ipvlan():
            return (obj.ns, obj.name)
        case Address() | Route():
            return (obj.ns, obj.ifname)
        case Bridge() | Vxlan() | Dummy() | Vlan():
            return (None, obj.name)
        case Fdb() | Neigh() | BridgeFdb():
            return (None, obj.ifname)
    return None


def checks_of(m: Manifests, rows: list[ObjectStatus], observed: Observed) -> tuple[Check, ...]:
    """The status rows as checks; the nftables table split into one check per rule comment."""
    netns_owner = {e.netns: e.owner for e in m.endpoints}
    out = [_check(r, netns_owner) for r in rows if r.obj.kind != "nft"]
    table = next((r for r in rows if r.obj.kind == "nft"), None)
    have = observed.objects.get(NftTable().key)
    rules = _rule_checks(_wanted_rules(table), have.rules if isinstance(have, NftTable) else ())
    if table is not None and all(c.state is State.IN_SYNC for c in rules):
        out.append(_check(table, netns_owner))  # the chains differ: shown in the notes
    return tuple(out + rules)


def _check(row: ObjectStatus, netns_owner: dict[str, str]) -> Check:
    obj = row.obj
    owners = tuple(obj.owner.split()) or ((netns_owner[obj.netns],) if obj.netns in netns_owner else ())
    address = obj.address.split("/")[0] if isinstance(obj, Address) else ""
    return Check(owners, obj.kind, obj.title, row.state, place_of(obj), address, "", row.detail)


def _wanted_rules(table: ObjectStatus | None) -> tuple[NftRule, ...]:
    if table is None or table.state is State.EXTRA or not isinstance(table.obj, NftTable):
        return ()
    return table.obj.rules


def _rule_checks(wanted: Iterable[NftRule], held: Iterable[NftRule]) -> list[Check]:
    want, have = _by_comment(wanted), _by_comment(held)
    out = []
    for comment in sorted(want.keys() | have.keys()):
        owner, _, label = comment.partition(" ")
        state = _rule_state(want.get(comment), have.get(comment))
        out.append(Check((owner,) if owner else (), "rule", comment or "(no comment)", state, label=label))
    return out


def _rule_state(want: list[tuple[str, str]] | None, have: list[tuple[str, str]] | None) -> State:
    if want is None:
        return State.EXTRA
    if have is None:
        return State.MISSING
    return State.IN_SYNC if want == have else State.DRIFTED


def _by_comment(rules: Iterable[NftRule]) -> dict[str, list[tuple[str, str]]]:
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

    def pick(self, owner: str, *, place: Place | None = None, address: str | None = None,
             labels: Callable[[str], bool] | None = None, rules: bool | None = None) -> list[Check]:
        """The owner's checks; narrowed to a place, an address, rules (or not), rule labels."""
        self.claimed.add(owner)
        return [c for c in self.checks
                if owner in c.owners and _narrowed(c, place, address, labels, rules)]

    def unclaimed(self) -> list[Check]:
        """The checks no node shows: their owners' nodes are not drawn."""
        return [c for c in self.checks if not set(c.owners) & self.claimed]


def _narrowed(c: Check, place: Place | None, address: str | None, labels: Callable[[str], bool] | None,
              rules: bool | None) -> bool:
    return ((place is None or c.place == place) and (address is None or c.address == address)
            and (rules is None or (c.kind == "rule") == rules)
            and (labels is None or (c.kind == "rule" and labels(c.label))))
