"""Bad input, fuzzed, through the real CLI: hypothesis-generated broken manifests given to `validate`,
`plan` and `apply` inside one sandbox (a network + mount namespace) per test, on top of a converged
network and endpoint. Each command exits 1 with located problems, no traceback and no internal error,
and the kernel state is exactly what it was.

The generators are the in-process fuzzing's (tests/unit/test_fuzz.py); only manifests that validation
refuses in-process are sent, so every example must fail in the CLI too.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from builders import (
    assert_unchanged,
    converge,
    endpoint,
    network,
    run_fails_cleanly,
    snapshot,
    write,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from unit.test_fuzz import bomb, dump, edited_text, mutated, spliced, yaml_ish_text

from reconciler.errors import ManifestError
from reconciler.input.validate import load_manifests

pytestmark = pytest.mark.kernel

CLI = settings(max_examples=20, deadline=None, database=None,
               suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                      HealthCheck.filter_too_much])
KERNEL = ("ip -o link", "ip -o addr", "ip route", "ip netns list", "nft list ruleset",
          "ls -A /run/netns /run/netreconcile")
PWNED = "/tmp/netreconcile-fuzz-pwned"  # what the !!python/object/apply snippet would create
_scratch = tempfile.TemporaryDirectory(prefix="netreconcile-fuzz-")  # removed at exit


def refused(text: str) -> bool:
    """Validation refuses it in-process: the CLI must refuse it too."""
    path = Path(_scratch.name) / "m.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_manifests([str(path)])
    except ManifestError:
        return True
    return False


broken_manifests = mutated().map(dump).filter(refused)
hostile_yaml = st.one_of(
    spliced(), edited_text(), st.text(max_size=200), yaml_ish_text,
    st.builds(lambda fan, levels, copies: ("---\n" + bomb(fan, levels)) * copies,
              st.integers(2, 10), st.integers(3, 9), st.integers(1, 50)),
    st.builds(lambda depth: "[" * depth + "]" * depth, st.integers(100, 5000)),
).filter(refused)


@pytest.fixture
def converged(sandbox):
    """The sandbox holding one converged network and endpoint, and a snapshot of its kernel state."""
    converge(sandbox, write(sandbox, network("a", "172.20.0.0/24"), endpoint("e0", "a")))
    return sandbox, snapshot(sandbox, *KERNEL)


def check_cli_refuses(sandbox, before: dict[str, str], text: str) -> None:
    path = sandbox.workdir / "bad" / "m.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    for command in ("validate", "plan", "apply"):
        stderr = run_fails_cleanly(sandbox, command, str(path))
        problems = stderr.splitlines()[:-1]  # the last line: "N problem(s) found; nothing was changed."
        assert problems and stderr.splitlines()[-1].endswith("nothing was changed."), stderr
        assert all(line.startswith(f"{path}:") for line in problems if not line.startswith(" ")), stderr
    assert_unchanged(sandbox, before)
    assert sandbox.sh(f"test -e {PWNED}", check=False).returncode != 0


@CLI
@given(text=broken_manifests)
def test_broken_mostly_valid_manifests_change_nothing(converged, text):
    check_cli_refuses(*converged, text)


@CLI
@given(text=hostile_yaml)
def test_hostile_yaml_changes_nothing(converged, text):
    check_cli_refuses(*converged, text)
