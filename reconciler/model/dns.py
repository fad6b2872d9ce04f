"""What the embedded DNS resolver answers: the document the planner computes from the manifests and the
resolver process loads (/run/netreconcile/resolver/state.json). Pure data, no I/O.

Names are kept per network, not per endpoint, so the document grows with endpoints, not with their
square: an asker (an endpoint's namespace) sees the names of the networks it is on, in its order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from ipaddress import ip_address
from typing import Any, ClassVar, TypeVar

from reconciler.model.base import KernelObject, Key

FORMAT_VERSION = 1
T = TypeVar("T")
DEFAULT_TTL = 10  # seconds (Docker: 600): a renumbered or removed backend leaves clients within seconds


@dataclass(frozen=True)
class DnsNetwork:
    """One network's names. `names`: a lowercase name without a trailing dot (an endpoint's name, its
    aliases, `<name>.<network>`, a Service's name, `tasks.<service>`) -> its addresses on this network,
    IPv4 and IPv6; `ptr`: an address -> the name its PTR record gives."""

    ttl: int = DEFAULT_TTL
    names: dict[str, tuple[str, ...]] = field(default_factory=dict)
    ptr: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DnsAsker:
    """One endpoint served at 127.0.0.11:53 in its namespace. `networks`: the networks whose names it
    sees, in the endpoint's interface order (the first that knows a name answers); `servers`: where
    other names are forwarded (None: those of the DHCP leases of its `dhcp` interfaces, else the host's
    upstream servers, read by the resolver); `forward`:
    False when every network of the endpoint is internal (nothing leaves: other names are refused)."""

    networks: tuple[str, ...]
    servers: tuple[str, ...] | None = None
    forward: bool = True
    dhcp: tuple[str, ...] = ()  # with no servers: its interfaces (ns/ifname) whose leases name the servers


def ordered(addresses: Iterable[str]) -> tuple[str, ...]:
    """Addresses in one order whatever the order they came in (the resolver shuffles them anyway), so
    that states built from the same names in another order are the same document."""
    unique = tuple(dict.fromkeys(addresses))
    if len(unique) < 2:  # most names: one address, nothing to sort
        return unique
    return tuple(sorted(unique, key=_address_key))


def _address_key(address: str) -> tuple[int, int]:
    parsed = ip_address(address)
    return parsed.version, int(parsed)


def merged(first: DnsState, second: DnsState) -> DnsState:
    """Both states' names and askers (`first`'s settings winning): what one host serves for two sets
    of manifests."""
    networks = dict(second.networks)
    for name, net in first.networks.items():
        other = networks.get(name)
        if other is not None:
            keys = {*net.names, *other.names}
            names = {k: ordered((*net.names.get(k, ()), *other.names.get(k, ()))) for k in keys}
            net = replace(net, names=names, ptr={**other.ptr, **net.ptr})
        networks[name] = net
    return DnsState(networks, {**second.askers, **first.askers})


@dataclass(frozen=True)
class Gone:
    """What a destroy removes: endpoints' namespaces, networks, and the PTR names (`<name>.<network>`)
    of the endpoints and Services whose addresses go, and the names (endpoints', Services', aliases')
    that go with them."""

    namespaces: frozenset[str] = frozenset()
    networks: frozenset[str] = frozenset()
    owners: frozenset[str] = frozenset()  # endpoint and Service names


def _network_without(name: str, network: DnsNetwork, gone: Gone) -> DnsNetwork:
    ptr_names = {f"{o}.{name}" for o in gone.owners}
    going = {a for a, n in network.ptr.items() if n in ptr_names}
    lost = {n.lower() for o in gone.owners for n in (o, f"tasks.{o}")}
    names = {k: tuple(a for a in v if a not in going) for k, v in network.names.items() if k not in lost}
    return replace(network, names={k: v for k, v in names.items() if v},
                   ptr={a: n for a, n in network.ptr.items() if a not in going})


def _dumps(plain: object) -> str:
    return json.dumps(plain, sort_keys=True, separators=(",", ":"))


def _network_plain(network: DnsNetwork) -> dict[str, Any]:
    return {"ttl": network.ttl, "names": {k: list(a) for k, a in network.names.items()}, "ptr": network.ptr}


def _asker_plain(asker: DnsAsker) -> dict[str, Any]:
    return {"networks": list(asker.networks), "forward": asker.forward,
            "servers": None if asker.servers is None else list(asker.servers),
            **({"dhcp": list(asker.dhcp)} if asker.dhcp else {})}


def network_entry(name: str, network: DnsNetwork) -> str:
    """The network's member of the document's "networks" (`"name":{...}`), as DnsState.to_json writes it."""
    return _dumps({name: _network_plain(network)})[1:-1]


def asker_entry(name: str, asker: DnsAsker) -> str:
    """The asker's member of the document's "askers", as DnsState.to_json writes it."""
    return _dumps({name: _asker_plain(asker)})[1:-1]


HEAD, TAIL = '{"askers":{', "}}"
MIDDLE = f'}},"formatVersion":{FORMAT_VERSION},"networks":{{'


def assembled(networks: dict[str, str], askers: dict[str, str]) -> str:
    """The document of a state (as its to_json writes it) from the entries of its networks and askers
    by name: what is kept of each needs no writing again. One entry a line (JSON writes no newline
    inside a string): a reader tells the entries that did not change by their line (`read`)."""
    return "\n".join((HEAD, ",\n".join(askers[k] for k in sorted(askers)), MIDDLE,
                      ",\n".join(networks[k] for k in sorted(networks)), TAIL))


def digest_of(document: str) -> str:
    """The digest of a state's document (DnsState.to_json), as the resolver reports it loaded."""
    return hashlib.sha256(document.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class DnsState:
    """Everything the resolver serves on this host: askers by namespace name, networks by name."""

    networks: dict[str, DnsNetwork] = field(default_factory=dict)
    askers: dict[str, DnsAsker] = field(default_factory=dict)

    def without(self, gone: Gone) -> DnsState:
        """The state once `gone` is destroyed: its askers, networks, names and addresses left out, as
        the planner would plan it from the manifests that remain (their order kept)."""
        networks = {n: _network_without(n, net, gone) for n, net in self.networks.items() if n not in gone.networks}
        askers = {ns: replace(a, networks=tuple(n for n in a.networks if n in networks))
                  for ns, a in self.askers.items() if ns not in gone.namespaces}
        return DnsState(networks, askers)

    def to_json(self) -> str:
        return assembled({n: network_entry(n, v) for n, v in self.networks.items()},
                         {ns: asker_entry(ns, a) for ns, a in self.askers.items()})

    @property
    def digest(self) -> str:
        return digest_of(self.to_json())

    @classmethod
    def from_json(cls, text: str) -> DnsState:
        """The document back; ValueError when it is not one of this format version."""
        return read(text).state


@dataclass(frozen=True)
class Read:
    """A state and the lines of the document it was read from: each entry's line with its name and
    what was made of it, for the next read to reuse (empty: the document was not laid out one entry
    a line, as by hand)."""

    state: DnsState
    networks: dict[str, tuple[str, DnsNetwork]] = field(default_factory=dict)
    askers: dict[str, tuple[str, DnsAsker]] = field(default_factory=dict)


def read(text: str, last: Read | None = None) -> Read:
    """The document as a state; ValueError (or KeyError, TypeError) when it is not one of this format
    version. Laid out as `assembled` writes it, each entry whose line is one of `last` is the very
    object made of it then, not parsed again; any other layout is read whole."""
    groups = _laid_out(text)
    if groups is None:
        plain = json.loads(text)
        if not isinstance(plain, dict) or plain.get("formatVersion") != FORMAT_VERSION:
            raise ValueError(f"not a resolver state of format version {FORMAT_VERSION}")
        return Read(DnsState({n: _network_read(v) for n, v in plain["networks"].items()},
                             {ns: _asker_read(a) for ns, a in plain["askers"].items()}))
    asker_lines, network_lines = groups
    networks = _entries(network_lines, last.networks if last else {}, _network_read)
    askers = _entries(asker_lines, last.askers if last else {}, _asker_read)
    return Read(DnsState(dict(networks.values()), dict(askers.values())), networks, askers)


def _laid_out(text: str) -> tuple[list[str], list[str]] | None:
    """The lines of the askers' and the networks' entries, commas taken off; None when the document is
    not laid out as `assembled` writes it."""
    lines = text.split("\n")
    if len(lines) < 5 or lines[0] != HEAD or lines[-1] != TAIL or lines.count(MIDDLE) != 1:
        return None
    middle = lines.index(MIDDLE)
    askers, networks = _group(lines[1:middle]), _group(lines[middle + 1:-1])
    return None if askers is None or networks is None else (askers, networks)


def _group(lines: list[str]) -> list[str] | None:
    """Entries written `,\n`-joined (one empty line: none); None when they were not."""
    if lines == [""]:
        return []
    if not lines or any(not line.endswith(",") for line in lines[:-1]) or lines[-1].endswith(","):
        return None
    return [line[:-1] for line in lines[:-1]] + lines[-1:]


def _entries(lines: list[str], kept: dict[str, tuple[str, T]], parse: Callable[[Any], T]) -> dict[str, tuple[str, T]]:
    return {line: kept.get(line) or _entry(line, parse) for line in lines}


def _entry(line: str, parse: Callable[[Any], T]) -> tuple[str, T]:
    plain = json.loads("{" + line + "}")
    if len(plain) != 1:
        raise ValueError("not one entry a line")
    ((name, value),) = plain.items()
    return name, parse(value)


def _network_read(v: dict[str, Any]) -> DnsNetwork:
    return DnsNetwork(ttl=int(v["ttl"]), names={k: tuple(a) for k, a in v["names"].items()}, ptr=dict(v["ptr"]))


def _asker_read(a: dict[str, Any]) -> DnsAsker:
    return DnsAsker(networks=tuple(a["networks"]), forward=bool(a["forward"]),
                    servers=None if a["servers"] is None else tuple(a["servers"]), dhcp=tuple(a.get("dhcp", ())))


@dataclass(frozen=True)
class Resolver(KernelObject):
    """The resolver process of this host, serving `serving` (namespace names) from the state whose
    digest is `digest`. Observed: what its status file says it loaded, each namespace counted only while
    the socket it opened there is still in the namespace of that name. Desired: `state`, the document."""

    digest: str
    serving: tuple[str, ...]  # sorted
    state: str = field(default="", compare=False, repr=False)
    kind: ClassVar[str] = "resolver"
    rank: ClassVar[int] = 20

    @property
    def key(self) -> Key:
        return ("resolver",)

    @property
    def requires(self) -> tuple[Key, ...]:
        return tuple(("netns", ns) for ns in self.serving)

    @property
    def stage(self) -> int:
        return 2  # after every namespace it serves is made; deleted before any of them goes

    @property
    def title(self) -> str:
        return f"dns 127.0.0.11 in {len(self.serving)} namespace{'s' if len(self.serving) != 1 else ''}"

    def without(self, gone: Gone) -> Resolver | None:
        """This resolver once what `gone` names is destroyed (None: it would serve no one)."""
        try:
            state = DnsState.from_json(self.state).without(gone)
        except (ValueError, KeyError, TypeError):
            state = DnsState()
        if not state.askers:
            return None
        document = state.to_json()
        return replace(self, digest=digest_of(document), serving=tuple(sorted(state.askers)), state=document)

    def released(self, observed: KernelObject | None) -> Resolver | None:
        """What to apply before namespaces are deleted: the observed resolver no longer serving those
        this one drops (its sockets there would keep them, and their links, alive); None: nothing to drop."""
        if not isinstance(observed, Resolver) or set(observed.serving) <= set(self.serving):
            return None
        return replace(self, serving=tuple(sorted(set(observed.serving) & set(self.serving))))
