"""The base of every kernel object (see reconciler.model), the key of a link, and our kernel marks."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

from reconciler.frozen import Slot

OWNER_GROUP = 0x4E52  # IFLA_GROUP on every link we create: set atomically in the creating request
ROUTE_PROTO = 113     # rtm_protocol of every route we create
ALIAS_PREFIX = "netreconcile:"
NFT_FAMILY, NFT_TABLE = "inet", "netreconcile"
NFT_MARKER = "managed-by-netreconcile"  # an empty chain in our table, written in the transaction creating it

Key = tuple[Any, ...]  # (kind, then what tells objects of that kind apart), e.g. ("link", ns, name)

# the kernel's numbers for macvlan modes, ipvlan modes and ipvlan flags (linux/if_link.h)
MACVLAN_MODES = {"private": 1, "vepa": 2, "bridge": 4, "passthru": 8}
IPVLAN_MODES = {"l2": 0, "l3": 1, "l3s": 2}
IPVLAN_FLAGS = {"bridge": 0, "private": 1, "vepa": 2}


@dataclass(frozen=True)
class KernelObject:
    """Base of all kernel objects; subclasses are frozen dataclasses."""

    kind: ClassVar[str] = ""
    rank: ClassVar[int] = 0
    immutable: ClassVar[tuple[str, ...]] = ()
    prunable: ClassVar[bool] = True

    @property
    def key(self) -> Key:
        raise NotImplementedError

    @property
    def parents(self) -> tuple[Key, ...]:
        """Keys of the objects this one lives on: the kernel destroys it with them."""
        return ()

    @property
    def requires(self) -> tuple[Key, ...]:
        """Keys of further objects that must exist first (a bridge port needs its bridge)."""
        return ()

    @property
    def provides(self) -> tuple[Key, ...]:
        """Keys this object brings into being (itself, and for a veth its peer too)."""
        return (self.key,)

    @property
    def netns(self) -> str | None:
        return None

    @property
    def stage(self) -> int:
        """0: host-wide objects, 1: objects of one endpoint, 2: the firewall. Orders the plan."""
        return 1 if self.netns is not None else 0

    @property
    def owner(self) -> str:
        return ""

    @property
    def title(self) -> str:
        return " ".join(str(k) for k in self.key[1:] if k is not None)

    def released(self, observed: KernelObject | None) -> KernelObject | None:
        """A first version of this update to apply before any delete (what lets go of what is deleted);
        None: none, the update runs in its place."""
        return None

    def conflict(self, key: Key) -> str:
        """What to say when `key`, which this object would provide, is held by something not ours."""
        where = f" in netns {key[1]}" if len(key) > 2 and key[1] else ""
        return (f"{self.owner or self.kind}: {key[0]} {key[-1]!r}{where} already exists and is not managed by "
                f"netreconcile; remove it or choose another name")

    def differences(self, observed: KernelObject) -> list[tuple[str, Any, Any]]:
        """(field, observed, desired) for every managed field that differs.

        Both objects are frozen: once they match, the desired one remembers that observed object, and
        answers again at once (the watch compares the same objects reconcile after reconcile: memoised
        desired ones against the observed ones its cache kept)."""
        if _MATCHED.get(self) is observed:
            return []
        if self == observed:  # the common case, answered by the generated __eq__ at a fraction of the cost
            _MATCHED.set(self, observed)
            return []
        out: list[tuple[str, Any, Any]] = []
        for name in _compared(type(self)):
            want, have = getattr(self, name), getattr(observed, name)
            if want is not None and want != have:
                out.append((name, have, want))
        if not out:
            _MATCHED.set(self, observed)
        return out


_MATCHED: Slot[KernelObject] = Slot("_matched")
_COMPARED: dict[type, tuple[str, ...]] = {}


def _compared(cls: type) -> tuple[str, ...]:
    """The names of the fields a kind's objects are compared by."""
    names = _COMPARED.get(cls)
    if names is None:
        names = _COMPARED[cls] = tuple(f.name for f in fields(cls) if f.compare)
    return names


def link_key(netns: str | None, name: str) -> Key:
    return ("link", netns, name)


@dataclass(frozen=True)
class HostLinkObject(KernelObject):
    """A link of the host namespace, known by its `name`."""

    name: str

    @property
    def key(self) -> Key:
        return link_key(None, self.name)

    @property
    def title(self) -> str:
        return self.name
