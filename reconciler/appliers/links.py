"""Bridges and veth pairs. Links are created down and marked in the creating request (IFLA_GROUP),
IPv6 is switched off before they come up when their network has none (no autoconfiguration floods),
and the veth peer is created directly inside the endpoint's namespace (no move under rtnl_lock)."""

from __future__ import annotations

import errno
import time
from typing import TypeVar

from reconciler.appliers.common import delete_link, namespace_fd, set_ipv6
from reconciler.appliers.registry import NOTHING, Applier, Changed, register, tolerate
from reconciler.kernel.linkreq import veth_data
from reconciler.model import ALIAS_PREFIX, OWNER_GROUP, Bridge, Veth

V = TypeVar("V")

GONE_WITHIN = 5.0  # seconds for the kernel to finish removing a deleted namespace's links
BRIDGE_FOUND = frozenset({"mac"})  # a bridge its create finds already there is given its MAC
PORT_FLAGS = frozenset({"isolated", "hairpin"})  # off on a new port, and on a port joining a bridge


@register("bridge")
class BridgeApplier(Applier[Bridge]):
    """A bridge of the host, created with its MTU and MAC."""

    def create(self, obj: Bridge) -> None:
        with tolerate(errno.EEXIST):
            self.kernel.raw(None).new_link(obj.name, "bridge", group=OWNER_GROUP, mtu=obj.mtu or None,
                                           mac=obj.mac or None)
        self.update(obj, BRIDGE_FOUND)

    def update(self, want: Bridge, changed: Changed) -> None:
        set_ipv6(self.kernel, None, want.name, want.ipv6)
        if want.localnet is not None:
            self.kernel.write_sysctl(None, f"net.ipv4.conf.{want.name}.route_localnet", "1" if want.localnet else "0")
        self.kernel.raw(None).set_link(self.kernel.index(None, want.name), alias=ALIAS_PREFIX + want.owner, up=True,
                                       mtu=want.mtu, mac=_if(want.mac, "mac" in changed))

    def delete(self, obj: Bridge) -> None:
        delete_link(self.kernel, None, obj.name)


@register("veth")
class VethApplier(Applier[Veth]):
    """A veth pair, created whole: the host end on its bridge, the peer born inside the endpoint."""

    def create(self, obj: Veth) -> None:
        self.kernel.forget_link(None, obj.name)
        self.kernel.forget_link(obj.ns, obj.peer)
        self._create_pair(obj)
        # Created with its MTU, MAC and master: what is left is IPv6, the port's flags, the alias and "up".
        self._bring_up_peer(obj, NOTHING)
        self._bring_up_host_end(obj, frozenset(name for name in PORT_FLAGS if getattr(obj, name)))

    def update(self, want: Veth, changed: Changed) -> None:
        if "master" in changed:
            changed |= PORT_FLAGS
        self._bring_up_peer(want, changed)
        self._bring_up_host_end(want, changed)

    def delete(self, obj: Veth) -> None:
        delete_link(self.kernel, None, obj.name)
        self.kernel.forget_link(obj.ns, obj.peer)

    def _create_pair(self, obj: Veth) -> None:
        try:
            self._new_pair(obj)
        except OSError as err:
            if err.errno != errno.EEXIST:
                raise
            if not self.kernel.has_link(obj.ns, obj.peer):  # a pair of that name still going with a deleted namespace
                self._wait_gone(obj.name)
                self._new_pair(obj)

    def _new_pair(self, obj: Veth) -> None:
        with namespace_fd(obj.ns) as fd:
            peer = veth_data(obj.peer, OWNER_GROUP, obj.mtu or None, obj.mac or None, fd)
            master = self.kernel.index(None, obj.master) if obj.master else None
            made = self.kernel.raw(None).new_link(obj.name, "veth", group=OWNER_GROUP, mtu=obj.mtu or None,
                                                  mac=obj.host_mac or None, master=master, data=peer)
        if made is not None and made.name == obj.name:  # the kernel's echo: both ends' indexes, no request for them
            self.kernel.learn(None, obj.name, made.index)
            if obj.ns is not None and made.link_netnsid >= 0 and made.link:
                self.kernel.learn(obj.ns, obj.peer, made.link)

    def _wait_gone(self, name: str) -> None:
        """A namespace's removal returns before the kernel has destroyed its devices (and their veth
        peers on the host): wait for the host end of a removed pair, a few seconds at most."""
        deadline = time.monotonic() + GONE_WITHIN
        while self.kernel.has_link(None, name) and time.monotonic() < deadline:
            time.sleep(0.01)

    def _bring_up_peer(self, want: Veth, changed: Changed) -> None:
        index = self.kernel.index(want.ns, want.peer)
        set_ipv6(self.kernel, want.ns, want.peer, want.ipv6)
        self.kernel.raw(want.ns).set_link(index, alias=ALIAS_PREFIX + want.owner, up=True,
                                          mtu=_if(want.mtu, "mtu" in changed), mac=_if(want.mac, "mac" in changed))

    def _bring_up_host_end(self, want: Veth, changed: Changed) -> None:
        index = self.kernel.index(None, want.name)
        master = self.kernel.index(None, want.master) if want.master and "master" in changed else None
        set_ipv6(self.kernel, None, want.name, want.ipv6)
        self.kernel.raw(None).set_link(index, alias=ALIAS_PREFIX + want.owner, up=True, master=master,
                                       mtu=_if(want.mtu, "mtu" in changed),
                                       mac=_if(want.host_mac, "host_mac" in changed))
        if want.master:
            self._set_port_flags(index, want, changed)

    def _set_port_flags(self, index: int, want: Veth, changed: Changed) -> None:
        isolated = want.isolated if "isolated" in changed else None
        hairpin = want.hairpin if "hairpin" in changed else None
        if isolated is not None or hairpin is not None:
            self.kernel.raw(None).set_bridge_port(index, isolated=isolated, hairpin=hairpin)


def _if(value: V | None, wanted: bool) -> V | None:
    """`value` when the attribute must be sent, else None (set_link leaves None attributes alone)."""
    return value if wanted and value else None
