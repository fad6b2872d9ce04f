"""VXLAN links and their static forwarding (FDB) and neighbour entries, through our rtnetlink socket."""

from __future__ import annotations

import errno
import socket
from ipaddress import ip_address

from reconciler.appliers import GONE, Applier, register, tolerate
from reconciler.appliers.links import LinkApplier
from reconciler.model import ALIAS_PREFIX, OWNER_GROUP, Fdb, Neigh, Vxlan
from reconciler.rtnl import AF_BRIDGE, vxlan_data


@register("vxlan")
class VxlanApplier(LinkApplier):
    def create(self, obj: Vxlan) -> None:
        dev = self.kernel.index(None, obj.dev) if obj.dev else None
        with tolerate(errno.EEXIST):
            self.kernel.raw(None).new_link(obj.name, "vxlan", group=OWNER_GROUP, mtu=obj.mtu,
                                           data=vxlan_data(obj.vni, obj.port, obj.local, dev))
        self.update(obj, None)

    def update(self, want: Vxlan, have: Vxlan | None) -> None:
        changed = {name for name, _, _ in want.differences(have)} if have else {"master"}
        self._set_ipv6(None, want.name, bool(want.ipv6))  # static neighbour entries only, never autoconfiguration
        master = self.kernel.index(None, want.master) if want.master and "master" in changed else None
        self.kernel.raw(None).set_link(self.kernel.index(None, want.name), alias=ALIAS_PREFIX + want.owner, up=True,
                                       mtu=want.mtu if "mtu" in changed else None, master=master)


@register("fdb")
class FdbApplier(Applier):
    def create(self, obj: Fdb) -> None:
        with tolerate(errno.EEXIST):
            self.kernel.raw(None).set_neigh(AF_BRIDGE, self.kernel.index(None, obj.ifname), obj.mac, obj.dst)

    def delete(self, obj: Fdb) -> None:
        with tolerate(*GONE):
            self.kernel.raw(None).set_neigh(AF_BRIDGE, self.kernel.index(None, obj.ifname), obj.mac, obj.dst, delete=True)


@register("neigh")
class NeighApplier(Applier):
    def create(self, obj: Neigh, delete: bool = False) -> None:
        family = socket.AF_INET if ip_address(obj.address).version == 4 else socket.AF_INET6
        self.kernel.raw(None).set_neigh(family, self.kernel.index(None, obj.ifname), obj.mac, obj.address, delete=delete)

    def delete(self, obj: Neigh) -> None:
        with tolerate(*GONE):
            self.create(obj, delete=True)
