"""The DHCP lease keeper process: started by apply (a daemon of its own, as the resolver), given a new
state by SIGHUP (it releases the leases of interfaces that go), stopped when no interface needs it:
first told to keep nothing (every lease released), then SIGTERM (which alone would keep the leases,
for a restart). Each step waits until its status says it took the state; then, a little while, for
the new interfaces' leases (apply does not fail without one: status says how each one fares)."""

from __future__ import annotations

from reconciler.appliers.process import READY_WITHIN, load, stop, wait_until
from reconciler.appliers.registry import Applier, Changed, register
from reconciler.errors import ApplyError
from reconciler.kernel import dhcpstate
from reconciler.model.dhcp import DhcpState, LeaseKeeper

WHAT = "the DHCP lease keeper"
BOUND_WITHIN = 15.0  # seconds apply waits for new leases (a server pings an address about 3 s before offering it)


@register("dhcp")
class LeaseKeeperApplier(Applier[LeaseKeeper]):
    """One lease keeper process per host."""

    def create(self, obj: LeaseKeeper) -> None:
        load(dhcpstate.PROCESS, obj.state, WHAT)
        if not wait_until(lambda: _loaded(obj)):
            raise ApplyError(f"{WHAT} did not report keeping {', '.join(obj.clients) or 'its new state'} within "
                             f"{READY_WITHIN:.0f} s (see {dhcpstate.PROCESS.state_dir()}/dhcp.log)")
        wait_until(lambda: _bound(obj), BOUND_WITHIN)

    def update(self, want: LeaseKeeper, changed: Changed) -> None:
        self.create(want)

    def delete(self, obj: LeaseKeeper) -> None:
        if dhcpstate.PROCESS.pid_of_status() is not None:
            nothing = DhcpState()
            self.create(LeaseKeeper(nothing.digest, (), state=nothing.to_json()))
        stop(dhcpstate.PROCESS)


def _loaded(obj: LeaseKeeper) -> bool:
    status = dhcpstate.PROCESS.status()
    if status is None or status.get("digest") != obj.digest:
        return False
    found = dhcpstate.observe()
    return found is not None and set(obj.clients) <= set(found.clients)


def _bound(obj: LeaseKeeper) -> bool:
    found = dhcpstate.observe()
    held = {h.key: h for h in found.leases} if found else {}
    return all(k in held and held[k].address is not None for k in obj.clients)
