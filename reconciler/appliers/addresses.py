"""IP addresses on links. IPv6 ones skip duplicate address detection (static, like Docker's)."""

from __future__ import annotations

import errno
from ipaddress import ip_interface

from reconciler.appliers import GONE, Applier, register, tolerate
from reconciler.model import Address

IFA_F_NODAD = 0x02


@register("address")
class AddressApplier(Applier):
    def create(self, obj: Address) -> None:
        with tolerate(errno.EEXIST):
            self.kernel.ipr(obj.ns).addr("add", **self._spec(obj))

    def delete(self, obj: Address) -> None:
        with tolerate(*GONE):
            self.kernel.ipr(obj.ns).addr("del", **self._spec(obj))

    def _spec(self, obj: Address) -> dict:
        iface = ip_interface(obj.address)
        spec = {"index": self.kernel.index(obj.ns, obj.ifname), "address": str(iface.ip), "prefixlen": iface.network.prefixlen}
        if iface.version == 6:
            spec["flags"] = IFA_F_NODAD
        return spec
