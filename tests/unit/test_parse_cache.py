"""The parsed manifests kept between one-shot commands (reconciler/kernel/parsecache.py): an entry is
used only for the same bytes parsed by the same loader, gives the documents and positions a fresh
parse gives, and is JSON in a folder root's alone; anything odd about it means parsing again."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from reconciler.errors import ManifestError
from reconciler.input import manifest, parsed
from reconciler.input.validate import load_manifests
from reconciler.kernel import runstate
from reconciler.kernel.parsecache import ParseCache

NETWORK = "apiVersion: netreconcile/v1\nkind: Network\nmetadata: {name: n1}\nspec:\n  driver: bridge\n  ipam: {subnet: 10.1.0.0/24}\n"
ENDPOINT = "---\napiVersion: netreconcile/v1\nkind: Endpoint\nmetadata: {name: e1}\nspec:\n  interfaces:\n    - {network: n1}\n"


@pytest.fixture
def run_dir(tmp_path, monkeypatch):
    folder = tmp_path / "run"
    monkeypatch.setattr(runstate, "RUN_DIR", folder)
    return folder


def entries(run_dir) -> list[str]:
    return sorted(os.listdir(run_dir / "parsed")) if (run_dir / "parsed").exists() else []


def load(path):
    with ParseCache() as cache:
        return manifest.load_paths([str(path)], cache)


def as_tuples(docs):
    return [(d.data, d.file, d.positions) for d in docs]


def test_a_file_parsed_before_is_read_from_its_entry_the_same(run_dir, tmp_path, monkeypatch):
    path = tmp_path / "m.yaml"
    path.write_text(NETWORK + ENDPOINT)
    fresh = manifest.load_paths([str(path)])
    assert as_tuples(load(path)) == as_tuples(fresh) and len(entries(run_dir)) == 1
    mode = os.stat(run_dir / "parsed").st_mode
    assert stat.S_IMODE(mode) == 0o700 and stat.S_IMODE(os.stat(run_dir / "parsed" / entries(run_dir)[0]).st_mode) == 0o600
    monkeypatch.setattr(manifest, "load_file", lambda *a: pytest.fail("parsed again"))
    assert as_tuples(load(path)) == as_tuples(fresh)


def test_a_changed_file_is_parsed_again(run_dir, tmp_path):
    """What invalidates an entry: the file's bytes (same name, same size, one value changed)."""
    path = tmp_path / "m.yaml"
    path.write_text(NETWORK)
    load(path)
    path.write_text(NETWORK.replace("10.1.0.0", "10.2.0.0"))
    (doc,) = load(path)
    assert doc.data["spec"]["ipam"]["subnet"] == "10.2.0.0/24" and len(entries(run_dir)) == 1  # the old one removed


def test_another_loader_does_not_read_the_entries_of_this_one(run_dir, tmp_path, monkeypatch):
    path = tmp_path / "m.yaml"
    path.write_text(NETWORK)
    load(path)
    monkeypatch.setattr(parsed, "_loader_identity", lambda: b"another loader")
    read = []
    real = manifest.load_file
    monkeypatch.setattr(manifest, "load_file", lambda *a: read.append(a) or real(*a))
    load(path)
    assert len(read) == 1 and len(entries(run_dir)) == 1


def test_messages_name_the_file_and_line_where_the_cached_content_is_now(run_dir, tmp_path):
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    text = NETWORK + ENDPOINT.replace("network: n1", "network: nope")
    first.write_text(text)
    second.write_text(text)
    for path in (first, second):
        with ParseCache() as cache, pytest.raises(ManifestError) as caught:
            load_manifests([str(path)], cache)
        (problem,) = caught.value.problems
        assert (problem.where.file, problem.where.line) == (str(path), 13) and "nope" in problem.message
    assert len(entries(run_dir)) == 1


def test_documents_json_cannot_carry_are_not_kept(run_dir, tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("a: 2026-12-06\n---\n1: one\n")
    load(path)
    assert entries(run_dir) == []
    path.write_text("a: [x, 1, 1.5, true, null, {b: ~}]\n")
    load(path)
    assert len(entries(run_dir)) == 1


@pytest.mark.parametrize("content", [b"not json", b"{}", b"[[{}, [[1]]]]", b'[[{}, [["x", "1", 2]]]]', b"[1]"])
def test_an_entry_that_is_not_what_was_written_is_ignored(run_dir, tmp_path, content):
    path = tmp_path / "m.yaml"
    path.write_text(NETWORK)
    fresh = as_tuples(manifest.load_paths([str(path)]))
    load(path)
    (name,) = entries(run_dir)
    (run_dir / "parsed" / name).write_bytes(content)
    assert as_tuples(load(path)) == fresh


def test_no_folder_to_keep_them_in_is_no_cache(run_dir, tmp_path):
    run_dir.mkdir(mode=0o700)
    (run_dir / "parsed").symlink_to(tmp_path)
    path = tmp_path / "m.yaml"
    path.write_text(NETWORK)
    with ParseCache() as cache:
        assert cache.folder is None
        assert manifest.load_paths([str(path)], cache)[0].name == "n1"
    assert not list(tmp_path.glob("*.json"))


def test_a_run_that_adds_an_entry_removes_those_it_did_not_use(run_dir, tmp_path):
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text("a: 1\n")
    second.write_text("b: 2\n")
    load(first)
    with ParseCache() as cache:
        manifest.load_paths([str(first), str(second)], cache)
    assert len(entries(run_dir)) == 2
    with ParseCache() as cache:  # adds nothing: removes nothing
        manifest.load_paths([str(second)], cache)
    assert len(entries(run_dir)) == 2
    second.write_text("b: 3\n")
    load(second)
    (name,) = entries(run_dir)
    assert json.loads((run_dir / "parsed" / name).read_text())[0][0] == {"b": 3}


def test_a_loader_whose_source_cannot_be_read_keeps_nothing(run_dir, tmp_path, monkeypatch):
    path = tmp_path / "m.yaml"
    path.write_text(NETWORK)
    monkeypatch.setattr(parsed, "LOADER", ("yamlload.py", "gone.py"))
    parsed._loader_identity.cache_clear()
    try:
        assert load(path)[0].name == "n1" and entries(run_dir) == []
    finally:
        parsed._loader_identity.cache_clear()


def test_the_digest_changes_with_the_loaders_code():
    assert {"yamlload.py", "document.py", "parsed.py"} <= set(parsed.LOADER)
    assert all((Path(parsed.__file__).parent / name).is_file() for name in parsed.LOADER)
