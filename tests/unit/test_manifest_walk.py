"""The folder walk of every load (the watch's too) lists what os.walk with Path.is_file listed, in the
same order, while making a Path and testing a file only for a manifest's name."""

from __future__ import annotations

import os
from pathlib import Path

from reconciler.input import manifest
from reconciler.input.manifest import manifest_files


def as_os_walk_did(folder: Path) -> list[Path]:
    found = (Path(parent, name) for parent, _, names in os.walk(folder) for name in names)
    return sorted(p for p in found if p.suffix in (".yaml", ".yml") and p.is_file())


def test_the_walk_lists_what_os_walk_listed(tmp_path):
    (tmp_path / "a" / "deep").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    for name in ("a/b.yaml", "a-c.yaml", "a/deep/z.yml", "x.yaml.bak", ".yaml", "..yaml", "n.txt", "elsewhere/e.yaml"):
        (tmp_path / name).write_text("{}\n")
    (tmp_path / "linked.yaml").symlink_to(tmp_path / "n.txt")  # a link to a file is the file
    (tmp_path / "broken.yaml").symlink_to(tmp_path / "nowhere")
    (tmp_path / "loop.yaml").symlink_to(tmp_path / "loop.yaml")
    (tmp_path / "folder-link").symlink_to(tmp_path / "elsewhere")  # not followed
    (tmp_path / "dir.yaml").mkdir()
    os.mkfifo(tmp_path / "fifo.yaml")
    listed = manifest_files([str(tmp_path), str(tmp_path / "a-c.yaml")])
    assert list(map(str, listed)) == list(map(str, as_os_walk_did(tmp_path) + [tmp_path / "a-c.yaml"]))
    assert [str(p.relative_to(tmp_path)) for p in listed[:4]] == ["..yaml", "a/b.yaml", "a/deep/z.yml", "a-c.yaml"]
    assert list(map(str, manifest_files([f"{tmp_path}/./a/"]))) == list(map(str, as_os_walk_did(tmp_path / "a")))


def test_a_file_is_read_whole(tmp_path):
    (tmp_path / "big.yaml").write_bytes(b"x" * (3 << 20) + b"end")
    assert manifest.read(tmp_path / "big.yaml") == b"x" * (3 << 20) + b"end"
    assert isinstance(manifest.read(tmp_path / "gone.yaml"), FileNotFoundError)
    assert isinstance(manifest.read(tmp_path), IsADirectoryError)
