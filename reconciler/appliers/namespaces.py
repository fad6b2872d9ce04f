"""Named network namespaces; the loopback inside carries our mark and the owner."""

from __future__ import annotations

import errno

from pyroute2 import IPRoute

from reconciler import netns
from reconciler.appliers import Applier, register
from reconciler.model import ALIAS_PREFIX, OWNER_GROUP, Netns


@register("netns")
class NetnsApplier(Applier):
    def create(self, obj: Netns) -> None:
        netns.create(obj.name, prepare=lambda: _mark_loopback(IPRoute(), obj))

    def update(self, want: Netns, have: Netns | None) -> None:
        _mark_loopback(self.kernel.ipr(want.name), want, close=False)

    def delete(self, obj: Netns) -> None:
        self.kernel.forget(obj.name)
        try:
            netns.remove(obj.name)
        except OSError as err:
            if err.errno != errno.ENOENT:
                raise


def _mark_loopback(ipr: IPRoute, obj: Netns, close: bool = True) -> None:
    try:
        index = ipr.link("get", ifname="lo")[0]["index"]
        ipr.link("set", index=index, group=OWNER_GROUP, ifalias=ALIAS_PREFIX + obj.owner, state="up")
    finally:
        if close:
            ipr.close()
