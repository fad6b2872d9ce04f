"""Addresses from the LAN's DHCP server: a client for each local endpoint interface on an `ipam: {mode:
dhcp}` network, kept by the lease keeper; and what plan and status say of the leases it holds. Pure."""

from __future__ import annotations

import time

from reconciler.input.spec import Manifests
from reconciler.model.dhcp import DhcpClient, DhcpState, LeaseKeeper, client_id, keeper
from reconciler.planning.plan import Observed
from reconciler.planning.subnets import CONFLICT


def dhcp_state(m: Manifests) -> DhcpState:
    dhcp = {n.name: n for n in m.networks if n.dhcp}
    clients = [DhcpClient(ep.name, i.network, ep.netns, i.name, client_id(ep.name, i.network), dhcp[i.network].internal,
                          broadcast=dhcp[i.network].driver == "ipvlan")
               for ep in m.local_endpoints for i in ep.interfaces if i.network in dhcp]
    return DhcpState({c.key: c for c in clients})


def lease_keeper(m: Manifests) -> LeaseKeeper | None:
    return keeper(dhcp_state(m))


def lease_notes(observed: Observed, clock: time.struct_time | None = None) -> tuple[str, ...]:
    """`address dhcp on lan1/eth0: 192.168.60.57/24 (lease until 14:03, renews 13:33)` for each lease the
    running keeper holds (or what it does instead), and a conflict for each address two interfaces hold."""
    found = observed.objects.get(("dhcp",))
    if not isinstance(found, LeaseKeeper):
        return ()
    notes = [_lease_note(h.key, h.phase, h.address, h.expires, h.renews) for h in found.leases]
    notes += [f"{CONFLICT}{c[0]} was given to {' and '.join(c[1:])} at once: the DHCP server gave one address twice "
              "(does it ignore client identifiers?)" for c in found.conflicts]
    return tuple(notes)


def _lease_note(key: str, phase: str, address: str | None, expires: float, renews: float) -> str:
    if address is None:
        why = "the lease expired, asking again" if phase == "expired" else f"no lease yet ({phase})"
        return f"address dhcp on {key}: none: {why}"
    times = f"lease until {_clock(expires)}, renews {_clock(renews)}"
    return f"address dhcp on {key}: {address} ({times}{'' if phase == 'bound' else ', ' + phase})"


def _clock(when: float) -> str:
    return time.strftime("%H:%M", time.localtime(when))
