"""macvlan and ipvlan links, and the parents we own (802.1q sub-interfaces, dummies).

Every link is created in one request with our mark, MTU and MAC; an endpoint's interface is born
inside its namespace (IFLA_NET_NS_FD) while its parent is looked up in the host's. IPv6 is set
before the link comes up, as for veths.
"""

from __future__ import annotations

import errno
import hashlib
from typing import TypeVar

from reconciler.appliers.common import delete_link, namespace_fd, set_ipv6
from reconciler.appliers.registry import NOTHING, Applier, Changed, register, tolerate
from reconciler.kernel.linkreq import ipvlan_data, macvlan_data, vlan_data
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

Parent = TypeVar("Parent", Vlan, Dummy)
Lower = TypeVar("Lower", bound=LowerLink)


class ParentApplier(Applier[Parent]):
    """A parent link of the host namespace: nothing to change after creation but its alias and state."""

    def update(self, want: Parent, changed: Changed) -> None:
        self.kernel.raw(None).set_link(self.kernel.index(None, want.name), alias=ALIAS_PREFIX + want.owner, up=True)

    def delete(self, obj: Parent) -> None:
        delete_link(self.kernel, None, obj.name)


@register("vlan")
class VlanApplier(ParentApplier[Vlan]):
    """An 802.1q sub-interface of a host link."""

    def create(self, obj: Vlan) -> None:
        with tolerate(errno.EEXIST):
            self.kernel.raw(None).new_link(obj.name, "vlan", group=OWNER_GROUP, link=self.kernel.index(None, obj.parent),
                                           data=vlan_data(obj.vlan_id))
        self.update(obj, NOTHING)


@register("dummy")
class DummyApplier(ParentApplier[Dummy]):
    """A dummy link, the parent of a network declared without one."""

    def create(self, obj: Dummy) -> None:
        with tolerate(errno.EEXIST):
            self.kernel.raw(None).new_link(obj.name, "dummy", group=OWNER_GROUP)
        self.update(obj, NOTHING)


class LowerLinkApplier(Applier[Lower]):
    """A macvlan or ipvlan link on a host parent, born where it lives (an endpoint, or the host)."""

    def create(self, obj: Lower) -> None:
        born_as = _transit_name(obj) if obj.ns and self._host_has(obj.name) else obj.name
        with namespace_fd(obj.ns) as fd, tolerate(errno.EEXIST):
            self.kernel.raw(None).new_link(born_as, obj.kind, group=OWNER_GROUP, link=self.kernel.index(None, obj.parent),
                                           mtu=obj.mtu, mac=self._mac(obj), netns_fd=fd, data=self._data(obj))
        if born_as != obj.name:
            raw = self.kernel.raw(obj.ns)
            raw.set_link(raw.link_index(born_as), name=obj.name)
        self.update(obj, NOTHING)

    def _host_has(self, name: str) -> bool:
        """Whether the host has a link of that name: kernels before 6.12 make a link born in another
        namespace in the parent's first, so its name must be free there too (eth0 in an endpoint whose
        parent is the host's eth0). Docker creates every such link under a made-up name for that reason."""
        return self.kernel.has_link(None, name)

    def update(self, want: Lower, changed: Changed) -> None:
        set_ipv6(self.kernel, want.ns, want.name, want.ipv6)
        self.kernel.raw(want.ns).set_link(self.kernel.index(want.ns, want.name), alias=ALIAS_PREFIX + want.owner,
                                          up=True, mtu=want.mtu if "mtu" in changed else None,
                                          mac=self._mac(want) if "mac" in changed else None)

    def delete(self, obj: Lower) -> None:
        delete_link(self.kernel, obj.ns, obj.name)

    def _mac(self, obj: Lower) -> str | None:
        """The MAC the link is created with (None: the kernel's choice, or its parent's)."""
        return None

    def _data(self, obj: Lower) -> bytes:
        """The link's IFLA_INFO_DATA: its mode (and flag)."""
        raise NotImplementedError


@register("macvlan")
class MacvlanApplier(LowerLinkApplier[Macvlan]):
    """A macvlan link: a MAC of its own on its parent."""

    def _mac(self, obj: Macvlan) -> str | None:
        return obj.mac

    def _data(self, obj: Macvlan) -> bytes:
        return macvlan_data(MACVLAN_MODES[obj.mode])


@register("ipvlan")
class IpvlanApplier(LowerLinkApplier[Ipvlan]):
    """An ipvlan link: its parent's MAC."""

    def _data(self, obj: Ipvlan) -> bytes:
        return ipvlan_data(IPVLAN_MODES[obj.mode], IPVLAN_FLAGS[obj.flag])


def _transit_name(obj: LowerLink) -> str:
    """A name no one else uses, for the moment between creation and the rename inside the namespace."""
    return "nrt-" + hashlib.sha256(f"{obj.ns}/{obj.name}".encode()).hexdigest()[:11]
