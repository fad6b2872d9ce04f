"""IP addresses on links. IPv6 ones skip duplicate address detection (static, like Docker's)."""

from __future__ import annotations

import errno
from ipaddress import ip_interface

from reconciler.appliers.registry import GONE, Applier, register, tolerate
from reconciler.model import Address

IFA_F_NODAD = 0x02


@register("address")
class AddressApplier(Applier[Address]):
    """An address on a link; IPv6 ones without duplicate address detection."""

    def create(self, obj: Address) -> None:
        with tolerate(errno.EEXIST):
            self._request(obj)

    def delete(self, obj: Address) -> None:
        with tolerate(*GONE):
            self._request(obj, delete=True)

    def _request(self, obj: Address, delete: bool = False) -> None:
        iface = ip_interface(obj.address)
        self.kernel.raw(obj.ns).address(self.kernel.index(obj.ns, obj.ifname), str(iface.ip), iface.network.prefixlen,
                                        flags=IFA_F_NODAD if iface.version == 6 else 0, delete=delete)
