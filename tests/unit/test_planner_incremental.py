"""The watch's Planner keeps what it planned from one reconcile to the next, so that planning costs what
changed; its plan never depends on what it planned before. Each case plans manifests A against the
kernel holding A's desired state, then B (a change of an endpoint, a network, a service, an address the
kernel holds, the host's search domains, one endpoint more; or none, and the kernel drifted) with the same Planner and the same
ManifestCache (the watch's: unchanged documents are the same objects), and compares plan and desired
state with those of a fresh Planner and a fresh load of B."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

import pytest

from reconciler import engine
from reconciler.errors import ConflictError
from reconciler.input.cache import ManifestCache
from reconciler.model import Address, KernelObject, Route, Veth
from reconciler.planners import Planner
from reconciler.planners.context import Context
from reconciler.planning.plan import Observed

NETWORKS = """apiVersion: netreconcile/v1
kind: Network
metadata: {name: a}
spec: {driver: bridge, ipam: {subnet: 10.1.0.0/24}}
---
apiVersion: netreconcile/v1
kind: Network
metadata: {name: b}
spec: {driver: bridge, ipam: {subnet: 10.2.0.0/24}%s}
"""
SERVICE = """apiVersion: netreconcile/v1
kind: Service
metadata: {name: web}
spec: {network: a, selector: {app: %s}, ports: [{port: 80, targetPort: %d}]}
"""


def endpoint(name: str, interfaces: str = "[{network: a}, {network: b}]", app: str = "web") -> str:
    return (f"apiVersion: netreconcile/v1\nkind: Endpoint\nmetadata: {{name: {name}, labels: {{app: {app}}}}}\n"
            f"spec:\n  interfaces: {interfaces}\n")


BASE = {"networks.yaml": NETWORKS % "", "service.yaml": SERVICE % ("web", 8000),
        **{f"e{i}.yaml": endpoint(f"e{i}") for i in range(1, 5)}}

Files = dict[str, str]
Kernel = Callable[[Observed], Observed]
FORWARDING = {**BASE, "e1.yaml": endpoint("e1") + "  sysctls: {net.ipv4.ip_forward: '1'}\n"}  # e1 forwards


def same_kernel(observed: Observed) -> Observed:
    return observed


def address_moved(observed: Observed) -> Observed:
    """The kernel gives e2's interface on network a another address than the one planned (sticky: kept)."""
    old = next(o for o in observed.objects.values() if isinstance(o, Address) and o.ns == "e2" and o.address.startswith("10.1."))
    new = replace(old, address="10.1.0.200/24")
    objects = {k: o for k, o in observed.objects.items() if k != old.key}
    return replace(observed, objects={**objects, new.key: new})


def address_moved_on_b(observed: Observed) -> Observed:
    """As address_moved, on network b, which no Service is on (the resolver keeps its names unless told)."""
    old = next(o for o in observed.objects.values() if isinstance(o, Address) and o.ns == "e2" and o.address.startswith("10.2."))
    new = replace(old, address="10.2.0.200/24")
    objects = {k: o for k, o in observed.objects.items() if k != old.key}
    return replace(observed, objects={**objects, new.key: new})


def route_deleted(observed: Observed) -> Observed:
    """e3's default route deleted by hand: drift, under manifests that did not change."""
    route = next(o for o in observed.objects.values() if isinstance(o, Route) and o.ns == "e3")
    return replace(observed, objects={k: o for k, o in observed.objects.items() if k != route.key})


def mtu_changed(observed: Observed) -> Observed:
    """e1's veth set to another MTU by hand (another object under the same key)."""
    veth = next(o for o in observed.objects.values() if isinstance(o, Veth) and o.ns == "e1")
    return replace(observed, objects={**observed.objects, veth.key: replace(veth, mtu=1280)})


def stray_address_and_route_deleted(observed: Observed) -> Observed:
    """An address of ours on e1 that no manifest wants, and e3's default route deleted: as many objects
    observed as wanted, one of them to delete (what a count of the observed alone would miss)."""
    veth = next(o for o in observed.objects.values() if isinstance(o, Veth) and o.ns == "e1")
    stray = Address("e1", veth.name, "10.1.0.222/24", owner=veth.owner)
    deleted = route_deleted(observed)
    return replace(deleted, objects={**deleted.objects, stray.key: stray})


def searching(observed: Observed) -> Observed:
    return replace(observed, search=("example.org",))


CASES: dict[str, tuple[Files, Kernel]] = {
    "endpoint gains an alias": ({"e2.yaml": endpoint("e2", "[{network: a, aliases: [www]}, {network: b}]")}, same_kernel),
    "endpoint leaves a network": ({"e3.yaml": endpoint("e3", "[{network: a}]")}, same_kernel),
    "endpoint takes a static address": ({"e4.yaml": endpoint("e4", "[{network: a, ipv4Address: 10.1.0.99}, {network: b}]")},
                                        same_kernel),
    "network's MTU": ({"networks.yaml": NETWORKS % ", mtu: 1400"}, same_kernel),
    "network's subnet": ({"networks.yaml": NETWORKS.replace("10.2.0.0/24", "10.2.0.0/16") % ""}, same_kernel),
    "service's target port": ({"service.yaml": SERVICE % ("web", 9000)}, same_kernel),
    "service selects none": ({"service.yaml": SERVICE % ("db", 8000)}, same_kernel),
    "endpoint leaves the service": ({"e1.yaml": endpoint("e1", app="db")}, same_kernel),
    "an address held in the kernel": ({}, address_moved),
    "the host's search domains": ({}, searching),
    "drift: a route deleted by hand": ({}, route_deleted),
    "drift: a veth's MTU changed by hand": ({}, mtu_changed),
    "one endpoint more": ({"e5.yaml": endpoint("e5")}, same_kernel),
    "an address held in the kernel, on b": ({}, address_moved_on_b),
    "endpoint gains an alias on b": ({"e2.yaml": endpoint("e2", "[{network: a}, {network: b, aliases: [www]}]")}, same_kernel),
    "one endpoint more, on b alone": ({"e5.yaml": endpoint("e5", "[{network: b}]")}, same_kernel),
    "one endpoint less": ({"e4.yaml": ""}, same_kernel),
    "drift: a stray address of ours, a route deleted": ({}, stray_address_and_route_deleted),
}


def write(folder: Path, files: Files) -> None:
    for name, text in files.items():
        (folder / name).write_text(text)


def converged(m_files: ManifestCache, folder: Path) -> tuple[object, Observed]:
    m = m_files.load([str(folder)])
    _, desired = engine._planned(m, Observed({}), planner=Planner())
    return m, Observed({o.key: o for o in desired})


def planned(m: object, observed: Observed, planner: Planner) -> tuple[object, list[KernelObject]]:
    return engine._planned(m, observed, planner=planner)  # type: ignore[arg-type]


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_a_kept_planner_plans_b_as_a_fresh_one(tmp_path: Path, case: str) -> None:
    changed, kernel = CASES[case]
    cache, planner, _, held = kept_planner(tmp_path, times=2)  # twice: what it keeps is now of A
    write(tmp_path, changed)
    b_observed = kernel(held)

    kept = planned(cache.load([str(tmp_path)]), b_observed, planner)
    fresh = planned(ManifestCache().load([str(tmp_path)]), b_observed, Planner())

    assert kept == fresh
    assert kept[0].steps  # type: ignore[attr-defined]
    assert planner.differ.wanted == {o.key: o for o in kept[1]}  # the watch's record of what it left


def test_an_endpoint_the_kernel_holds_as_planned_is_not_compared_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Differ's point: planned again against the very same observed objects, only what is not an
    endpoint's (bridges, the firewall, the resolver) is compared; after a drift, that endpoint's too."""
    import reconciler.planning.plan as plan

    cache, planner, _, held = kept_planner(tmp_path)
    compared: list[KernelObject] = []
    real = plan.compare
    monkeypatch.setattr(plan, "compare", lambda want, have: compared.append(want) or real(want, have))

    planned(cache.load([str(tmp_path)]), held, planner)
    assert compared and not any(o.netns for o in compared)

    compared.clear()
    planned(cache.load([str(tmp_path)]), mtu_changed(held), planner)
    assert {o.netns for o in compared if o.netns} == {"e1"}


def test_a_name_taken_by_what_is_not_ours_is_refused_by_a_kept_planner(tmp_path: Path) -> None:
    """A key that something not ours now holds (e1's eth0, a link another tool made) is refused by a
    Planner that found e1 as planned before, as a fresh one refuses it, though every observed object
    of e1 is the very same."""
    cache, planner, _, held = kept_planner(tmp_path, times=2)
    taken = replace(held, foreign=held.foreign | {("link", "e1", "eth0")})

    with pytest.raises(ConflictError) as kept:
        planned(cache.load([str(tmp_path)]), taken, planner)
    with pytest.raises(ConflictError) as fresh:
        planned(ManifestCache().load([str(tmp_path)]), taken, Planner())

    assert str(kept.value) == str(fresh.value) and "eth0" in str(kept.value)


class _Walked(dict):  # type: ignore[type-arg]
    """Observed objects that count the walks through them."""

    walks = 0

    def items(self):  # type: ignore[no-untyped-def]
        _Walked.walks += 1
        return super().items()


def test_a_diff_where_every_observed_object_is_wanted_does_not_walk_them_for_deletes(tmp_path: Path) -> None:
    """One endpoint more, nothing else: the observed objects are all wanted (as many as the wanted
    that have one), so none is looked at for a delete; with one observed and not wanted, it is deleted."""
    from reconciler.planning.plan import Action

    cache, planner, _, held = kept_planner(tmp_path)
    write(tmp_path, {"e5.yaml": endpoint("e5")})
    more = cache.load([str(tmp_path)])
    _Walked.walks = 0
    plan, _ = planned(more, replace(held, objects=_Walked(held.objects)), planner)
    assert plan.steps and _Walked.walks == 0  # type: ignore[attr-defined]
    stray = stray_address_and_route_deleted(held)
    plan, _ = planned(more, replace(stray, objects=_Walked(stray.objects)), planner)
    assert _Walked.walks == 1
    assert [s.obj.address for s in plan.steps if s.action is Action.DELETE] == ["10.1.0.222/24"]  # type: ignore[attr-defined]


def apart(observed: Observed, before: Observed | None = None) -> Observed:
    """`observed` with its objects by namespace, as the watch's kernel cache gives them: a namespace's
    dict is the one of `before` while it holds the same objects."""
    kept = before.namespaces if before is not None and before.namespaces is not None else {}
    namespaces: dict[str, dict[object, KernelObject]] = {}
    for key, obj in observed.objects.items():
        if obj.netns is not None:
            namespaces.setdefault(obj.netns, {})[key] = obj
    return replace(observed, namespaces={n: kept[n] if kept.get(n) == objects else objects for n, objects in namespaces.items()})


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_a_kept_planner_given_namespaces_apart_plans_b_as_a_fresh_one(tmp_path: Path, case: str) -> None:
    """As the watch plans: the objects of each namespace apart, the same dict while it is unchanged
    (what the Planner keeps each endpoint's held addresses by); a changed one is read again."""
    changed, kernel = CASES[case]
    cache, planner, _, held = kept_planner(tmp_path, held_as=apart, times=2)
    write(tmp_path, changed)
    b_observed = apart(kernel(held), held)

    kept = planned(cache.load([str(tmp_path)]), b_observed, planner)
    fresh = planned(ManifestCache().load([str(tmp_path)]), b_observed, Planner())
    unapart = planned(ManifestCache().load([str(tmp_path)]), replace(b_observed, namespaces=None), Planner())

    assert kept == fresh == unapart
    assert kept[0].steps  # type: ignore[attr-defined]


def test_one_endpoint_more_reads_the_held_addresses_of_it_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the namespaces apart, the addresses each endpoint's interfaces hold are found again only for
    an endpoint that changed or whose namespace's objects did: one more endpoint, then the kernel
    holding it (its namespace new, another's address moved)."""
    import reconciler.planners.sticky as sticky

    cache, planner, m, held = kept_planner(tmp_path, held_as=apart)
    found: list[str] = []
    real = sticky._endpoint_sticky
    monkeypatch.setattr(sticky, "_endpoint_sticky", lambda ep, *rest: found.append(ep.name) or real(ep, *rest))

    planned(m, held, planner)
    assert found == []
    write(tmp_path, {"e5.yaml": endpoint("e5")})
    more = cache.load([str(tmp_path)])
    _, desired = planned(more, held, planner)
    assert found == ["e5"]

    found.clear()
    holding = apart(address_moved(Observed({o.key: o for o in desired})), held)
    planned(more, holding, planner)
    assert sorted(found) == ["e2", "e5"]


def test_a_network_turned_overlay_drops_the_addresses_kept_of_it(tmp_path: Path) -> None:
    """The same endpoints and kernel, network a now spanning hosts (an overlay, whose addresses every
    host computes from the manifests alone): what was kept of a's held addresses is dropped."""
    from reconciler.input.spec import OverlayOptions
    from reconciler.planners.sticky import StickyAddresses, sticky_addresses

    write(tmp_path, BASE)
    m, converged_m = converged(ManifestCache(), tmp_path)
    held, sticky = apart(converged_m), StickyAddresses()
    assert sticky(m, held) == sticky_addresses(m, held) and {k[1] for k in sticky(m, held)} == {"a", "b"}
    a = m.networks[0]
    assert a.name == "a" and not isinstance(a.options, OverlayOptions)
    spanning = replace(m, networks=(replace(a, options=OverlayOptions(1, a.options)), *m.networks[1:]))  # type: ignore[arg-type]

    assert sticky(spanning, held) == sticky_addresses(spanning, held) and {k[1] for k in sticky(spanning, held)} == {"b"}


class _Gets(dict):  # type: ignore[type-arg]
    """Observed objects that note the keys looked up one by one."""

    looked: ClassVar[list[object]] = []

    def get(self, key, default=None):  # type: ignore[no-untyped-def]
        _Gets.looked.append(key)
        return super().get(key, default)


def test_an_unchanged_namespace_tells_its_endpoint_unchanged_without_a_look_up_per_object(tmp_path: Path) -> None:
    """With the namespaces apart, an endpoint found as planned is found so again by one test of its
    namespace's dict (the very same while unchanged), not by a look-up of each of its objects; a key no
    namespace dict holds (e1's sysctl, observe reads it every time) is still looked up."""
    _, planner, m, held = kept_planner(tmp_path, FORWARDING, lambda o: apart_but(o, "sysctl"))
    _Gets.looked = []

    plan, _ = planned(m, replace(held, objects=_Gets(held.objects)), planner)

    assert not plan.steps  # type: ignore[attr-defined]
    assert [k for k in _Gets.looked if len(k) > 1 and k[1] in ("e2", "e3", "e4")] == []  # type: ignore[index, arg-type]
    assert [k for k in _Gets.looked if len(k) > 1 and k[1] == "e1"] == [("sysctl", "e1", "net.ipv4.ip_forward")]  # type: ignore[index, arg-type]


def test_drift_outside_the_namespace_dicts_is_found_though_every_namespace_is_unchanged(tmp_path: Path) -> None:
    """What no namespace dict holds is compared by key, whatever the dicts: e1's hosts file and sysctl
    rewritten by hand in Observed.objects alone, every namespace's dict the same, are both repaired."""
    from reconciler.model import HostsFile, Sysctl

    _, planner, m, held = kept_planner(tmp_path, FORWARDING, lambda o: apart_but(o, "sysctl", "hosts"), times=2)
    hosts = next(o for o in held.objects.values() if isinstance(o, HostsFile) and o.ns == "e1")
    setting = next(o for o in held.objects.values() if isinstance(o, Sysctl) and o.ns == "e1")
    drifted = {**held.objects, hosts.key: replace(hosts, content=hosts.content + "10.9.9.9 x\n"),
               setting.key: replace(setting, value="0")}

    plan, _ = planned(m, replace(held, objects=drifted), planner)

    assert sorted(s.obj.key for s in plan.steps) == sorted([hosts.key, setting.key])  # type: ignore[attr-defined]


def kept_planner(tmp_path: Path, files: Files = BASE, held_as: Kernel = same_kernel,
                 times: int = 1) -> tuple[ManifestCache, Planner, object, Observed]:
    """A Planner kept as the watch keeps it: `files` written and loaded by the watch's ManifestCache,
    then planned `times` times against the kernel converged to them, which holds their objects as
    `held_as` gives them. Gives the cache, the planner, the manifests and what the kernel holds."""
    write(tmp_path, files)
    cache, planner = ManifestCache(), Planner()
    m, converged_m = converged(cache, tmp_path)
    held = held_as(converged_m)
    for _ in range(times):
        planned(m, held, planner)
    return cache, planner, m, held


def apart_but(observed: Observed, *kinds: str) -> Observed:
    """`observed` apart (see apart), its objects of `kinds` in no namespace's dict (observe reads them every time)."""
    held = apart(observed)
    return replace(held, namespaces={n: {k: o for k, o in objects.items() if k[0] not in kinds}
                                     for n, objects in held.namespaces.items()})  # type: ignore[union-attr]


def looking_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[ManifestCache, Planner, Observed, list[str]]:
    """A kept planner that planned BASE, the kernel converged to it; and the endpoints whose
    attachments are looked up from now on, by name, as often as they are."""
    cache, planner, _, held = kept_planner(tmp_path)
    looked: list[str] = []
    real = Context.attachment_fields
    monkeypatch.setattr(Context, "attachment_fields", lambda self, ep, iface: looked.append(ep.name) or real(self, ep, iface))
    return cache, planner, held, looked


def test_one_endpoint_more_looks_up_the_attachments_of_that_endpoint_alone(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The endpoints whose networks attach as before (the same network, each family's addresses the same
    for them) reuse what was made of them without their attachments being looked up again: one endpoint
    more on network a looks up that endpoint's alone, though a's family is allocated again."""
    cache, planner, held, looked = looking_up(tmp_path, monkeypatch)

    write(tmp_path, {"e5.yaml": endpoint("e5", "[{network: a}]", app="db")})  # no backend of web: nothing DNATed differs
    kept = planned(cache.load([str(tmp_path)]), held, planner)

    assert looked == ["e5"]
    assert kept == planned(ManifestCache().load([str(tmp_path)]), held, Planner())


def test_a_new_backend_of_a_service_looks_up_the_attachments_on_its_network_again(tmp_path: Path,
                                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """What is DNATed to on network a differs (e5 a backend of web): every attachment on a is looked up
    again (whether its address is DNATed to is one of its fields); the plan is a fresh one's."""
    cache, planner, held, looked = looking_up(tmp_path, monkeypatch)

    write(tmp_path, {"e5.yaml": endpoint("e5", "[{network: a}]")})
    kept = planned(cache.load([str(tmp_path)]), held, planner)

    assert sorted(set(looked)) == ["e1", "e2", "e3", "e4", "e5"]
    assert kept == planned(ManifestCache().load([str(tmp_path)]), held, Planner())


def test_an_endpoint_whose_address_the_kernel_moved_is_looked_up_again(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A family allocated again with another address for one endpoint: that endpoint is planned again
    (its address in the plan is the kernel's), the others are reused, and the plan is a fresh one's."""
    cache, planner, held, looked = looking_up(tmp_path, monkeypatch)
    moved = address_moved_on_b(held)

    kept = planned(cache.load([str(tmp_path)]), moved, planner)

    assert set(looked) == {"e2"}
    assert kept == planned(ManifestCache().load([str(tmp_path)]), moved, Planner())
