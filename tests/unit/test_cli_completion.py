"""`netreconcile completion bash|zsh`: the scripts really complete, in a real bash and a real zsh."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
COMMANDS = ["apply", "completion", "confirm", "destroy", "doctor", "graph", "plan", "push", "schema", "status", "validate", "watch"]


def script(shell: str) -> str:
    result = subprocess.run([sys.executable, "-m", "reconciler", "completion", shell], check=False, capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def bash_script(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bash") / "netreconcile.bash"
    path.write_text(script("bash"))
    return path


@pytest.fixture
def workdir(tmp_path) -> Path:
    """A folder to complete paths in: a manifest file and a directory of them."""
    (tmp_path / "site.yaml").write_text("")
    (tmp_path / "manifests").mkdir()
    return tmp_path


def bash_complete(script_path: Path, words: list[str], cwd: Path) -> list[str]:
    """COMPREPLY when the cursor is at the end of the last word, as bash's programmable completion calls it."""
    quoted = " ".join(f"'{w}'" for w in words)
    program = (f"source '{script_path}'; complete -p netreconcile >/dev/null || exit 3; "
               f"COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; COMP_LINE=\"${{COMP_WORDS[*]}}\"; "
               "COMP_POINT=${#COMP_LINE}; _shtab_netreconcile; printf '%s\\n' \"${COMPREPLY[@]}\"")
    result = subprocess.run(["bash", "--norc", "--noprofile", "-c", program], check=False, capture_output=True, text=True, cwd=cwd, timeout=30)
    assert result.returncode == 0, result.stderr
    return sorted(filter(None, result.stdout.splitlines()))


BASH_CASES = {
    "commands": (["netreconcile", ""], COMMANDS),
    "a prefix": (["netreconcile", "pl"], ["plan"]),
    "a flag of plan": (["netreconcile", "plan", "manifests/", "--det"], ["--detailed-exitcode"]),
    "-o choices": (["netreconcile", "plan", "-o", ""], ["json", "text"]),
    "graph formats": (["netreconcile", "graph", "manifests/", "--output", ""], ["dot", "png", "svg"]),
    "shells": (["netreconcile", "completion", ""], ["bash", "zsh"]),
    "kinds": (["netreconcile", "schema", "N"], ["Network"]),
    "a manifest file": (["netreconcile", "validate", "si"], ["site.yaml"]),
    "a directory": (["netreconcile", "apply", "man"], ["manifests"]),
}


@pytest.mark.parametrize("case", BASH_CASES, ids=list(BASH_CASES))
def test_bash_completes(bash_script, workdir, case):
    words, expected = BASH_CASES[case]
    assert bash_complete(bash_script, words, workdir) == expected


def test_bash_offers_the_flags_of_the_command_typed_only(bash_script, workdir):
    flags = bash_complete(bash_script, ["netreconcile", "plan", "x", "--"], workdir)
    assert "--detailed-exitcode" in flags and "--host" in flags and "--output" in flags
    assert "--allow-empty" not in flags  # apply's
    assert "--detailed-exitcode" not in bash_complete(bash_script, ["netreconcile", "apply", "x", "--"], workdir)


# Drive zsh's real completion: an interactive zsh in a pseudo-terminal (zpty) with compinit, the
# script found through $fpath as _netreconcile, and compadd wrapped to print what would be offered.
ZSH_DRIVER = r"""
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "fpath=($1 \$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w z 'bindkey "^I" complete-word'
zpty -w z 'compadd () { [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]] && { builtin compadd "$@"; return } ; local -a hits; builtin compadd -A hits "$@"; print -rl -- "H""IT:"${^hits} }'
zpty -w z '_nr_done () { print -r -- "DO""NE"; exit }; comppostfuncs=(_nr_done)'
zpty -w -n z "$2"$'\t'
zpty -r z out '*DONE*'
print -r -- "$out"
"""

needs_zsh = pytest.mark.skipif(not shutil.which("zsh"), reason="zsh is not installed (Debian package zsh)")


@pytest.fixture(scope="module")
def zsh_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("zsh")
    (folder / "_netreconcile").write_text(script("zsh"))
    (folder / "driver.zsh").write_text(ZSH_DRIVER)
    return folder


def zsh_complete(folder: Path, line: str, cwd: Path) -> list[str]:
    result = subprocess.run(["zsh", "-f", str(folder / "driver.zsh"), str(folder), line],
                            check=False, capture_output=True, text=True, cwd=cwd, timeout=60)
    assert "DONE" in result.stdout, result
    return sorted(re.findall(r"HIT:(\S+)", result.stdout.replace("\r", "")))


ZSH_CASES = {
    "commands": ("netreconcile ", COMMANDS),
    "a flag of plan": ("netreconcile plan manifests/ --det", ["--detailed-exitcode"]),
    "-o choices": ("netreconcile plan -o ", ["json", "text"]),
    "kinds": ("netreconcile schema N", ["Network"]),
    "a manifest file": ("netreconcile validate si", ["site.yaml"]),
}


@needs_zsh
@pytest.mark.parametrize("case", ZSH_CASES, ids=list(ZSH_CASES))
def test_zsh_completes_under_compinit(zsh_dir, workdir, case):
    line, expected = ZSH_CASES[case]
    assert zsh_complete(zsh_dir, line, workdir) == expected


@needs_zsh
def test_zsh_evals_the_script_after_compinit_without_error_and_registers_it(tmp_path):
    """The other way to load it (in ~/.zshrc): eval "$(netreconcile completion zsh)" after compinit."""
    (tmp_path / "nr.zsh").write_text(script("zsh"))
    program = f"autoload -Uz compinit && compinit -u -D && eval \"$(<{tmp_path / 'nr.zsh'})\" && print -r -- $_comps[netreconcile]"
    result = subprocess.run(["zsh", "-f", "-c", program], check=False, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and result.stderr == "", result
    assert result.stdout.strip() == "_shtab_netreconcile"
