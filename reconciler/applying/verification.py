"""An apply's verification: what it wrote (its Footprint), and what still differs there once the
kernel is read again."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from reconciler.kernel import resolverstate
from reconciler.kernel.observe import Reader, observe
from reconciler.kernel.session import Kernel
from reconciler.model import KernelObject, NftTable
from reconciler.planning.plan import Observed, Plan, diff


@dataclass(frozen=True)
class Footprint:
    """What an apply wrote: every namespace a step's objects live in, and every object a step touched
    (a netns deleted with what lived in it included). The rest of the kernel it did not write: its
    verification re-reads the host and these namespaces, and compares the objects within them."""

    namespaces: frozenset[str]
    keys: frozenset[tuple[object, ...]]  # of the objects the steps touched
    table: bool  # whether it wrote our nftables table (the host's other objects are always compared)

    @classmethod
    def of(cls, plan: Plan) -> Footprint:
        objects = [o for s in plan.steps for o in (s.desired, s.observed, *s.implied) if o is not None]
        return cls(frozenset(o.netns for o in objects if o.netns), frozenset(o.key for o in objects),
                   any(isinstance(o, NftTable) for o in objects))

    def __contains__(self, obj: KernelObject) -> bool:
        ns = obj.netns
        if ns is None:
            return self.table or not isinstance(obj, NftTable)
        # An object living in a namespace outside the footprint is in it by key only when it has none ("":
        # an orphaned veth): any other object keyed like a step's object was paired with it by the diff,
        # so its namespace is the step's.
        return ns in self.namespaces or (not ns and obj.key in self.keys)

    def within(self, objects: Iterable[KernelObject]) -> list[KernelObject]:
        """Those of `objects` in the footprint, as `in` tells, in one pass (a verification's filter runs
        over every object desired and observed)."""
        namespaces, keys, table = self.namespaces, self.keys, self.table
        out = []
        for obj in objects:
            ns = obj.netns
            if ns is None:
                if table or not isinstance(obj, NftTable):
                    out.append(obj)
            elif ns in namespaces or (not ns and obj.key in keys):
                out.append(obj)
        return out


def verify_plan(desired: Sequence[KernelObject], footprint: Footprint, kernel: Kernel, reader: Reader | None,
                keys: list[tuple[str | None, str]], settle: Callable[[], object] = lambda: None) -> Plan:
    """What still differs within `footprint` after an apply: the desired state the plan was made from,
    against the kernel read again there. `settle` waits for what the apply put off (the resolver's
    load) once the kernel is read; the resolver is read after it, once. What can be done before the
    wait is (the desired objects in the footprint): the resolver loads on the other core meanwhile."""
    wanted = footprint.within(desired)
    scoped_keys = [(ns, key) for ns, key in keys if ns is None or ns in footprint.namespaces]
    after = observe(kernel, scoped_keys, reader, footprint.namespaces, footprint.table, resolver=False)
    settle()
    after = _with_resolver(after, reader)
    within = Observed({o.key: o for o in footprint.within(after.objects.values())}, after.foreign, after.host_links)
    return diff(wanted, within)


def _with_resolver(after: Observed, reader: Reader | None) -> Observed:
    running = reader.resolver() if reader else resolverstate.observe()
    return after if running is None else replace(after, objects={**after.objects, running.key: running})
