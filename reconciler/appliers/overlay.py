"""VXLAN links, their static forwarding (FDB) and neighbour entries, and their bridges' static entries for
them, through our rtnetlink socket."""

from __future__ import annotations

import errno
import socket
from ipaddress import ip_address

from reconciler.appliers.links import LinkApplier
from reconciler.appliers.registry import GONE, Applier, Changed, register, tolerate
from reconciler.model import ALIAS_PREFIX, OWNER_GROUP, BridgeFdb, Fdb, Neigh, Vxlan
from reconciler.rtnl import AF_BRIDGE, vxlan_data


@register("vxlan")
class VxlanApplier(LinkApplier):
    def create(self, obj: Vxlan) -> None:
        dev = self.kernel.index(None, obj.dev) if obj.dev else None
        with tolerate(errno.EEXIST):
            self.kernel.raw(None).new_link(obj.name, "vxlan", group=OWNER_GROUP, mtu=obj.mtu,
                                           data=vxlan_data(obj.vni, obj.port, obj.local, dev))
        self.update(obj, JOINED)

    def update(self, want: Vxlan, changed: Changed) -> None:
        self._set_ipv6(None, want.name, bool(want.ipv6))  # static neighbour entries only, never autoconfiguration
        master = self.kernel.index(None, want.master) if want.master and "master" in changed else None
        index = self.kernel.index(None, want.name)
        self.kernel.raw(None).set_link(index, alias=ALIAS_PREFIX + want.owner, up=True,
                                       mtu=want.mtu if "mtu" in changed else None, master=master)
        if want.master and want.learning is not None and changed & {"master", "learning"}:
            # A new port learns by default; what a port learned before is forgotten with its learning.
            self.kernel.raw(None).set_bridge_port(index, learning=want.learning, flush=not want.learning)


JOINED = frozenset({"master"})  # created outside its bridge: it joins it as a new port


@register("fdb")
class FdbApplier(Applier):
    def create(self, obj: Fdb) -> None:
        with tolerate(errno.EEXIST):
            self.kernel.raw(None).set_neigh(AF_BRIDGE, self.kernel.index(None, obj.ifname), obj.mac, obj.dst)

    def delete(self, obj: Fdb) -> None:
        with tolerate(*GONE):
            self.kernel.raw(None).set_neigh(AF_BRIDGE, self.kernel.index(None, obj.ifname), obj.mac, obj.dst, delete=True)


@register("bridge-fdb")
class BridgeFdbApplier(Applier):
    def create(self, obj: BridgeFdb) -> None:
        self.kernel.raw(None).set_bridge_fdb(self.kernel.index(None, obj.ifname), obj.mac)

    def delete(self, obj: BridgeFdb) -> None:
        with tolerate(*GONE):
            self.kernel.raw(None).set_bridge_fdb(self.kernel.index(None, obj.ifname), obj.mac, delete=True)


@register("neigh")
class NeighApplier(Applier):
    def create(self, obj: Neigh, delete: bool = False) -> None:
        family = socket.AF_INET if ip_address(obj.address).version == 4 else socket.AF_INET6
        self.kernel.raw(None).set_neigh(family, self.kernel.index(None, obj.ifname), obj.mac, obj.address, delete=delete)

    def delete(self, obj: Neigh) -> None:
        with tolerate(*GONE):
            self.create(obj, delete=True)
