"""The driver registry: the planner of each network driver, by the driver's name."""

from __future__ import annotations

from typing import Protocol

import reconciler.planners.bridge as bridge
import reconciler.planners.lower as lower
import reconciler.planners.overlay as overlay
from reconciler.input.spec import Endpoint, Network
from reconciler.model import KernelObject, NftRule
from reconciler.planners.context import Attachment, Context


class Driver(Protocol):
    """What a driver plans: a network's own objects on this host, an endpoint's interface on the
    network, and the network's firewall rules. A module of functions is one."""

    def network_objects(self, network: Network, ctx: Context) -> list[KernelObject]: ...

    def interface_objects(self, ep: Endpoint, att: Attachment) -> list[KernelObject]: ...

    def firewall_rules(self, network: Network, ctx: Context) -> list[NftRule]: ...


DRIVERS: dict[str, Driver] = {"bridge": bridge, "macvlan": lower, "ipvlan": lower, "overlay": overlay}


def driver_of(network: Network) -> Driver:
    return DRIVERS[network.driver]
