"""Named network namespaces; the loopback inside carries our mark and the owner."""

from __future__ import annotations

import errno

from reconciler.appliers.registry import Applier, Changed, register
from reconciler.kernel import netns
from reconciler.kernel.rtnl_client import RtnlClient
from reconciler.model import ALIAS_PREFIX, OWNER_GROUP, Netns

LOOPBACK_INDEX = 1  # a new namespace's loopback, registered first, always has index 1 (LOOPBACK_IFINDEX)


@register("netns")
class NetnsApplier(Applier[Netns]):
    """A named network namespace, its loopback marked as ours and up."""

    def create(self, obj: Netns) -> None:
        netns.create(obj.name, prepare=lambda: _mark_loopback(RtnlClient(), obj, index=LOOPBACK_INDEX))

    def update(self, want: Netns, changed: Changed) -> None:
        _mark_loopback(self.kernel.raw(want.name), want, close=False)

    def delete(self, obj: Netns) -> None:
        self.kernel.forget(obj.name)
        try:
            netns.remove(obj.name)
        except OSError as err:
            if err.errno != errno.ENOENT:
                raise


def _mark_loopback(sock: RtnlClient, obj: Netns, close: bool = True, index: int | None = None) -> None:
    try:
        sock.set_link(index or sock.link_index("lo"), group=OWNER_GROUP, alias=ALIAS_PREFIX + obj.owner, up=True)
    finally:
        if close:
            sock.close()
