"""The check that each name in a network's hosts files means one object, as the watch runs it on each
load: a network whose names are all distinct and none reserved is passed whole, not claim by claim;
a name given twice or reserved is still refused, at the later object."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import ManifestError
from reconciler.input import validate_names
from reconciler.input.cache import ManifestCache

NETWORK = """apiVersion: netreconcile/v1
kind: Network
metadata: {name: a}
spec: {driver: bridge, ipam: {subnet: 10.1.0.0/24}}
"""


def endpoint(name: str, aliases: str = "[]") -> str:
    return (f"apiVersion: netreconcile/v1\nkind: Endpoint\nmetadata: {{name: {name}}}\n"
            f"spec:\n  interfaces: [{{network: a, aliases: {aliases}}}]\n")


@pytest.fixture
def looked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    names: list[str] = []
    real = validate_names.reserved_hostname
    monkeypatch.setattr(validate_names, "reserved_hostname", lambda name: names.append(name) or real(name))
    return names


def load(folder: Path, *documents: str) -> None:
    (folder / "all.yaml").write_text("---\n".join((NETWORK, *documents)))
    ManifestCache().load([str(folder)])


def test_distinct_names_are_not_looked_at_one_by_one(tmp_path: Path, looked: list[str]) -> None:
    load(tmp_path, *(endpoint(f"e{i}", "[www]" if i == 3 else "[]") for i in range(20)))
    assert looked == []


@pytest.mark.parametrize(("documents", "refused"), [
    ((endpoint("e1"), endpoint("e2", "[e1]")), "alias 'e1' is already the name of endpoint 'e1'"),
    ((endpoint("e1", "[www]"), endpoint("e2", "[www]")), "alias 'www' is already an alias of endpoint 'e1'"),
    ((endpoint("e1", "[db.localhost]"),), "alias 'db.localhost' is a name every hosts file already gives the loopback"),
    ((endpoint("e1", "[localhost]"),), "alias 'localhost' is a name every hosts file already gives the loopback"),
])
def test_a_name_given_twice_or_reserved_is_still_refused(tmp_path: Path, looked: list[str], documents: tuple[str, ...],
                                                         refused: str) -> None:
    with pytest.raises(ManifestError) as err:
        load(tmp_path, *documents)
    assert refused in str(err.value) and looked
