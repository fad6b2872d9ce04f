"""Routes in the main table, marked with our protocol number; `replace` makes create and update one."""

from __future__ import annotations

from reconciler.appliers import GONE, Applier, register, tolerate
from reconciler.model import ROUTE_PROTO, Route

MAIN_TABLE = 254
SCOPE_LINK = 253


@register("route")
class RouteApplier(Applier):
    def create(self, obj: Route) -> None:
        oif = self.kernel.index(obj.ns, obj.ifname)
        self.kernel.ipr(obj.ns).route("replace", **self._spec(obj), oif=oif)

    def delete(self, obj: Route) -> None:
        with tolerate(*GONE):
            self.kernel.ipr(obj.ns).route("del", **self._spec(obj))

    @staticmethod
    def _spec(obj: Route) -> dict:
        spec = {"dst": obj.dst, "proto": ROUTE_PROTO, "table": MAIN_TABLE}
        if obj.gateway:
            spec["gateway"] = obj.gateway
        else:
            spec["scope"] = SCOPE_LINK  # `default dev eth0`, a host route to an endpoint: on the link
        return spec
