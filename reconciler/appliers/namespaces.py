"""Named network namespaces; the loopback inside carries our mark and the owner."""

from __future__ import annotations

import errno

from reconciler import netns
from reconciler.appliers import Applier, register
from reconciler.model import ALIAS_PREFIX, OWNER_GROUP, Netns


@register("netns")
class NetnsApplier(Applier):
    def create(self, obj: Netns) -> None:
        try:
            netns.create(obj.name)
        except FileExistsError:
            pass  # appeared since we looked: mark it below (it was not a foreign one then)
        self.update(obj, None)

    def update(self, want: Netns, have: Netns | None) -> None:
        ipr = self.kernel.ipr(want.name)
        lo = ipr.link("get", ifname="lo")[0]["index"]
        ipr.link("set", index=lo, group=OWNER_GROUP, ifalias=ALIAS_PREFIX + want.owner, state="up")

    def delete(self, obj: Netns) -> None:
        self.kernel.forget(obj.name)
        try:
            netns.remove(obj.name)
        except OSError as err:
            if err.errno != errno.ENOENT:
                raise
