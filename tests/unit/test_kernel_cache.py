"""The watch's kernel cache, without the kernel: which namespaces it reads again, and when, from a
scripted source that records every read (its fixtures `source` and `cache`: conftest.py).
tests/integration/test_watch.py runs it against the kernel."""

from __future__ import annotations

import errno
import socket

from reconciler.kernel import rtnl
from reconciler.kernel.cache import KernelCache, KernelSource
from reconciler.kernel.filestamps import FileStamps
from reconciler.kernel.observe import observe
from reconciler.kernel.session import Kernel
from reconciler.model import (
    ALIAS_PREFIX,
    NETNS_FILES,
    OWNER_GROUP,
    ROUTE_PROTO,
    Address,
    HostsFile,
    Netns,
    Route,
    Sysctl,
)
from reconciler.planning.plan import Action, Step

E1, E2 = "nrunit-e1", "nrunit-e2"  # named so that no /etc/netns/NAME of the machine is ever met


def link(index: int, name: str, kind: str = "veth", peer: int = 0, owned: bool = True) -> rtnl.LinkMsg:
    return rtnl.LinkMsg(index=index, flags=rtnl.IFF_UP, name=name, kind=kind, group=OWNER_GROUP if owned else 0,
                        alias=ALIAS_PREFIX + "net1", mtu=1500, mac="02:00:00:00:00:01", master=0, link=peer,
                        isolated=False, ipv6=False, link_netnsid=0 if kind == "veth" else -1)


class Space:
    """One namespace of the scripted kernel."""

    def __init__(self, links: list[rtnl.LinkMsg], inode: int, nsid: int,
                 addresses: list[rtnl.AddrMsg] = (), routes: list[rtnl.RouteMsg] = ()) -> None:
        self.links, self.inode, self.nsid = {m.index: m for m in links}, inode, nsid
        self.addresses, self.routes = list(addresses), list(routes)


class Client:
    def __init__(self, source: Scripted, name: str | None) -> None:
        self.source, self.name = source, name

    def _space(self, what: str) -> Space:
        self.source.reads.append((self.name, what))
        return self.source.spaces[self.name]

    def links(self) -> list[rtnl.LinkMsg]:
        return list(self._space("links").links.values())

    def get_link(self, index: int) -> rtnl.LinkMsg:
        found = self._space(f"link {index}").links.get(index)
        if found is None:
            raise OSError(errno.ENODEV, "No such device")
        return found

    def addresses(self) -> list[rtnl.AddrMsg]:
        return self._space("addresses").addresses

    def routes(self, table: int = 0, protocol: int = 0) -> list[rtnl.RouteMsg]:
        return [r for r in self._space("routes").routes if table in (0, r.table) and protocol in (0, r.protocol)]

    def neighbours(self, family: int) -> list[rtnl.NeighMsg]:
        self._space("neighbours")
        return []

    def close(self) -> None:
        pass


class Scripted(KernelSource):
    """A host with a bridge port veth to each of two endpoint namespaces; `reads` lists every read."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[tuple[str | None, str]] = []
        route = rtnl.RouteMsg(socket.AF_INET, None, 0, rtnl.RT_TABLE_MAIN, ROUTE_PROTO, 2, "172.20.0.1")
        address = rtnl.AddrMsg(socket.AF_INET, 24, 2, "172.20.0.2")
        self.spaces: dict[str | None, Space] = {
            None: Space([link(1, "lo", "", owned=False), link(5, "br0", "bridge"), link(6, "h1", peer=2),
                         link(7, "h2", peer=2)], 0, -1),
            E1: Space([link(1, "lo", ""), link(2, "eth0", peer=6)], 101, 1, [address], [route]),
            E2: Space([link(1, "lo", ""), link(2, "eth0", peer=7)], 102, 2, [address], [route]),
        }

    def client(self, name: str | None) -> Client:
        if name not in self.spaces:
            raise OSError(errno.ENOENT, f"no namespace {name}")
        return Client(self, name)

    def nsid(self, name: str) -> int:
        self.reads.append((name, "nsid"))
        return self.spaces[name].nsid

    def inodes(self) -> dict[str, int]:
        return {name: space.inode for name, space in self.spaces.items() if name is not None}

    def inode(self, name: str) -> int:
        if name not in self.spaces:
            raise FileNotFoundError(errno.ENOENT, f"no namespace {name}")
        return self.spaces[name].inode

    def taken(self) -> list[tuple[str | None, str]]:
        """The reads since the last call."""
        taken, self.reads = self.reads, []
        return taken


def observed(cache: KernelCache) -> dict:
    return observe(Kernel(), reader=cache, table=False).objects


def link_news(index: int) -> memoryview:
    return memoryview(rtnl.IFINFOMSG.pack(socket.AF_UNSPEC, 0, index, 0, 0))


def test_the_first_observation_reads_every_namespace_once():
    source = Scripted()
    objects = observed(KernelCache(source=source))

    assert sorted(source.taken(), key=str) == sorted([
        (None, "links"), (None, "addresses"), (None, "routes"),
        (E1, "nsid"), (E1, "links"), (E1, "addresses"), (E1, "routes"),
        (E2, "nsid"), (E2, "links"), (E2, "addresses"), (E2, "routes")], key=str)
    assert objects[("netns", E1)] == Netns(E1, owner="net1")
    assert ("route", E2, "0.0.0.0/0") in objects


def test_without_news_nothing_is_read_again_and_the_same_objects_are_found(cache, source):
    before = observed(cache)

    assert observed(cache) == before
    assert source.taken() == []


def test_news_from_a_namespace_reads_it_again_and_only_it(cache, source):
    cache.heard(1, rtnl.RTM_NEWADDR, memoryview(b""))  # from nsid 1: E1
    observed(cache)

    assert source.taken() == [(E1, "links"), (E1, "addresses"), (E1, "routes")]


def test_news_heard_while_a_namespace_is_read_reads_it_again_next_time(cache, source, monkeypatch):
    cache.heard(1, rtnl.RTM_NEWADDR, memoryview(b""))
    real, news = cache.netns_file, [1]

    def changing(ns: str, kind: type) -> object:
        if ns == E1 and news:
            cache.heard(news.pop(), rtnl.RTM_NEWADDR, memoryview(b""))  # the kernel changed it since its dumps
        return real(ns, kind)

    monkeypatch.setattr(cache, "netns_file", changing)
    observed(cache)
    source.taken()
    observed(cache)

    assert source.taken() == [(E1, "links"), (E1, "addresses"), (E1, "routes")]


class Stamps(FileStamps):
    """Stamps of the endpoints' files as a test sets them (none: no folder)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, tuple[tuple[object, ...], ...]] = {}

    def stamps(self, ns: str) -> tuple[tuple[object, ...], ...] | None:
        return self.values.get(ns)


def test_a_namespace_whose_files_stamps_changed_is_checked_again(source, monkeypatch):
    stamps = Stamps()
    cache = KernelCache(source=source, stamps=stamps)
    observed(cache)
    asked: list[str] = []
    real = cache.netns_file
    monkeypatch.setattr(cache, "netns_file", lambda ns, kind: asked.append(ns) or real(ns, kind))
    observed(cache)
    assert asked == []

    stamps.values[E1] = (("another stamp",),) * len(NETNS_FILES)
    observed(cache)
    assert set(asked) == {E1}


def test_a_namespace_without_an_nsid_is_read_every_time(cache, source):
    source.spaces[E2].nsid = -1
    cache.forget()
    observed(cache)
    source.taken()

    observed(cache)

    taken = source.taken()
    assert (E2, "links") in taken and {name for name, _ in taken} == {E2}


def test_a_touched_namespace_is_read_again_but_not_for_a_hosts_file_or_a_sysctl(cache, source):
    cache.touched(Step(Action.CREATE, Address(E1, "eth0", "172.20.0.3/24"), None))
    cache.touched(Step(Action.UPDATE, HostsFile(E2, "x"), HostsFile(E2, "y")))
    cache.touched(Step(Action.CREATE, Sysctl(E2, "net.ipv4.ip_forward", "1"), None))
    observed(cache)

    assert source.taken() == [(E1, "links"), (E1, "addresses"), (E1, "routes")]


def test_another_namespace_under_the_same_name_is_read_again_with_its_nsid(cache, source):
    source.spaces[E2].inode, source.spaces[E2].nsid = 202, 3
    observed(cache)

    assert source.taken() == [(E2, "nsid"), (E2, "links"), (E2, "addresses"), (E2, "routes")]
    cache.heard(3, rtnl.RTM_NEWLINK, link_news(2))
    observed(cache)
    assert source.taken() == [(E2, "links"), (E2, "addresses"), (E2, "routes")]


def test_host_links_are_read_again_one_by_one_as_their_news_names_them(cache, source):
    del source.spaces[None].links[7]
    cache.heard(None, rtnl.RTM_NEWLINK, link_news(6))
    cache.heard(None, rtnl.RTM_DELLINK, link_news(7))
    objects = observed(cache)

    assert sorted(source.taken()) == [(None, "link 6"), (None, "link 7")]
    assert ("link", None, "h2") not in objects and ("link", None, "h1") in objects


def test_news_of_host_addresses_or_routes_reads_them_whole_and_no_link(cache, source):
    source.spaces[None].routes.append(rtnl.RouteMsg(socket.AF_INET, "10.9.0.0", 24, rtnl.RT_TABLE_MAIN, ROUTE_PROTO, 5,
                                                    None))
    cache.heard(None, rtnl.RTM_NEWROUTE, memoryview(b""))
    objects = observed(cache)

    assert source.taken() == [(None, "addresses"), (None, "routes")]
    assert objects[("route", None, "10.9.0.0/24")] == Route(None, "10.9.0.0/24", None, "br0")


def test_forget_reads_everything_again(cache, source):
    cache.forget()
    observed(cache)

    assert len(source.taken()) == 11  # links, addresses, routes of the host; nsid, links, addresses, routes of each


def test_a_namespace_gone_is_dropped_with_what_was_made_of_it(cache, source):
    del source.spaces[E2]
    objects = observed(cache)

    assert ("netns", E2) not in objects and ("netns", E1) in objects
    assert E2 not in cache.states and E2 not in cache.made and E1 in cache.states


def test_what_was_made_of_a_namespace_is_kept_until_its_host_end_changes(cache, source):
    kept = cache.states[E1].state
    cache.heard(None, rtnl.RTM_NEWLINK, link_news(7))  # E2's host end: E1's objects stand
    observed(cache)
    assert cache.states[E1].state is kept

    changed = source.spaces[None].links[6]
    source.spaces[None].links[6] = rtnl.LinkMsg(**{**changed.__dict__, "mtu": 1400})
    cache.heard(None, rtnl.RTM_NEWLINK, link_news(6))
    objects = observed(cache)
    assert cache.states[E1].state is not kept
    assert objects[("link", None, "h1")].mtu == 1400


class RunningResolver:
    """The resolver's files as the scripted host has them: it says it serves both namespaces, in the
    sockets of these inodes."""

    def __init__(self, serving: dict[str, int]) -> None:
        self.serving = serving

    def live_status(self) -> dict:
        return {"digest": "d", "serving": self.serving}

    def read(self, name: str) -> bytes:
        return b"{}"


def test_the_resolvers_namespaces_are_checked_against_the_inodes_observe_listed_without_reading_them_again(
        cache, source, monkeypatch):
    from reconciler.kernel import netns, resolverstate

    def read_again(*args: object) -> None:
        raise AssertionError("a namespace's inode was read again")

    monkeypatch.setattr(resolverstate, "PROCESS", RunningResolver({E1: 101, E2: 999}))  # E2 made again since
    monkeypatch.setattr(netns, "identity", read_again)
    monkeypatch.setattr(netns, "named_inodes", read_again)

    resolver = next(o for o in observed(cache).values() if o.kind == "resolver")

    assert resolver.serving == (E1,)


def test_an_observe_of_some_namespaces_reads_no_file_of_the_others_for_strays(monkeypatch, tmp_path):
    """A verification observes the namespaces its plan wrote: the files of the others are not its to read."""
    import reconciler.kernel.observe as observe_module
    from reconciler.kernel import filestamps, hostsfile

    for name in ("nrunit-stray1", "nrunit-stray2"):
        (tmp_path / name).mkdir()
    for module in (observe_module, filestamps, hostsfile):
        monkeypatch.setattr(module, "ETC_NETNS", str(tmp_path))
    cache = KernelCache(source=Scripted())
    read: list[str] = []
    real = cache.netns_file
    monkeypatch.setattr(cache, "netns_file", lambda ns, kind: read.append(ns) or real(ns, kind))

    observe(Kernel(), reader=cache, namespaces={E1, "nrunit-stray1"}, table=False)

    assert "nrunit-stray1" in read and "nrunit-stray2" not in read


def counting_host_ends(monkeypatch) -> list[int]:
    """The host ends the cache computes from now on, each by its veth's host end (6: E1's, 7: E2's)."""
    import reconciler.kernel.cache as cache_module

    computed: list[int] = []
    real = cache_module.host_ends

    def counted(links, host):
        computed.append(next(l.peer_index for l in links.values() if l.name != "lo"))
        return real(links, host)

    monkeypatch.setattr(cache_module, "host_ends", counted)
    return computed


def test_news_of_one_host_link_computes_again_the_host_ends_of_its_namespace_alone(cache, source, monkeypatch):
    """One endpoint more adds a host link: the other namespaces' host ends are not computed again."""
    computed = counting_host_ends(monkeypatch)
    changed = source.spaces[None].links[7]
    source.spaces[None].links[7] = rtnl.LinkMsg(**{**changed.__dict__, "mtu": 1400})  # E2's end
    source.spaces[None].links[8] = link(8, "h3", peer=9)  # a new endpoint's, whose namespace is not there yet
    cache.heard(None, rtnl.RTM_NEWLINK, link_news(7))
    cache.heard(None, rtnl.RTM_NEWLINK, link_news(8))
    objects = observed(cache)

    assert set(computed) == {7} and objects[("link", None, "h2")].mtu == 1400


def on_bridge_5() -> tuple[Scripted, KernelCache]:
    """Links 6 and 7 (two namespaces' host ends) on bridge 5, observed once."""
    source = Scripted()
    for index in (6, 7):
        source.spaces[None].links[index] = rtnl.LinkMsg(**{**source.spaces[None].links[index].__dict__, "master": 5})
    cache = KernelCache(source=source)
    observed(cache)
    return source, cache


def test_news_of_a_bridge_computes_again_the_host_ends_of_the_namespaces_on_it(monkeypatch):
    source, cache = on_bridge_5()
    computed = counting_host_ends(monkeypatch)
    source.spaces[None].links[5] = link(5, "br1", "bridge")
    cache.heard(None, rtnl.RTM_NEWLINK, link_news(5))
    observed(cache)

    assert set(computed) == {6, 7}


def test_news_of_a_bridge_that_keeps_its_name_computes_no_host_ends_again(monkeypatch):
    """A namespace's host ends hold the name of its end's master alone: a bridge's other news (its MTU,
    its MAC, as ports come and go) leaves the namespaces on it as they were."""
    source, cache = on_bridge_5()
    computed = counting_host_ends(monkeypatch)
    source.spaces[None].links[5] = rtnl.LinkMsg(**{**source.spaces[None].links[5].__dict__, "mtu": 1400})
    cache.heard(None, rtnl.RTM_NEWLINK, link_news(5))
    objects = observed(cache)

    assert computed == [] and objects[("link", None, "br0")].mtu == 1400


def test_news_of_a_host_link_that_did_not_change_computes_no_host_ends_again(cache, source, monkeypatch):
    computed = counting_host_ends(monkeypatch)
    cache.heard(None, rtnl.RTM_NEWLINK, link_news(7))  # E2's end, as it was
    observed(cache)

    assert computed == [] and source.taken() == [(None, "link 7")]


def port_news(index: int, name: str, hairpin: bool) -> memoryview:
    """What a bridge tells of one of its ports (AF_BRIDGE), as it does of all of them as ports come and go."""
    port = rtnl.nla(rtnl.IFLA_BRPORT_MODE, bytes([hairpin])) + rtnl.nla(rtnl.IFLA_BRPORT_LEARNING, b"\0")
    return memoryview(rtnl.IFINFOMSG.pack(rtnl.AF_BRIDGE, 0, index, rtnl.IFF_UP, 0) + rtnl.nla_str(rtnl.IFLA_IFNAME, name)
                      + rtnl.nla_u32(rtnl.IFLA_MTU, 1500) + rtnl.nla(rtnl.IFLA_PROTINFO | rtnl.NLA_F_NESTED, port))


def test_bridge_port_news_that_tells_nothing_new_reads_no_link_again(cache, source):
    cache.heard(None, rtnl.RTM_NEWLINK, port_news(6, "h1", hairpin=False))
    observed(cache)

    assert source.taken() == []


def test_bridge_port_news_of_a_flag_we_manage_reads_its_link_again(cache, source):
    cache.heard(None, rtnl.RTM_NEWLINK, port_news(6, "h1", hairpin=True))
    observed(cache)

    assert source.taken() == [(None, "link 6")]


def host_objects_made(monkeypatch) -> list[str]:
    """The host links whose object the cache makes from now on, by name."""
    from reconciler.kernel import hostmade

    made: list[str] = []
    real = hostmade.link_object

    def counted(host, link):
        made.append(link.name)
        return real(host, link)

    monkeypatch.setattr(hostmade, "link_object", counted)
    return made


def test_the_objects_of_host_links_are_made_again_only_for_those_read_again_and_bridges(cache, source, monkeypatch):
    made = host_objects_made(monkeypatch)
    observed(cache)
    assert made == ["br0"]  # its route_localnet is read every time

    changed = source.spaces[None].links[7]
    source.spaces[None].links[7] = rtnl.LinkMsg(**{**changed.__dict__, "mtu": 1400})
    cache.heard(None, rtnl.RTM_NEWLINK, link_news(7))
    made.clear()
    objects = observed(cache)
    assert sorted(made) == ["br0", "h2"] and objects[("link", None, "h2")].mtu == 1400


def test_a_host_links_object_is_made_again_when_a_link_it_names_changes(monkeypatch):
    source = Scripted()
    source.spaces[None].links[6] = rtnl.LinkMsg(**{**source.spaces[None].links[6].__dict__, "master": 5})
    cache = KernelCache(source=source)
    observed(cache)
    source.spaces[None].links[5] = link(5, "br1", "bridge")  # renamed: h1's master is br1 now
    cache.heard(None, rtnl.RTM_NEWLINK, link_news(5))
    made = host_objects_made(monkeypatch)
    observe_result = observe(Kernel(), reader=cache, table=False)

    assert sorted(made) == ["br1", "h1"]
    assert observe_result.objects[("link", None, "h1")].master == "br1"
    assert observe_result.host_links["h1"].master == "br1"


def test_news_of_host_addresses_gives_the_host_links_their_addresses_again(cache, source):
    before = observe(Kernel(), reader=cache, table=False).host_links["br0"]
    source.spaces[None].addresses = [rtnl.AddrMsg(socket.AF_INET, 24, 5, "172.20.0.1")]
    cache.heard(None, rtnl.RTM_NEWADDR, memoryview(b""))
    after = observe(Kernel(), reader=cache, table=False).host_links["br0"]

    assert (before.addresses, after.addresses) == ((), ("172.20.0.1/24",))


def test_the_objects_of_each_namespace_apart_are_the_same_dict_while_it_is_unchanged(cache, source):
    """What the watch's planner keeps each endpoint's held addresses by (Observed.namespaces, given by
    engine.observe_for with the cache): each namespace's objects, the very dict while nothing in it
    changed, another once news of it came."""
    from reconciler import engine
    from reconciler.input.spec import Manifests

    first = engine.observe_for(Manifests(), Kernel(), cache, keys=[])
    assert first.namespaces is not None and set(first.namespaces) == {E1, E2}
    for name, objects in first.namespaces.items():
        assert objects == {k: o for k, o in first.objects.items() if o.netns == name}

    cache.heard(1, rtnl.RTM_NEWADDR, memoryview(b""))  # from nsid 1: E1
    source.spaces[E1].addresses.append(rtnl.AddrMsg(socket.AF_INET, 24, 2, "10.0.0.9"))
    again = engine.observe_for(Manifests(), Kernel(), cache, keys=[])

    assert again.namespaces is not None and again.namespaces[E2] is first.namespaces[E2]
    assert again.namespaces[E1] is not first.namespaces[E1]
    assert again.namespaces[E1] == {k: o for k, o in again.objects.items() if o.netns == E1}
    assert any(isinstance(o, Address) and o.address.startswith("10.0.0.9/") for o in again.namespaces[E1].values())
