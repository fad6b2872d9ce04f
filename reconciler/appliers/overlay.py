"""VXLAN links, their static forwarding (FDB) and neighbour entries, and their bridges' static entries for
them, through our rtnetlink socket."""

from __future__ import annotations

import errno
import socket
from ipaddress import ip_address

from reconciler.appliers.common import delete_link, set_ipv6
from reconciler.appliers.registry import GONE, Applier, Changed, register, tolerate
from reconciler.kernel.linkreq import vxlan_data
from reconciler.kernel.rtnl import AF_BRIDGE
from reconciler.model import ALIAS_PREFIX, OWNER_GROUP, BridgeFdb, Fdb, Neigh, Vxlan

JOINED = frozenset({"master"})  # created outside its bridge: it joins it as a new port


@register("vxlan")
class VxlanApplier(Applier[Vxlan]):
    """An overlay network's VXLAN link, a port of the overlay bridge that learns nothing."""

    def create(self, obj: Vxlan) -> None:
        dev = self.kernel.index(None, obj.dev) if obj.dev else None
        with tolerate(errno.EEXIST):
            self.kernel.raw(None).new_link(obj.name, "vxlan", group=OWNER_GROUP, mtu=obj.mtu,
                                           data=vxlan_data(obj.vni, obj.port, obj.local, dev))
        self.update(obj, JOINED)

    def update(self, want: Vxlan, changed: Changed) -> None:
        set_ipv6(self.kernel, None, want.name, bool(want.ipv6))  # static neighbour entries only, never autoconfiguration
        master = self.kernel.index(None, want.master) if want.master and "master" in changed else None
        index = self.kernel.index(None, want.name)
        self.kernel.raw(None).set_link(index, alias=ALIAS_PREFIX + want.owner, up=True,
                                       mtu=want.mtu if "mtu" in changed else None, master=master)
        if want.master and want.learning is not None and changed & {"master", "learning"}:
            # A new port learns by default; what a port learned before is forgotten with its learning.
            self.kernel.raw(None).set_bridge_port(index, learning=want.learning, flush=not want.learning)

    def delete(self, obj: Vxlan) -> None:
        delete_link(self.kernel, None, obj.name)


@register("fdb")
class FdbApplier(Applier[Fdb]):
    """A static forwarding entry of a VXLAN link: a MAC's frames go to a remote VTEP."""

    def create(self, obj: Fdb) -> None:
        with tolerate(errno.EEXIST):
            self._request(obj)

    def delete(self, obj: Fdb) -> None:
        with tolerate(*GONE):
            self._request(obj, delete=True)

    def _request(self, obj: Fdb, delete: bool = False) -> None:
        self.kernel.raw(None).set_neigh(AF_BRIDGE, self.kernel.index(None, obj.ifname), obj.mac, obj.dst, delete=delete)


@register("bridge-fdb")
class BridgeFdbApplier(Applier[BridgeFdb]):
    """A static entry of an overlay bridge: a remote endpoint's MAC leaves by the VXLAN port."""

    def create(self, obj: BridgeFdb) -> None:
        self._request(obj)

    def delete(self, obj: BridgeFdb) -> None:
        with tolerate(*GONE):
            self._request(obj, delete=True)

    def _request(self, obj: BridgeFdb, delete: bool = False) -> None:
        self.kernel.raw(None).set_bridge_fdb(self.kernel.index(None, obj.ifname), obj.mac, delete=delete)


@register("neigh")
class NeighApplier(Applier[Neigh]):
    """A permanent neighbour entry on a VXLAN link: a remote endpoint's address and MAC."""

    def create(self, obj: Neigh) -> None:
        self._request(obj)

    def delete(self, obj: Neigh) -> None:
        with tolerate(*GONE):
            self._request(obj, delete=True)

    def _request(self, obj: Neigh, delete: bool = False) -> None:
        family = socket.AF_INET if ip_address(obj.address).version == 4 else socket.AF_INET6
        self.kernel.raw(None).set_neigh(family, self.kernel.index(None, obj.ifname), obj.mac, obj.address, delete=delete)
