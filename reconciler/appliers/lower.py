"""macvlan and ipvlan links, and the parents we own (802.1q sub-interfaces, dummies).

Every link is created in one request with our mark, MTU and MAC; an endpoint's interface is born
inside its namespace (IFLA_NET_NS_FD) while its parent is looked up in the host's. IPv6 is set
before the link comes up, as for veths.
"""

from __future__ import annotations

import errno
import hashlib
import os

from reconciler import netns
from reconciler.appliers.links import LinkApplier, set_ipv6
from reconciler.appliers.registry import (
    GONE,
    NOTHING,
    Applier,
    Changed,
    register,
    tolerate,
)
from reconciler.model import (
    ALIAS_PREFIX,
    IPVLAN_FLAGS,
    IPVLAN_MODES,
    MACVLAN_MODES,
    OWNER_GROUP,
    Dummy,
    Ipvlan,
    LowerLink,
    Macvlan,
    Vlan,
)
from reconciler.rtnl import ipvlan_data, macvlan_data, vlan_data


class HostLinkApplier(LinkApplier):
    """A link of the host namespace with nothing to change after creation but its alias and state."""

    def update(self, want: Vlan | Dummy, changed: Changed) -> None:
        self.kernel.raw(None).set_link(self.kernel.index(None, want.name), alias=ALIAS_PREFIX + want.owner, up=True)


@register("vlan")
class VlanApplier(HostLinkApplier):
    def create(self, obj: Vlan) -> None:
        with tolerate(errno.EEXIST):
            self.kernel.raw(None).new_link(obj.name, "vlan", group=OWNER_GROUP, link=self.kernel.index(None, obj.parent),
                                           data=vlan_data(obj.vlan_id))
        self.update(obj, NOTHING)


@register("dummy")
class DummyApplier(HostLinkApplier):
    def create(self, obj: Dummy) -> None:
        with tolerate(errno.EEXIST):
            self.kernel.raw(None).new_link(obj.name, "dummy", group=OWNER_GROUP)
        self.update(obj, NOTHING)


class LowerLinkApplier(Applier):
    def create(self, obj: LowerLink) -> None:
        born_as = _transit_name(obj) if obj.ns and self._host_has(obj.name) else obj.name
        fd = os.open(netns.path(obj.ns), os.O_RDONLY) if obj.ns else None
        try:
            with tolerate(errno.EEXIST):
                self.kernel.raw(None).new_link(
                    born_as, obj.kind, group=OWNER_GROUP, link=self.kernel.index(None, obj.parent), mtu=obj.mtu,
                    mac=obj.mac if isinstance(obj, Macvlan) else None, netns_fd=fd, data=_data(obj),
                )
        finally:
            if fd is not None:
                os.close(fd)
        if born_as != obj.name:
            raw = self.kernel.raw(obj.ns)
            raw.set_link(raw.link_index(born_as), name=obj.name)
        self.update(obj, NOTHING)

    def _host_has(self, name: str) -> bool:
        """Whether the host has a link of that name: kernels before 6.12 make a link born in another
        namespace in the parent's first, so its name must be free there too (eth0 in an endpoint whose
        parent is the host's eth0). Docker creates every such link under a made-up name for that reason."""
        return self.kernel.has_link(None, name)

    def update(self, want: LowerLink, changed: Changed) -> None:
        mac = want.mac if isinstance(want, Macvlan) and "mac" in changed else None
        set_ipv6(self.kernel, want.ns, want.name, want.ipv6)
        self.kernel.raw(want.ns).set_link(self.kernel.index(want.ns, want.name), alias=ALIAS_PREFIX + want.owner,
                                          up=True, mtu=want.mtu if "mtu" in changed else None, mac=mac)

    def delete(self, obj: LowerLink) -> None:
        with tolerate(*GONE):
            self.kernel.raw(obj.ns).del_link(self.kernel.index(obj.ns, obj.name))
        self.kernel.forget_link(obj.ns, obj.name)


register("macvlan")(LowerLinkApplier)
register("ipvlan")(LowerLinkApplier)


def _transit_name(obj: LowerLink) -> str:
    """A name no one else uses, for the moment between creation and the rename inside the namespace."""
    return "nrt-" + hashlib.sha256(f"{obj.ns}/{obj.name}".encode()).hexdigest()[:11]


def _data(obj: LowerLink) -> bytes:
    if isinstance(obj, Ipvlan):
        return ipvlan_data(IPVLAN_MODES[obj.mode], IPVLAN_FLAGS[obj.flag])
    return macvlan_data(MACVLAN_MODES[obj.mode])
