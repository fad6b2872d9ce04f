"""The watch's kernel cache in the observe of every namespace: only the namespaces that may have
changed are looked at (at 1000 endpoints, a look at each costs milliseconds), and any change is still
seen. The scripted kernel is tests/unit/test_kernel_cache.py's."""

from __future__ import annotations

import socket

import pytest

from reconciler.kernel import rtnl
from reconciler.kernel.cache import KernelCache
from reconciler.kernel.observe import observe
from reconciler.kernel.session import Kernel
from reconciler.model import Address, Netns
from reconciler.planning.plan import Action, Step
from unit.test_kernel_cache import E1, E2, Scripted, link, observed


@pytest.fixture
def looked_at(cache: KernelCache, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The namespaces whose state the cache is asked for from now on."""
    asked: list[str] = []
    real = cache.namespace_state

    def counted(name: str, host: object) -> object:
        asked.append(name)
        return real(name, host)  # type: ignore[arg-type]

    monkeypatch.setattr(cache, "namespace_state", counted)
    return asked


def addresses_of(objects: dict, ns: str) -> set[str]:
    return {o.address for o in objects.values() if isinstance(o, Address) and o.netns == ns}


def test_without_news_no_namespace_is_looked_at_and_the_same_objects_are_found(cache, looked_at):
    before = observed(cache)

    assert observed(cache) == before
    assert looked_at == []


def test_news_from_a_namespace_looks_at_it_alone_and_finds_its_change(cache, source, looked_at):
    source.spaces[E1].addresses.append(rtnl.AddrMsg(socket.AF_INET, 24, 2, "10.0.0.9"))
    cache.heard(1, rtnl.RTM_NEWADDR, memoryview(b""))  # from nsid 1: E1

    objects = observed(cache)

    assert looked_at == [E1]
    assert "10.0.0.9/24" in addresses_of(objects, E1) and "10.0.0.9/24" not in addresses_of(objects, E2)


def test_a_namespace_whose_files_stamps_were_dropped_is_looked_at_again(cache, looked_at):
    cache.stamps.drop([E2])  # as inotify's news of its folder does
    observed(cache)

    assert looked_at == [E2]


def test_a_namespace_observed_alone_meanwhile_is_merged_as_then_read(cache, source):
    """A verification observes the namespaces its plan wrote (and quietens them): the next observe of
    all of them gives what it read."""
    cache.touched(Step(Action.CREATE, Address(E1, "eth0", "10.0.0.9/24"), None))
    source.spaces[E1].addresses.append(rtnl.AddrMsg(socket.AF_INET, 24, 2, "10.0.0.9"))
    observe(Kernel(), reader=cache, namespaces={E1}, table=False)

    assert "10.0.0.9/24" in addresses_of(observed(cache), E1)


def test_a_namespace_gone_or_no_longer_ours_leaves_the_objects_observed(cache, source, monkeypatch):
    from reconciler.kernel import netns

    del source.spaces[E2]
    assert ("netns", E2) not in observed(cache)

    monkeypatch.setattr(netns, "identity", lambda name: (1, 101))  # still there
    source.spaces[E1].links[1] = link(1, "lo", "", owned=False)
    cache.heard(1, rtnl.RTM_NEWLINK, memoryview(b""))
    found = observe(Kernel(), reader=cache, table=False)

    assert ("netns", E1) not in found.objects and ("netns", E1) in found.foreign


def test_a_namespace_made_since_is_found(cache, source, looked_at):
    source.spaces["nrunit-e3"] = Scripted().spaces[E2]
    source.spaces["nrunit-e3"].inode, source.spaces["nrunit-e3"].nsid = 103, 3

    assert observed(cache)[("netns", "nrunit-e3")] == Netns("nrunit-e3", owner="net1")
    assert looked_at == ["nrunit-e3"]


def kept_listing(source: Scripted, monkeypatch: pytest.MonkeyPatch) -> None:
    """The source's listing the very dict while no namespace came or went, as the kernel's (kernel/listing.py)."""
    kept = [source.inodes()]

    def inodes() -> dict[str, int]:
        now = Scripted.inodes(source)
        if now != kept[0]:
            kept[0] = now
        return kept[0]

    monkeypatch.setattr(source, "inodes", inodes)


def test_the_resolvers_namespaces_are_checked_again_only_when_its_status_or_the_listing_is_another(
        cache, source, monkeypatch):
    from reconciler.kernel import resolverstate
    from unit.test_kernel_cache import RunningResolver

    class Serving(dict):
        passes = 0

        def items(self):  # type: ignore[override]
            Serving.passes += 1
            return super().items()

    kept_listing(source, monkeypatch)
    running = RunningResolver(Serving({E1: 101, E2: 102}))
    monkeypatch.setattr(resolverstate, "PROCESS", running)
    assert [o.serving for o in observed(cache).values() if o.kind == "resolver"] == [(E1, E2)]
    assert [o.serving for o in observed(cache).values() if o.kind == "resolver"] == [(E1, E2)]
    assert Serving.passes == 1

    source.spaces[E2].inode = 202  # made again: the listing is another
    assert [o.serving for o in observed(cache).values() if o.kind == "resolver"] == [(E1,)]
    running.serving = Serving({E1: 101, E2: 202})  # the resolver loaded again: another status
    assert [o.serving for o in observed(cache).values() if o.kind == "resolver"] == [(E1, E2)]


def test_what_the_resolvers_check_found_is_kept_by_its_cache_alone(cache, source, monkeypatch):
    """Two caches (two watches in one process, a test's) each check the resolver's namespaces against
    their own listing: nothing of one's is kept where the other, or a one-shot observe, would find it."""
    from reconciler.kernel import resolverstate
    from unit.test_kernel_cache import RunningResolver

    kept_listing(source, monkeypatch)
    monkeypatch.setattr(resolverstate, "PROCESS", RunningResolver({E1: 101, E2: 102}))
    observed(cache)
    other = KernelCache(source=source)
    observed(other)

    assert cache.served.last is not None and other.served.last is not None
    assert cache.served is not other.served and cache.served.last[2] == other.served.last[2] == (E1, E2)
    assert not [name for name, value in vars(resolverstate).items() if isinstance(value, list) and not name.startswith("__")]
