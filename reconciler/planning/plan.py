"""Steps and plans: the pure diff of desired against observed kernel objects, in dependency order."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from reconciler.errors import ConflictError
from reconciler.model import Address, KernelObject, Key, NftTable, Route


class Action(str, Enum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"


SYMBOLS = {Action.CREATE: "+", Action.UPDATE: "~", Action.REPLACE: "-/+", Action.DELETE: "-"}


@dataclass(frozen=True)
class Step:
    """One change to one kernel object. `observed` is None for a create, `desired` None for a delete."""

    action: Action
    desired: KernelObject | None
    observed: KernelObject | None
    reason: str = ""
    changes: tuple[tuple[str, Any, Any], ...] = ()
    implied: tuple[KernelObject, ...] = ()  # deleted with this object by the kernel itself
    foreign: tuple[str, ...] = ()  # what is not ours and goes too: "foreign link fv1", "process 1234 (sleep)"

    @property
    def obj(self) -> KernelObject:
        return self.desired or self.observed  # type: ignore[return-value]

    def __str__(self) -> str:
        text = f"{SYMBOLS[self.action]} {self.obj.kind} {self.obj.title}"
        return f"{text} ({self.reason})" if self.reason else text


@dataclass(frozen=True)
class Plan:
    """An ordered list of steps; empty when the kernel matches."""

    steps: tuple[Step, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def __bool__(self) -> bool:
        return bool(self.steps)

    def count(self, action: Action) -> int:
        return sum(1 for s in self.steps if s.action is action)


@dataclass(frozen=True)
class HostLink:
    """Any link of the host namespace, ours or not: what parent checks and underlay hints need."""

    name: str
    kind: str
    up: bool
    master: str | None = None
    addresses: tuple[str, ...] = ()
    mtu: int = 0
    owned: bool = False  # carries our mark


@dataclass(frozen=True)
class HostRoute:
    """A unicast route of the host namespace, in any table but local, ours or not: what the check of
    subnets against the host's networks needs."""

    dst: str  # a CIDR
    table: int
    protocol: int
    device: str | None  # the link it leaves by (a multipath route's first hop); None when unknown


@dataclass(frozen=True)
class Observed:
    """What the kernel holds: our objects by key, the keys of same-named objects that are not ours, and
    (when observed from a kernel) every link of the host namespace by name, and its unicast routes."""

    objects: dict[Key, KernelObject]
    foreign: frozenset[Key] = frozenset()
    host_links: dict[str, HostLink] | None = None
    host_routes: tuple[HostRoute, ...] | None = None
    reasons: dict[Key, str] = field(default_factory=dict)  # why a foreign key is in the way, beyond existing
    search: tuple[str, ...] = ()  # the host's DNS search domains (/etc/resolv.conf), which endpoints keep
    name_servers: tuple[str, ...] = ()  # the host's, from /etc/resolv.conf: automatic subnets avoid them
    # The objects of each namespace (not the host's) among `objects` as observe merged them, when it kept
    # them apart: the watch's kernel cache, whose dict of a namespace is the same object while the
    # namespace is unchanged. Its addresses are all of `objects`' in that namespace (sticky addresses).
    namespaces: Mapping[str, Mapping[Key, KernelObject]] | None = None


Group = Sequence[KernelObject]


def diff(desired: Iterable[KernelObject], observed: Observed) -> Plan:
    """The steps that turn `observed` into `desired`, in an order that fails closed: the firewall's new
    rules before anything else, then deletes (reverse order), then creates and updates, and the rules
    the firewall drops only after every other step (see `fail_closed`)."""
    return Plan(tuple(fail_closed(changes(desired, observed))))


def changes(desired: Iterable[KernelObject], observed: Observed) -> list[Step]:
    """One step per object that differs, deletes first (reverse order), then the rest: what status
    reports, before the firewall's write is split around the others."""
    wanted = {obj.key: obj for obj in desired}
    check_conflicts(wanted.values(), observed)
    get = observed.objects.get
    return ordered([s for s in (compare(obj, get(k)) for k, obj in wanted.items()) if s], wanted, observed)


def ordered(steps: list[Step], wanted: dict[Key, KernelObject], observed: Observed,
             all_wanted: bool = False) -> list[Step]:
    """The steps of the objects that differ, with those they cause and the deletes, in order (see
    changes). `all_wanted`: every observed object is known to be wanted (nothing to delete), so the
    observed objects are not looked through for those that are not."""
    losing: dict[Key, Address] = {}
    deletes = []
    for k, obj in () if all_wanted else observed.objects.items():
        if k not in wanted:
            if obj.prunable:
                deletes.append(Step(Action.DELETE, None, obj))
            if isinstance(obj, Address):
                losing[obj.parents[0]] = obj
    steps = _unaddressed_routes(_cascade(steps, wanted, observed), wanted, observed, losing)
    first, steps = _released(steps)
    return first + _fold_deletes(sorted(deletes, key=_order, reverse=True)) + sorted(steps, key=_order)


RELEASE = "first: lets go of the namespaces that go"


def _released(steps: list[Step]) -> tuple[list[Step], list[Step]]:
    """Updates that let go of something deleted (the resolver's sockets in namespaces that go) are split:
    that part before the deletes, the rest in its place (nothing when the first part is all of it)."""
    first, rest = [], []
    for step in steps:
        want, have = step.desired, step.observed
        half = want.released(have) if step.action is Action.UPDATE and want is not None else None
        if want is None or have is None or half is None:
            rest.append(step)
            continue
        first.append(Step(Action.UPDATE, half, have, RELEASE, tuple(half.differences(have))))
        if want != half:
            rest.append(Step(Action.UPDATE, want, half, "", tuple(want.differences(half))))
    return first, rest


GUARD = "first: adds the new rules, keeps the old ones until their links are gone"
UNGUARD = "last: drops the old rules, their links are gone"


def fail_closed(steps: list[Step]) -> list[Step]:
    """The firewall guards links: rules go in before any link can carry traffic, and go only once the
    links they guard are gone. So the table is written first when it gains rules and last when it loses
    some; when it does both, first with the rules it loses still in (`NftTable.guarding`), and last
    without them. A kill at any step then leaves every link guarded by the old rules or the new."""
    table = next((s for s in steps if isinstance(s.obj, NftTable)), None)
    if table is None:
        return steps
    first, last = _split(table)
    return first + [s for s in steps if s is not table] + last


def _split(step: Step) -> tuple[list[Step], list[Step]]:
    old, new = step.observed, step.desired
    if not isinstance(old, NftTable) or not isinstance(new, NftTable):
        return ([step], []) if new is not None else ([], [step])
    if not set(old.rules) - set(new.rules):
        return [step], []
    if set(new.rules) <= set(old.rules) and set(new.chains) <= set(old.chains):
        return [], [step]
    guard = new.guarding(old)
    return ([Step(Action.UPDATE, guard, old, GUARD, tuple(guard.differences(old)))],
            [Step(Action.UPDATE, new, guard, UNGUARD, tuple(new.differences(guard)))])


def _order(step: Step) -> tuple[object, ...]:
    obj = step.obj
    group = obj.netns if obj.stage == 1 else ""
    return (obj.stage, group, obj.rank, _sortable(obj.key))


def _sortable(key: Key) -> tuple[str, ...]:
    return tuple("" if k is None else str(k) for k in key)


def check_conflicts(desired: Iterable[KernelObject], observed: Observed) -> None:
    messages = [f"{obj.owner or obj.kind}: {observed.reasons[key]}" if key in observed.reasons else obj.conflict(key)
                for obj in desired for key in obj.provides if key in observed.foreign]
    if messages:
        raise ConflictError(messages)


def compare(want: KernelObject, have: KernelObject | None) -> Step | None:
    if have is None:
        return Step(Action.CREATE, want, None)
    if type(have) is not type(want):
        return Step(Action.REPLACE, want, have, f"{have.kind} becomes {want.kind}")
    differences = want.differences(have)
    if not differences:
        return None
    immutable = [d for d in differences if d[0] in want.immutable]
    if immutable:
        name, old, new = immutable[0]
        reason = f"{name} cannot change in place: {old} -> {new}"
        return Step(Action.REPLACE, want, have, reason, tuple(differences))
    return Step(Action.UPDATE, want, have, "", tuple(differences))


def _cascade(steps: list[Step], wanted: dict[Key, KernelObject], observed: Observed) -> list[Step]:
    """Objects living on a replaced object vanish with it: recreate them too."""
    replaced = {k for s in steps if s.action is Action.REPLACE for k in s.obj.provides}
    if not replaced:
        return steps
    touched = {s.obj.key for s in steps}
    for obj in sorted(wanted.values(), key=lambda o: o.rank):
        needs = (*obj.parents, *obj.requires)
        if obj.key in touched or not replaced.intersection(needs):
            continue
        parent = next(p for p in needs if p in replaced)
        steps.append(Step(Action.REPLACE, obj, observed.objects.get(obj.key), f"{parent[0]} {parent[-1]} is replaced"))
        replaced.update(obj.provides)
        touched.add(obj.key)
    return steps


def _unaddressed_routes(steps: list[Step], wanted: dict[Key, KernelObject], observed: Observed,
                        losing: dict[Key, Address]) -> list[Step]:
    """A link losing an address (`losing`: observed, not wanted, by the link it is on) loses the routes
    through it too (the kernel flushes them when its last address of the family goes, and deletes run
    first): recreate the routes on such a link."""
    if not losing:
        return steps
    touched = {s.obj.key for s in steps}
    for obj in wanted.values():
        have = observed.objects.get(obj.key)
        if isinstance(obj, Route) and have is not None and obj.key not in touched and obj.parents[0] in losing:
            steps.append(Step(Action.REPLACE, obj, have, f"address {losing[obj.parents[0]].address} goes from its link"))
    return steps


def _fold_deletes(deletes: list[Step]) -> list[Step]:
    """A deleted netns or link takes what lives on it along: show those under it, do not run them."""
    by_provided = {k: s for s in deletes for k in s.obj.provides}
    implied: dict[Key, list[KernelObject]] = {}
    kept = []
    for step in deletes:
        root = _deleted_ancestor(step.obj, by_provided)
        if root is None:
            kept.append(step)
        else:
            implied.setdefault(root.key, []).append(step.obj)
    return [Step(s.action, s.desired, s.observed, s.reason, s.changes, tuple(implied.get(s.obj.key, ()))) for s in kept]


def _deleted_ancestor(obj: KernelObject, by_provided: dict[Key, Step]) -> KernelObject | None:
    root = None
    frontier = list(obj.parents)
    while frontier:
        parent = by_provided.get(frontier.pop())
        if parent is not None and parent.obj.key != obj.key:
            root = parent.obj
            frontier.extend(parent.obj.parents)
    return root
