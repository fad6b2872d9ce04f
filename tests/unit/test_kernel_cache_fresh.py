"""The watch's kernel cache after each kind of change the kernel tells of: what observe finds through it
is what a fresh read finds (a cache that read nothing yet), host links, their objects and the
namespaces' host ends included."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest

from reconciler.kernel import rtnl
from reconciler.kernel.cache import KernelCache
from reconciler.kernel.observe import observe
from reconciler.kernel.session import Kernel
from reconciler.planning.plan import Observed
from unit.test_kernel_cache import E1, Scripted, link, link_news

Change = Callable[[Scripted, KernelCache], None]


def changed(source: Scripted, index: int, **fields: object) -> None:
    """Host link `index` as the kernel has it now, with these fields changed."""
    host = source.spaces[None].links
    host[index] = rtnl.LinkMsg(**{**host[index].__dict__, **fields})


def told(cache: KernelCache, kind: int, *indexes: int, nsid: int | None = None) -> None:
    for index in indexes:
        cache.heard(nsid, kind, link_news(index))


def added(source: Scripted, cache: KernelCache) -> None:
    source.spaces[None].links[8] = link(8, "h3", peer=2)
    told(cache, rtnl.RTM_NEWLINK, 8)


def removed(source: Scripted, cache: KernelCache) -> None:
    del source.spaces[None].links[7]  # E2's end
    told(cache, rtnl.RTM_DELLINK, 7)


def renamed(source: Scripted, cache: KernelCache) -> None:
    changed(source, 6, name="h9")  # E1's end
    told(cache, rtnl.RTM_NEWLINK, 6)


def moved_to_a_namespace(source: Scripted, cache: KernelCache) -> None:
    moving = source.spaces[None].links.pop(7)
    source.spaces[E1].links[3] = rtnl.LinkMsg(**{**moving.__dict__, "index": 3})
    told(cache, rtnl.RTM_DELLINK, 7)
    told(cache, rtnl.RTM_NEWLINK, 3, nsid=source.spaces[E1].nsid)


def set_down(source: Scripted, cache: KernelCache) -> None:
    changed(source, 6, flags=0)
    told(cache, rtnl.RTM_NEWLINK, 6)


def master_changed(source: Scripted, cache: KernelCache) -> None:
    changed(source, 6, master=0 if source.spaces[None].links[6].master else 5)  # off the bridge, or onto it
    told(cache, rtnl.RTM_NEWLINK, 6)


def mtu_changed(source: Scripted, cache: KernelCache) -> None:
    changed(source, 7, mtu=1400)
    told(cache, rtnl.RTM_NEWLINK, 7)


def bridge_renamed(source: Scripted, cache: KernelCache) -> None:
    changed(source, 5, name="br1")  # the master of both ends (on_bridge)
    told(cache, rtnl.RTM_NEWLINK, 5)


def address_added(source: Scripted, cache: KernelCache) -> None:
    host = source.spaces[None]
    host.addresses = [*host.addresses, rtnl.AddrMsg(socket.AF_INET, 24, 6, "172.21.0.1")]  # a dump is another list
    cache.heard(None, rtnl.RTM_NEWADDR, memoryview(b""))


def address_removed(source: Scripted, cache: KernelCache) -> None:
    source.spaces[None].addresses = []
    cache.heard(None, rtnl.RTM_DELADDR, memoryview(b""))


CHANGES = [added, removed, renamed, moved_to_a_namespace, set_down, master_changed, mtu_changed,
           bridge_renamed, address_added, address_removed]


def observed(cache: KernelCache) -> Observed:
    return observe(Kernel(), reader=cache, table=False)


def seen(found: Observed) -> tuple[object, ...]:
    return found.objects, found.foreign, found.host_links, found.host_routes, found.reasons


@pytest.fixture(params=[False, True], ids=["apart", "on_bridge"])
def source(request: pytest.FixtureRequest) -> Scripted:
    source = Scripted()
    source.spaces[None].addresses = [rtnl.AddrMsg(socket.AF_INET, 24, 5, "172.20.0.1")]  # the bridge's
    if request.param:
        for index in (6, 7):
            changed(source, index, master=5)
    return source


@pytest.mark.parametrize("change", CHANGES, ids=lambda c: c.__name__)
def test_what_the_cache_finds_after_a_change_is_what_a_fresh_read_finds(source: Scripted, change: Change) -> None:
    cache = KernelCache(source=source)
    before = seen(observed(cache))
    observed(cache)  # a second observe: what it keeps is used from here on
    change(source, cache)

    after = seen(observed(cache))

    assert after == seen(observed(KernelCache(source=source)))
    assert after != before  # the change is one observe sees
    assert seen(observed(cache)) == after  # and nothing more comes of it the time after
