"""Which declared Host this machine is: the one named by --host, else the one whose underlay address
is configured here. Without Hosts in the manifests, everything is local (a single host)."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import ip_interface

from reconciler.errors import HostError
from reconciler.input.spec import Manifests
from reconciler.planning.plan import Observed


def localize(m: Manifests, observed: Observed) -> Manifests:
    """The manifests with `host` set to this machine's Host (unchanged when no Hosts are declared)."""
    declared = ", ".join(f"{h.name} ({h.address})" for h in m.hosts)
    if not m.hosts:
        if m.host is not None and (m.networks or m.endpoints):  # declaring nothing: the empty guard judges
            raise HostError(f"--host {m.host}: the manifests declare no Host")
        return m
    if m.host is not None:
        if m.host_named(m.host) is None:
            raise HostError(f"--host {m.host}: no such Host (declared: {declared})")
        return m
    here = {ip_interface(a).ip for link in (observed.host_links or {}).values() for a in link.addresses}
    mine = [h for h in m.hosts if h.address in here]
    if not mine:
        raise HostError(f"no declared Host has its underlay address on this machine (declared: {declared}); "
                        f"pass --host NAME")
    if len(mine) > 1:
        raise HostError(f"several declared Hosts have their underlay address on this machine "
                        f"({', '.join(h.name for h in mine)}); pass --host NAME")
    return replace(m, host=mine[0].name)
