"""One drawn Host's share of the picture: what it builds, and what its kernel said about each piece."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from reconciler.engine import State
from reconciler.graph.ledger import Check, Ledger, Place, combined
from reconciler.graph.model import Line
from reconciler.input.ipam import AllocKey
from reconciler.input.spec import Host, IPAddress, Manifests
from reconciler.planners import build_context
from reconciler.planners.context import Context

Addresses = dict[AllocKey, IPAddress]


@dataclass(frozen=True)
class HostView:
    """What one host builds (`ctx.manifests.host` set), and its kernel's checks (None: not observed).

    Not the engine's verification scope: the part of the picture drawn in one Host's cluster."""

    host: Host | None
    ctx: Context
    ledger: Ledger | None

    @classmethod
    def of(cls, m: Manifests, host: Host | None, addresses: Addresses, ledger: Ledger | None) -> HostView:
        """The view of `host` (None: the manifests declare no Host)."""
        return cls(host, build_context(replace(m, host=host.name if host else None), addresses), ledger)

    @property
    def cluster(self) -> str | None:
        return self.host.name if self.host else None

    @property
    def m(self) -> Manifests:
        return self.ctx.manifests

    def unobserved(self) -> HostView:
        """The same host, its kernel not consulted."""
        return replace(self, ledger=None)

    def state(self, checks: list[Check], principal: tuple[str, ...] = ()) -> State | None:
        return combined(checks, principal) if self.ledger is not None else None

    def pick(self, owner: str, *, place: Place | None = None, address: str | None = None,
             labels: Callable[[str], bool] | None = None, rules: bool | None = None) -> list[Check]:
        """The owner's checks, narrowed as `Ledger.pick` does (none when the kernel is not observed)."""
        if self.ledger is None:
            return []
        return self.ledger.pick(owner, place=place, address=address, labels=labels, rules=rules)

    def line(self, text: str, checks: list[Check], principal: tuple[str, ...] = ()) -> Line:
        return Line(text, self.state(checks, principal), why(checks))

    def allocated(self, name: str, network: str) -> list[IPAddress]:
        """The addresses of `name` (an endpoint, @host, @service/NAME) on `network`, IPv4 first."""
        return [a for a in (self.ctx.addresses.get((name, network, v)) for v in (4, 6)) if a is not None]


def why(checks: list[Check]) -> str:
    """What differs, briefly: `address 172.20.0.10/24 missing`, `veth drifted`, `12 rules missing`."""
    differ = [c for c in checks if c.state is not State.IN_SYNC]
    said = [f"{_short(c)} {c.state.value}" for c in differ if c.kind != "rule"]
    for state in dict.fromkeys(c.state for c in differ if c.kind == "rule"):
        rules = [c for c in differ if c.kind == "rule" and c.state is state]
        said.append(f"rule {rules[0].label} {state.value}" if len(rules) == 1 else f"{len(rules)} rules {state.value}")
    return ", ".join(said)


def _short(c: Check) -> str:
    """A check named briefly inside its line: `address 172.20.0.10/24`, `route 0.0.0.0/0`, `veth`."""
    if c.kind == "address":
        return f"address {c.title.split(' on ')[0]}"
    return f"route {c.title.split(' ')[0]}" if c.kind == "route" else c.kind


def detail(checks: list[Check]) -> str:
    """Every check that differs, one a line (a node's tooltip)."""
    return "\n".join(str(c) for c in checks if c.state is not State.IN_SYNC)
