"""The watch's manifest cache (with the plan's allocation) gives exactly what load_manifests gives, and re-parses only changed files."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from reconciler.errors import ManifestError
from reconciler.input import manifest
from reconciler.input.cache import ManifestCache
from reconciler.input.ipam import allocate
from reconciler.input.validate import load_manifests
from unit.helpers import FIXTURES, endpoint, network

CASES = sorted((FIXTURES / "invalid").glob("*.yaml")) + sorted((FIXTURES / "plans").glob("*/manifests.yaml"))
CASES += [FIXTURES.parent.parent / "manifests"]


def outcome(load, paths: list[str]):
    try:
        return load(paths)
    except ManifestError as err:
        return [str(p) for p in err.problems]


def allocated(cache: ManifestCache):
    """The cache's manifests, then the allocation the watch's plan makes of them (it refuses a pool too small)."""
    def load(paths: list[str]):
        m = cache.load(paths)
        allocate(m)
        return m
    return load


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}/{p.stem}" for p in CASES])
def test_the_cache_gives_what_load_manifests_gives(path):
    cache = ManifestCache()
    expected = outcome(load_manifests, [str(path)])
    assert outcome(allocated(cache), [str(path)]) == expected
    assert outcome(allocated(cache), [str(path)]) == expected  # from the cache, the same again


@pytest.fixture
def parsed(monkeypatch) -> list[str]:
    """The files parsed, in order."""
    seen: list[str] = []
    real = manifest.load_text

    def spy(text: str, filename: str):
        seen.append(Path(filename).name)
        return real(text, filename)

    monkeypatch.setattr(manifest, "load_text", spy)
    return seen


def test_only_changed_files_are_parsed_again(tmp_path, parsed):
    (tmp_path / "net.yaml").write_text(network("front", "{subnet: 172.20.0.0/24}"))
    (tmp_path / "a.yaml").write_text(endpoint("a", "[{network: front}]"))
    cache = ManifestCache()
    assert [e.name for e in cache.load([str(tmp_path)]).endpoints] == ["a"]
    assert parsed == ["a.yaml", "net.yaml"]

    (tmp_path / "b.yaml").write_text(endpoint("b", "[{network: front}]"))
    assert [e.name for e in cache.load([str(tmp_path)]).endpoints] == ["a", "b"]
    assert parsed[2:] == ["b.yaml"]

    (tmp_path / "a.yaml").write_text(endpoint("a", "[{network: front, ipv4Address: 172.20.0.9}]"))  # same inode
    m = cache.load([str(tmp_path)])
    assert parsed[3:] == ["a.yaml"] and str(m.endpoints[0].interfaces[0].ipv4_address) == "172.20.0.9"

    (tmp_path / "b.yaml").unlink()
    assert [e.name for e in cache.load([str(tmp_path)]).endpoints] == ["a"]
    assert parsed[4:] == []


def test_a_broken_file_is_reported_then_its_fix_is_read(tmp_path):
    (tmp_path / "net.yaml").write_text(network("front", "{subnet: 172.20.0.0/24}"))
    (tmp_path / "a.yaml").write_text("kind: [")
    cache = ManifestCache()
    with pytest.raises(ManifestError, match="invalid YAML"):
        cache.load([str(tmp_path)])
    (tmp_path / "a.yaml").write_text(endpoint("a", "[{network: front}]"))
    assert [e.name for e in cache.load([str(tmp_path)]).endpoints] == ["a"]



LOADERS = {"cache": lambda paths: ManifestCache().load(paths), "load_manifests": load_manifests}


@pytest.fixture
def removed_after_listing(monkeypatch) -> list[Path]:
    """Files removed just after the manifests were listed and before they are read, as an editor or git
    may do while a reconcile runs."""
    doomed: list[Path] = []
    real = manifest.manifest_files

    def listed(paths):
        found = real(paths)
        for path in doomed:
            path.unlink()
        return found

    monkeypatch.setattr(manifest, "manifest_files", listed)
    return doomed


@pytest.fixture
def removed_while_listing(monkeypatch) -> list[Path]:
    """Folders removed while the manifests are listed: after their parent's entries were read, before their own."""
    doomed: list[Path] = []
    real = os.scandir

    def scandir(path=None):
        if isinstance(path, (str, os.PathLike)) and Path(path) in doomed:
            shutil.rmtree(path)
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    return doomed


@pytest.mark.parametrize("load", LOADERS.values(), ids=list(LOADERS))
def test_a_file_removed_while_the_manifests_are_read_is_not_in_the_source(tmp_path, removed_after_listing, load):
    (tmp_path / "net.yaml").write_text(network("front", "{subnet: 172.20.0.0/24}"))
    (tmp_path / "a.yaml").write_text(endpoint("a", "[{network: front}]"))
    (tmp_path / "zz-b.yaml").write_text(endpoint("b", "[{network: front}]"))
    removed_after_listing.append(tmp_path / "zz-b.yaml")
    assert [e.name for e in load([str(tmp_path)]).endpoints] == ["a"]


@pytest.mark.parametrize("load", LOADERS.values(), ids=list(LOADERS))
def test_a_folder_removed_while_the_manifests_are_listed_is_not_in_the_source(tmp_path, removed_while_listing, load):
    (tmp_path / "net.yaml").write_text(network("front", "{subnet: 172.20.0.0/24}"))
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / "sub" / "deeper" / "b.yaml").write_text(endpoint("b", "[{network: front}]"))
    removed_while_listing.append(tmp_path / "sub")
    assert [n.name for n in load([str(tmp_path)]).networks] == ["front"]


def test_a_load_reads_the_kinds_of_the_documents_of_changed_files_alone(tmp_path, monkeypatch):
    """The watch loads every file again on each reconcile: what a load takes of a file (its typed
    objects by kind, its problems) is gathered when the file is parsed, not again per document."""
    (tmp_path / "m.yaml").write_text(network("a", "{subnet: 10.0.0.0/24}") + "".join(
        endpoint(f"e{i}", "[{network: a}]") for i in range(20)))
    cache = ManifestCache()
    cache.load([str(tmp_path)])
    read: list[int] = []
    kind = manifest.Document.kind
    monkeypatch.setattr(manifest.Document, "kind", property(lambda doc: read.append(1) or kind.fget(doc)))

    loaded = cache.load([str(tmp_path)])
    assert read == [] and [e.name for e in loaded.endpoints] == [f"e{i}" for i in range(20)]

    (tmp_path / "more.yaml").write_text(endpoint("f1", "[{network: a}]"))
    loaded = cache.load([str(tmp_path)])
    assert read and [e.name for e in loaded.endpoints][-1] == "f1" and len(loaded.endpoints) == 21


@pytest.fixture
def checked(monkeypatch) -> list[str]:
    """The endpoints checked one by one, in order."""
    from reconciler.input import validate_endpoints as validate
    seen: list[str] = []
    real = validate._endpoint_problems

    def spy(endpoint, networks, invalid_networks):
        seen.append(endpoint.name)
        return real(endpoint, networks, invalid_networks)

    monkeypatch.setattr(validate, "_endpoint_problems", spy)
    return seen


def test_an_endpoint_is_checked_again_only_when_it_or_a_network_it_attaches_to_changed(tmp_path, checked):
    (tmp_path / "net.yaml").write_text(network("front", "{subnet: 172.20.0.0/24}") + network("back", "{subnet: 172.21.0.0/24}"))
    (tmp_path / "a.yaml").write_text(endpoint("a", "[{network: front, ipv4Address: 172.20.0.9}]"))
    (tmp_path / "b.yaml").write_text(endpoint("b", "[{network: back, ipv4Address: 172.21.0.9}]"))
    cache = ManifestCache()
    cache.load([str(tmp_path)])
    cache.load([str(tmp_path)])
    assert checked == ["a", "b"]

    (tmp_path / "b.yaml").write_text(endpoint("b", "[{network: back, ipv4Address: 172.21.0.8}]"))
    cache.load([str(tmp_path)])
    assert checked[2:] == ["b"]

    (tmp_path / "net.yaml").write_text(network("front", "{subnet: 172.22.0.0/24}") + network("back", "{subnet: 172.21.0.0/24}"))
    with pytest.raises(ManifestError, match="172.20.0.9 is outside the subnets of network 'front'"):
        cache.load([str(tmp_path)])
    assert checked[3:] == ["a"]  # b's network is another object, but the same

    (tmp_path / "net.yaml").write_text(network("front", "{subnet: 172.22.0.0/24}") + network("back", "{subnet: 10.0.0.0/33}"))
    with pytest.raises(ManifestError) as err:
        cache.load([str(tmp_path)])
    assert not [p for p in err.value.problems if "unknown network" in str(p)]  # back is invalid, not unknown
    assert checked[4:] == ["b"]
    assert any("172.20.0.9 is outside" in str(p) for p in err.value.problems)  # a's problem, kept


def test_while_every_network_is_the_same_object_an_unchanged_endpoints_networks_are_not_looked_up(tmp_path, checked):
    """The watch's next load after one endpoint more: the networks are the very objects of the last
    load, so what each kept endpoint attaches to is not looked up again; once a network is another
    object, it is, and an endpoint whose network changed is checked again."""
    from reconciler.input.validate import EndpointChecks

    class Looked(dict):
        gets = 0

        def get(self, key, default=None):
            Looked.gets += 1
            return super().get(key, default)

    (tmp_path / "net.yaml").write_text(network("front", "{subnet: 172.20.0.0/24}"))
    (tmp_path / "a.yaml").write_text(endpoint("a", "[{network: front, ipv4Address: 172.20.0.9}]"))
    m = ManifestCache().load([str(tmp_path)])
    checks, networks = EndpointChecks(), Looked({n.name: n for n in m.networks})
    del checked[:]  # the load's own
    assert checks([m.endpoints], networks, set()) == [] and checked == ["a"]
    Looked.gets = 0
    assert checks([m.endpoints], networks, set()) == [] and checked == ["a"] and Looked.gets == 0

    narrowed = Looked({"front": replace(m.networks[0], subnets=())})
    assert checks([m.endpoints], narrowed, set()) and checked == ["a", "a"] and Looked.gets > 0
