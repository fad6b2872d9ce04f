"""What the watch's kernel cache keeps of the host's objects (kernel/hostmade.py): after any change it
is told of, exactly what observe_objects.host_objects makes of the host from scratch."""

from __future__ import annotations

import socket

import pytest

from reconciler.kernel import rtnl
from reconciler.kernel.hostmade import HostMade
from reconciler.kernel.observe_objects import Link, Namespace, host_objects
from reconciler.model import ALIAS_PREFIX, OWNER_GROUP


def link(index: int, name: str, kind: str, master: int = 0, peer: int = 0, owned: bool = True) -> Link:
    return Link.of(rtnl.LinkMsg(index=index, flags=rtnl.IFF_UP, name=name, kind=kind, group=OWNER_GROUP if owned else 0,
                                alias=ALIAS_PREFIX + "net1", mtu=1500, mac="02:00:00:00:00:01", master=master,
                                link=peer, isolated=False, ipv6=False, link_netnsid=0 if kind == "veth" else -1))


class Dumps:
    def __init__(self) -> None:
        self.addresses_held: list[rtnl.AddrMsg] = []

    def addresses(self) -> list[rtnl.AddrMsg]:
        return self.addresses_held

    def routes(self, table: int = 0, protocol: int = 0) -> list[rtnl.RouteMsg]:
        return []

    def neighbours(self, family: int) -> list[rtnl.NeighMsg]:
        return []

    def close(self) -> None:
        pass


@pytest.fixture
def host(monkeypatch: pytest.MonkeyPatch) -> Namespace:
    from reconciler.kernel import observe_objects
    monkeypatch.setattr(observe_objects, "_route_localnet", lambda bridge: False)
    links = [link(1, "lo", "", owned=False), link(2, "eth9", "dummy"), link(5, "br0", "bridge"),
             link(6, "h1", "veth", master=5, peer=2), link(7, "h2", "veth", master=5, peer=2),
             link(8, "eth9.10", "vlan", peer=2)]
    return Namespace(None, {l.index: l for l in links}, Dumps())


def same(made: HostMade, host: Namespace, changed: set[int] | None) -> None:
    assert made.made(host, [], changed) == host_objects(host, [])


def test_the_first_call_makes_everything(host):
    same(HostMade(), host, None)


@pytest.fixture
def made(host) -> HostMade:
    made = HostMade()
    made.made(host, [], None)
    return made


def test_a_link_read_again_is_made_again(made, host):
    host.links[6] = link(6, "h1", "veth", master=0, peer=2)
    same(made, host, {6})


def test_a_link_gone_and_one_added_and_one_renamed(made, host):
    del host.links[7]
    host.links[9] = link(9, "h3", "veth", master=5, peer=2)
    host.links[6] = link(6, "h1-renamed", "veth", master=5, peer=2)
    same(made, host, {6, 7, 9})


def test_a_link_takes_the_name_of_one_gone(made, host):
    del host.links[6]
    host.links[7] = link(7, "h1", "veth", master=5, peer=2)
    same(made, host, {6, 7})


def test_a_bridge_renamed_renames_the_master_of_its_ports(made, host):
    host.links[5] = link(5, "br1", "bridge")
    same(made, host, {5})


def test_a_parent_renamed_renames_the_parent_of_its_vlan(made, host):
    host.links[2] = link(2, "eth8", "dummy")
    same(made, host, {2})


def test_a_bridge_is_made_every_time(made, host, monkeypatch):
    from reconciler.kernel import observe_objects
    monkeypatch.setattr(observe_objects, "_route_localnet", lambda bridge: True)
    same(made, host, set())


def test_addresses_that_differ_are_given_to_their_links(made, host):
    host.dumps.addresses_held = [rtnl.AddrMsg(socket.AF_INET, 24, 2, "172.20.0.1")]  # on eth9, not a bridge
    same(made, host, set())
    host.dumps.addresses_held = []
    same(made, host, set())


def test_a_link_takes_the_name_of_one_gone_after_it(made, host):
    del host.links[7]
    host.links[6] = link(6, "h2", "veth", master=5, peer=2)
    same(made, host, {6, 7})


class Links(dict):
    """Host links that count the passes over all of them."""

    passes = 0

    def values(self):  # type: ignore[override]
        Links.passes += 1
        return super().values()


def test_vxlan_entries_are_found_without_a_pass_over_every_link(made, host):
    from reconciler.kernel.rtnl import AF_BRIDGE, NUD_PERMANENT
    host.links[9] = link(9, "vx0", "vxlan", master=5, peer=2)
    host.dumps.neighbours = lambda family: [rtnl.NeighMsg(AF_BRIDGE, 9, NUD_PERMANENT, 0, "192.0.2.7", "02:00:00:00:00:09")
                                            ] if family == AF_BRIDGE else []
    same(made, host, {9})
    host.links = Links(host.links)

    objects = made.made(host, [], set())[0]

    assert any(o.kind == "fdb" for o in objects.values()) and Links.passes == 0
    del host.links[9]
    assert not any(o.kind == "fdb" for o in made.made(host, [], {9})[0].values())


def test_a_bridges_route_localnet_is_read_as_its_file_says():
    from pathlib import Path

    from reconciler.kernel.observe_objects import _route_localnet

    conf = Path("/proc/sys/net/ipv4/conf")
    for name in [p.name for p in conf.iterdir()] if conf.is_dir() else []:
        assert _route_localnet(name) == ((conf / name / "route_localnet").read_text().strip() == "1")
    assert _route_localnet("nrunit-none") is False
