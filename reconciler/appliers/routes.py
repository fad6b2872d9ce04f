"""Routes in the main table, marked with our protocol number; `replace` makes create and update one."""

from __future__ import annotations

from reconciler.appliers.registry import GONE, Applier, register, tolerate
from reconciler.model import ROUTE_PROTO, Route

MAIN_TABLE = 254
SCOPE_UNIVERSE, SCOPE_LINK = 0, 253


@register("route")
class RouteApplier(Applier[Route]):
    """A route of the main table, in the namespace of its link."""

    def create(self, obj: Route) -> None:
        oif = self.kernel.index(obj.ns, obj.ifname)
        self.kernel.raw(obj.ns).route(obj.dst, obj.gateway, table=MAIN_TABLE, protocol=ROUTE_PROTO, scope=_scope(obj),
                                      oif=oif)

    def delete(self, obj: Route) -> None:
        with tolerate(*GONE):
            self.kernel.raw(obj.ns).route(obj.dst, obj.gateway, table=MAIN_TABLE, protocol=ROUTE_PROTO,
                                          scope=_scope(obj), delete=True)


def _scope(obj: Route) -> int:
    """`default dev eth0`, a host route to an endpoint: on the link; via a gateway: universe."""
    return SCOPE_UNIVERSE if obj.gateway else SCOPE_LINK
