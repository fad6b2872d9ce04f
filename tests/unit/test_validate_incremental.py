"""The watch's loads check what changed, not every endpoint again: the checks of each endpoint alone are
kept per file, and the checks across endpoints walk the endpoints only when tallies kept from the last
load (validate_index) show they may find a problem. The errors stay exactly those of load_manifests,
whichever kept object the new one conflicts with, and whatever is added, changed or removed."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import ClassVar

import pytest

from reconciler.input import cache as cache_module
from reconciler.input import validate_endpoints
from reconciler.input.cache import ManifestCache
from reconciler.input.spec.types import attached_by_network
from reconciler.input.validate import load_manifests
from reconciler.input.validate_endpoints import EndpointChecks
from reconciler.input.validate_index import EndpointIndex
from unit.helpers import endpoint, network
from unit.test_manifest_cache import allocated, outcome

DOC = "apiVersion: netreconcile/v1\nkind: {kind}\nmetadata: {{name: {name}}}\nspec: {spec}\n---\n"
NETWORKS = (
    network("front", "{subnet: 172.20.0.0/24}") + network("back", "{subnet: 172.21.0.0/24}")
    + network("auto", "{subnet: auto}")
    + DOC.format(kind="Network", name="lan", spec="{driver: macvlan, ipam: {mode: dhcp}, macvlan: {parent: eth2}}")
    + DOC.format(kind="Network", name="pt", spec="{driver: macvlan, ipam: {subnet: 10.1.0.0/24}, macvlan: {parent: eth1, mode: passthru}}"))


def ep(name: str, interfaces: str, spec: str = "") -> str:
    return DOC.format(kind="Endpoint", name=name, spec=f"{{interfaces: {interfaces}{spec}}}")


# Files that may come and go, each conflicting with some other: the same name, netns, static address,
# hosts file name, published port, passthru network; a static address where none may be; a host.
FILES = {
    "a.yaml": endpoint("a", "[{network: front, ipv4Address: 172.20.0.9, aliases: [www]}]"),
    "a2.yaml": ep("a", "[{network: back}]", ", netns: other-a"),
    "b.yaml": endpoint("b", "[{network: back, ipv4Address: 172.20.0.9}]"),
    "c.yaml": endpoint("c", "[{network: front, ipv4Address: 172.20.0.9}]"),
    "d.yaml": endpoint("d", "[{network: front, aliases: [a, www]}]"),
    "e.yaml": endpoint("e", "[{network: back, aliases: [localhost]}]"),
    "f.yaml": ep("f", "[{network: front}]", ", host: node-z"),
    "g.yaml": endpoint("g", "[{network: auto, ipv4Address: 172.30.0.5}]"),
    "h.yaml": endpoint("h", "[{network: lan, ipv4Address: 192.168.60.5}]"),
    "i.yaml": ep("i", "[{network: front}]", ", ports: [{hostPort: 8080, containerPort: 80}]"),
    "j.yaml": ep("j", "[{network: back}]", ", ports: [{hostPort: 8080, containerPort: 80}]"),
    "k.yaml": endpoint("k", "[{network: pt}]"),
    "l.yaml": endpoint("l", "[{network: pt}]"),
    "m.yaml": ep("m", "[{network: front}]", ", netns: a"),
    "n.yaml": endpoint("n", "[{network: front}, {network: back, aliases: [n]}]"),
    "s.yaml": DOC.format(kind="Service", name="d", spec="{network: front, selector: {app: x}, ports: [{port: 80}], vip: 172.20.0.9}"),
    "t.yaml": DOC.format(kind="Service", name="www", spec="{network: front, selector: {app: x}, ports: [{port: 81, hostPort: 8080}]}"),
    "u.yaml": DOC.format(kind="Host", name="node-a", spec="{underlay: {address: 10.10.0.11}}"),
    "x.yaml": endpoint("a", "[{network: nowhere}]"),
}


@pytest.mark.parametrize("seed", range(6))
def test_every_load_gives_what_load_manifests_gives_whatever_changes(tmp_path, seed):
    rng = random.Random(seed)
    (tmp_path / "0-networks.yaml").write_text(NETWORKS)
    cache = ManifestCache()
    for _ in range(25):
        name = rng.choice(sorted(FILES))
        path = tmp_path / name
        if path.exists():
            path.unlink()
        else:
            path.write_text(FILES[name] if rng.random() < 0.8 else FILES[rng.choice(sorted(FILES))])
        expected = outcome(load_manifests, [str(tmp_path)])
        got = outcome(allocated(cache), [str(tmp_path)])
        assert got == expected
        if not isinstance(got, list):
            assert got._attached == attached_by_network(got.endpoints)
        assert tallies(cache.index) == tallies(EndpointIndex.of(e for f in cache.files.values() for e in f.typed["Endpoint"]))


def tallies(index: EndpointIndex) -> dict[str, object]:
    return {name: (value.counts, value.repeated) if hasattr(value, "counts") else value for name, value in vars(index).items()}


PARTNERS = {"i.yaml": ("j.yaml",), "j.yaml": ("i.yaml",), "k.yaml": ("l.yaml",), "l.yaml": ("k.yaml",), "t.yaml": ("a.yaml", "i.yaml")}


@pytest.mark.parametrize("new", sorted(set(FILES) - {"a.yaml"}))
def test_a_new_file_conflicting_with_a_kept_one_gives_the_errors_of_load_manifests(tmp_path, new):
    """The new object comes before or after the kept ones (files in name order): either is reported as before."""
    (tmp_path / "0-networks.yaml").write_text(NETWORKS)
    for kept in PARTNERS.get(new, ("a.yaml",)):
        (tmp_path / kept).write_text(FILES[kept])
    cache = ManifestCache()
    assert outcome(allocated(cache), [str(tmp_path)]) == outcome(load_manifests, [str(tmp_path)])
    (tmp_path / new).write_text(FILES[new])
    expected = outcome(load_manifests, [str(tmp_path)])
    assert isinstance(expected, list) or new == "n.yaml"  # refused (n: its own name as an alias is fine)
    assert outcome(allocated(cache), [str(tmp_path)]) == expected
    (tmp_path / new).unlink()  # and once it is gone, the kept ones are fine again
    assert outcome(allocated(cache), [str(tmp_path)]) == outcome(load_manifests, [str(tmp_path)])


class Walked(tuple):  # type: ignore[type-arg]
    """An endpoint's interfaces, noting each walk over them by the endpoint's name."""

    walks: ClassVar[list[str]] = []

    def __new__(cls, interfaces, name):  # type: ignore[no-untyped-def]
        walked = super().__new__(cls, interfaces)
        walked.name = name
        return walked

    def __iter__(self):  # type: ignore[no-untyped-def]
        Walked.walks.append(self.name)
        return super().__iter__()


def test_a_load_with_one_endpoint_more_walks_that_endpoint_alone(tmp_path, monkeypatch):
    """Before, each check across endpoints (static addresses, hosts file names, bridge ports, passthru,
    DHCP...) walked the interfaces of all of them on every load."""
    real = cache_module.spec.parse_endpoint
    monkeypatch.setattr(cache_module.spec, "parse_endpoint", lambda doc: (e := real(doc)) and replace(e, interfaces=Walked(e.interfaces, e.name)))
    (tmp_path / "m.yaml").write_text(NETWORKS + "".join(endpoint(f"e{i}", f"[{{network: front, aliases: [x{i}]}}]") for i in range(20)))
    cache = ManifestCache()
    cache.load([str(tmp_path)])
    (tmp_path / "more.yaml").write_text(endpoint("f1", "[{network: back, ipv4Address: 172.21.0.7}]"))
    Walked.walks = []
    assert [e.name for e in cache.load([str(tmp_path)]).endpoints][-2:] == ["e19", "f1"]
    assert set(Walked.walks) == {"f1"}


def test_a_kept_file_of_endpoints_is_not_walked_again_while_the_networks_are_the_same(tmp_path):
    m = load_manifests([str(write(tmp_path, NETWORKS + endpoint("a", "[{network: front}]")))])
    group = Walked(m.endpoints, "group")
    checks, networks = EndpointChecks(), {n.name: n for n in m.networks}
    Walked.walks = []
    assert checks([group], networks, set()) == [] and Walked.walks
    first = len(Walked.walks)
    assert checks([group], networks, set()) == [] and len(Walked.walks) == first
    assert checks([group], {**networks, "front": replace(networks["front"], subnets=())}, set()) == []
    assert len(Walked.walks) > first  # another network: looked at again


def test_a_kept_endpoint_whose_network_changes_is_checked_again_alone(tmp_path, monkeypatch):
    checked: list[str] = []
    real = validate_endpoints._endpoint_problems
    monkeypatch.setattr(validate_endpoints, "_endpoint_problems", lambda e, n, i: checked.append(e.name) or real(e, n, i))
    m = load_manifests([str(write(tmp_path, NETWORKS + endpoint("a", "[{network: front, ipv4Address: 172.20.0.9}]")
                                         + endpoint("b", "[{network: back}]")))])
    checks, networks = EndpointChecks(), {n.name: n for n in m.networks}
    del checked[:]
    assert checks([m.endpoints], networks, set()) == [] and checked == ["a", "b"]
    moved = replace(networks["front"], subnets=())
    (problem,) = checks([m.endpoints], {**networks, "front": moved}, set())
    assert "172.20.0.9 is outside the subnets of network 'front'" in str(problem) and checked == ["a", "b", "a"]


def write(folder, text: str):  # type: ignore[no-untyped-def]
    path = folder / "m.yaml"
    path.write_text(text)
    return path


def test_the_endpoint_one_over_a_bridges_ports_is_refused_when_it_comes_in_a_new_file(tmp_path):
    (tmp_path / "m.yaml").write_text(NETWORKS + "".join(endpoint(f"e{i}", "[{network: front}]") for i in range(1023)))
    (tmp_path / "n.yaml").write_text(network("big", "{subnet: 10.2.0.0/16}"))
    cache = ManifestCache()
    cache.load([str(tmp_path)])
    (tmp_path / "a.yaml").write_text(endpoint("more", "[{network: front}]"))
    expected = outcome(load_manifests, [str(tmp_path)])
    assert any("1024 endpoints attach to network 'front'" in p for p in expected)
    assert outcome(cache.load, [str(tmp_path)]) == expected


def test_the_plans_copy_of_the_manifests_knows_what_attaches_to_each_network_without_a_walk(tmp_path, monkeypatch):
    """The cache joins each file's interfaces by network (made when the file is parsed): the watch's
    plan asks for them on its copy (with the host set) and walked every endpoint for them before."""
    real = cache_module.spec.parse_endpoint
    monkeypatch.setattr(cache_module.spec, "parse_endpoint", lambda doc: (e := real(doc)) and replace(e, interfaces=Walked(e.interfaces, e.name)))
    (tmp_path / "m.yaml").write_text(NETWORKS + "".join(endpoint(f"e{i}", "[{network: front}, {network: back}]") for i in range(5)))
    (tmp_path / "n.yaml").write_text(endpoint("f", "[{network: back}]"))
    m = ManifestCache().load([str(tmp_path)])
    Walked.walks = []
    plans = replace(m, host=None)
    assert [e.name for e, _ in plans.attached("back")] == ["e0", "e1", "e2", "e3", "e4", "f"]
    assert [i.name for _, i in plans.attached("front")] == ["eth0"] * 5 and Walked.walks == []
    assert plans._attached == attached_by_network(m.endpoints)
    fewer = replace(plans, endpoints=m.endpoints[4:])  # another set of endpoints: its own
    assert [e.name for e, _ in fewer.attached("back")] == ["e4", "f"] and Walked.walks
