"""compiled.py: the methods dataclasses writes, compiled once and kept by their source text."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler import compiled

REPO = Path(__file__).resolve().parents[2]


def define(kept: compiled._Kept, monkeypatch: pytest.MonkeyPatch) -> type:
    monkeypatch.setattr(dataclasses, "exec", kept.exec, raising=False)

    @dataclasses.dataclass(frozen=True)
    class Point:
        x: int
        y: int = 2

    monkeypatch.delattr(dataclasses, "exec")
    return Point


def test_what_one_process_compiled_the_next_takes_from_the_file_and_the_classes_behave_the_same(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    path = str(tmp_path / "dataclasses.marshal")
    first = compiled._Kept(path)
    Point = define(first, monkeypatch)
    assert first.compiled >= 5  # __init__, __repr__, __eq__, __hash__, __setattr__, __delattr__
    first.save()
    second = compiled._Kept(path)
    assert set(second.held) == set(first.used)
    Again = define(second, monkeypatch)
    assert second.compiled == 0
    for cls in (Point, Again):
        p = cls(1)
        assert (p.x, p.y, repr(p).split("(", 1)[1]) == (1, 2, "x=1, y=2)")
        assert p == cls(1, 2) and p != cls(1, 3) and hash(p) == hash(cls(1, 2))
        with pytest.raises(dataclasses.FrozenInstanceError):
            p.x = 5


def test_without_bytecode_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    kept = compiled._Kept(str(tmp_path / "dataclasses.marshal"))
    define(kept, monkeypatch)
    kept.save()
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("content", [b"", b"not marshal", b"\x00" * 40])
def test_a_file_of_anything_else_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes) -> None:
    path = tmp_path / "dataclasses.marshal"
    path.write_bytes(content)
    kept = compiled._Kept(str(path))
    assert kept.held == {}
    Point = define(kept, monkeypatch)
    assert kept.compiled >= 5 and Point(3) == Point(3, 2)


def test_a_file_of_other_types_keeps_only_text_to_code(tmp_path: Path) -> None:
    import marshal
    path = tmp_path / "dataclasses.marshal"
    good = compile("x = 1", "<string>", "exec")
    path.write_bytes(marshal.dumps({"x = 1": good, "y = 2": "not code", 3: good}))
    assert compiled._Kept(str(path)).held == {"x = 1": good}


def test_a_symbolic_link_is_neither_read_through_nor_written_through(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    elsewhere = tmp_path / "elsewhere"
    source = compiled._Kept(str(elsewhere))
    define(source, monkeypatch)
    source.save()
    before = elsewhere.read_bytes()
    link = tmp_path / "dataclasses.marshal"
    link.symlink_to(elsewhere)
    kept = compiled._Kept(str(link))
    assert kept.held == {}
    define(kept, monkeypatch)
    kept.save()
    assert not link.is_symlink() and link.stat().st_size > 0
    assert elsewhere.read_bytes() == before


def test_the_command_line_keeps_the_file_and_a_second_run_writes_nothing(tmp_path: Path) -> None:
    """End to end: the first `netreconcile` run writes the file where the package's bytecode goes; the
    second finds every method in it (compiled nothing: the file is not written again)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONPYCACHEPREFIX": str(tmp_path / "pyc")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    manifest = tmp_path / "m.yaml"
    manifest.write_text("apiVersion: netreconcile/v1\nkind: Network\nmetadata: {name: n}\n"
                        "spec: {driver: bridge, ipam: {subnet: 10.9.0.0/16}}\n")

    def run() -> os.stat_result:
        done = subprocess.run([sys.executable, "-m", "reconciler", "validate", str(manifest)], env=env,
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        found = list((tmp_path / "pyc").rglob("dataclasses.*.marshal"))
        assert len(found) == 1 and found[0].parent.name == "reconciler"
        return found[0].stat()

    first = run()
    assert first.st_size > 10_000
    second = run()
    assert (second.st_ino, second.st_mtime_ns) == (first.st_ino, first.st_mtime_ns)
