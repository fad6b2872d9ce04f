"""What the DHCP lease keeper keeps: one client per endpoint interface on an `ipam: {mode: dhcp}`
network (the document the planner computes and the keeper loads from /run/netreconcile/dhcp/state.json),
and the keeper process as a kernel object of the plan. Pure data, no I/O."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from reconciler.model.base import KernelObject, Key, link_key
from reconciler.model.dns import Gone

FORMAT_VERSION = 1


def client_id(endpoint: str, network: str) -> str:
    """Option 61 of an endpoint's interface, as hex: RFC 4361's form (type 255, a 4-byte IAID, a DUID),
    the DUID a UUID (RFC 6355, type 4) made from the endpoint's and network's names: the same across
    re-creation, so reservations on the server hold, and distinct where ipvlans share one MAC."""
    digest = hashlib.sha256(f"netreconcile-dhcp\0{endpoint}\0{network}".encode()).digest()
    return (b"\xff" + digest[:4] + b"\x00\x04" + digest[4:20]).hex()


@dataclass(frozen=True)
class DhcpClient:
    """One interface whose IPv4 address comes from the LAN's DHCP server. `internal`: no default route
    through the offered router; `broadcast`: replies asked to be broadcast (ipvlan: every interface
    of the parent has its MAC, the server could not unicast to one of them)."""

    endpoint: str
    network: str
    ns: str
    ifname: str
    client_id: str
    internal: bool = False
    broadcast: bool = False

    @property
    def key(self) -> str:
        return f"{self.ns}/{self.ifname}"


@dataclass(frozen=True)
class DhcpState:
    """Every DHCP client of this host, by `ns/ifname`."""

    clients: dict[str, DhcpClient] = field(default_factory=dict)

    def without(self, gone: Gone) -> DhcpState:
        return DhcpState({k: c for k, c in self.clients.items() if c.ns not in gone.namespaces})

    def to_json(self) -> str:
        plain = {"formatVersion": FORMAT_VERSION,
                 "clients": {k: {"endpoint": c.endpoint, "network": c.network, "ns": c.ns, "ifname": c.ifname,
                                 "clientId": c.client_id, "internal": c.internal, "broadcast": c.broadcast}
                             for k, c in self.clients.items()}}
        return json.dumps(plain, sort_keys=True, separators=(",", ":"))

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]

    @classmethod
    def from_json(cls, text: str) -> DhcpState:
        """The document back; ValueError when it is not one of this format version."""
        plain: Any = json.loads(text)
        if not isinstance(plain, dict) or plain.get("formatVersion") != FORMAT_VERSION:
            raise ValueError(f"not a DHCP state of format version {FORMAT_VERSION}")
        clients = {k: DhcpClient(str(c["endpoint"]), str(c["network"]), str(c["ns"]), str(c["ifname"]),
                                 str(c["clientId"]), bool(c["internal"]), bool(c.get("broadcast")))
                   for k, c in plain["clients"].items()}
        return cls(clients)


@dataclass(frozen=True)
class HeldLease:
    """An interface's lease as the running keeper reports it: its phase (bound, renewing, rebinding,
    selecting, expired, ...), and while it holds one the address (CIDR), router, name servers, and
    when (wall clock seconds) the lease expires and is to be renewed."""

    key: str
    phase: str
    address: str | None = None
    router: str | None = None
    dns: tuple[str, ...] = ()
    expires: float = 0.0
    renews: float = 0.0


@dataclass(frozen=True)
class LeaseKeeper(KernelObject):
    """The DHCP lease keeper process of this host, keeping a lease for each of `clients` (`ns/ifname`)
    from the state whose digest is `digest`. Observed: what its status file says it loaded, each
    client only while its namespace is the one the keeper opened its socket in."""

    digest: str
    clients: tuple[str, ...]  # sorted
    state: str = field(default="", compare=False, repr=False)
    leases: tuple[HeldLease, ...] = field(default=(), compare=False, repr=False)  # observed only
    conflicts: tuple[tuple[str, ...], ...] = field(default=(), compare=False, repr=False)  # (address, key, key...)
    kind: ClassVar[str] = "dhcp"
    rank: ClassVar[int] = 20

    @property
    def key(self) -> Key:
        return ("dhcp",)

    @property
    def requires(self) -> tuple[Key, ...]:
        return tuple(link_key(*c.split("/", 1)) for c in self.clients)

    @property
    def stage(self) -> int:
        return 2  # after the interfaces it keeps leases on; deleted (leases released) before they go

    @property
    def title(self) -> str:
        return f"lease keeper for {len(self.clients)} interface{'s' if len(self.clients) != 1 else ''}"

    def without(self, gone: Gone) -> LeaseKeeper | None:
        """This keeper once what `gone` names is destroyed (None: it would keep no lease)."""
        try:
            state = DhcpState.from_json(self.state).without(gone)
        except (ValueError, KeyError, TypeError):
            state = DhcpState()
        return keeper(state)

    def released(self, observed: KernelObject | None) -> LeaseKeeper | None:
        """Before interfaces go: the observed keeper releasing the leases of those this one drops."""
        if not isinstance(observed, LeaseKeeper) or set(observed.clients) <= set(self.clients):
            return None
        try:
            state = DhcpState.from_json(self.state)
        except (ValueError, KeyError, TypeError):
            return None
        kept = DhcpState({k: c for k, c in state.clients.items() if k in observed.clients})
        return replace(self, digest=kept.digest, clients=tuple(sorted(kept.clients)), state=kept.to_json())


def keeper(state: DhcpState) -> LeaseKeeper | None:
    """The keeper of `state`; none when no interface here takes its address by DHCP."""
    if not state.clients:
        return None
    return LeaseKeeper(state.digest, tuple(sorted(state.clients)), state=state.to_json())
