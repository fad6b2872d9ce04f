"""`pipx install .` into a fresh PIPX_HOME: the command runs and prints pyproject's version, its man
pages render with `man -l` from pipx's man folder, and the completion files installed with it are
found by bash-completion's loader (`complete -p`) and zsh's #compdef, and equal what `netreconcile
completion` prints.

pipx builds the wheel in an isolated environment, so it needs the package index pip is configured
with (PyPI, or a mirror): for setuptools and setup.py's build requirements, and the dependencies."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pipx  # from the test extra: the installer under test, run as python -m pipx
import pytest

REPO = Path(__file__).resolve().parents[2]
BASH_COMPLETION = Path("/usr/share/bash-completion/bash_completion")
PIPX = [sys.executable, "-m", pipx.__name__]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict[str, Path]:
    """netreconcile installed by pipx from this checkout into folders of its own."""
    root = tmp_path_factory.mktemp("pipx")
    places = {"PIPX_HOME": root / "home", "PIPX_BIN_DIR": root / "bin", "PIPX_MAN_DIR": root / "man"}
    source = root / "source"  # a copy: the build writes build/ and *.egg-info, never into the checkout
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(".venv", ".git", "build", "*.egg-info", "__pycache__",
                                                                 ".pytest_cache", ".hypothesis", "benchmarks"))
    env = {**os.environ, **{k: str(v) for k, v in places.items()}}
    env.pop("PYTHONPATH", None)  # the installed package, not this checkout's
    result = subprocess.run([*PIPX, "install", str(source)], capture_output=True, text=True, env=env, timeout=600, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return {**places, "venv": places["PIPX_HOME"] / "venvs" / "netreconcile"}


def run(installed: dict[str, Path], *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([str(installed["PIPX_BIN_DIR"] / "netreconcile"), *args], capture_output=True, text=True,
                          env=env, cwd="/", timeout=60, check=False)


def test_version_is_pyprojects(installed):
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    result = run(installed, "--version")
    assert result.returncode == 0 and result.stdout == f"netreconcile {version}\n", result


@pytest.mark.skipif(shutil.which("man") is None, reason="man (Debian package man-db) is not installed")
def test_man_pages_render_from_pipxs_man_folder(installed):
    for page, title in (("man8/netreconcile.8", "NETRECONCILE(8)"), ("man5/netreconcile-manifests.5", "NETRECONCILE-MANIFESTS(5)")):
        path = installed["PIPX_MAN_DIR"] / page
        shown = subprocess.run(["man", "-l", str(path)], capture_output=True, text=True, timeout=60,
                               env={"LC_ALL": "C", "MANPAGER": "cat", "PATH": "/usr/bin:/bin"}, check=False)
        assert shown.returncode == 0 and shown.stdout.lstrip().startswith(title), shown.stderr
        assert "netreconcile" in shown.stdout and len(shown.stdout.splitlines()) > 50


@pytest.mark.skipif(not BASH_COMPLETION.exists(), reason="bash-completion (Debian package) is not installed")
def test_bash_completion_finds_the_installed_file(installed):
    share = installed["venv"] / "share"
    program = (f"source {BASH_COMPLETION}; complete -p netreconcile 2>/dev/null && exit 3; "
               "__load_completion netreconcile; complete -p netreconcile")
    result = subprocess.run(["bash", "--norc", "--noprofile", "-c", program], capture_output=True, text=True, timeout=60,
                            env={"PATH": f"{installed['PIPX_BIN_DIR']}:/usr/bin:/bin", "XDG_DATA_DIRS": str(share)}, check=False)
    assert result.returncode == 0 and "_shtab_netreconcile netreconcile" in result.stdout, result
    installed_file = share / "bash-completion" / "completions" / "netreconcile"
    assert installed_file.read_text() == run(installed, "completion", "bash").stdout


def test_zsh_completion_is_installed_where_zsh_looks(installed):
    path = installed["venv"] / "share" / "zsh" / "site-functions" / "_netreconcile"
    text = path.read_text()
    assert text.startswith("#compdef netreconcile") and text == run(installed, "completion", "zsh").stdout
    if shutil.which("zsh"):
        program = f"fpath=({path.parent} $fpath); autoload -Uz compinit; compinit -u -D; print -r -- $_comps[netreconcile]"
        result = subprocess.run(["zsh", "-f", "-c", program], capture_output=True, text=True, timeout=60, check=False)
        assert result.stdout.strip() == "_netreconcile", result


def test_version_from_the_checkout_is_pyprojects_too():
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    result = subprocess.run([sys.executable, "-m", "reconciler", "--version"], capture_output=True, text=True, cwd=REPO,
                            timeout=60, check=False)
    assert result.returncode == 0 and result.stdout == f"netreconcile {version}\n", result
