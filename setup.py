"""The build step pyproject.toml cannot say: the man pages and shell completions, generated from the
code being built (its argparse parser and its JSON Schema) and shipped as the wheel's data files.

Installed under the prefix (a venv, /usr/local, pipx's venv) as share/man/man8/netreconcile.8,
share/man/man5/netreconcile-manifests.5, share/bash-completion/completions/netreconcile and
share/zsh/site-functions/_netreconcile: where man, bash-completion and zsh look under /usr/local and
/usr, and the man pages pipx links into its man folder. Generating them imports reconciler.cli, so
pyproject.toml's build requirements name what that import needs (PyYAML, jsonschema, referencing)
and shtab for the completions.
"""

from __future__ import annotations

import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
GENERATED = "build/data"
DATA = {  # where each file goes under the prefix: its name
    "share/man/man8": "netreconcile.8",
    "share/man/man5": "netreconcile-manifests.5",
    "share/bash-completion/completions": "netreconcile",
    "share/zsh/site-functions": "_netreconcile",
}


def generate() -> None:
    sys.path.insert(0, str(ROOT))  # the reconciler being built, not one installed elsewhere
    from reconciler.cli import build_parser, manifests_page, manpage
    from reconciler.cli.completion import script

    texts = {"netreconcile.8": manpage.page(), "netreconcile-manifests.5": manifests_page.page(),
             "netreconcile": script(build_parser(), "bash"), "_netreconcile": script(build_parser(), "zsh")}
    folder = ROOT / GENERATED
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        (folder / name).write_text(text)


class BuildWithData(build_py):
    """build_py, first generating the data files (it runs before install_data in every build)."""

    def run(self) -> None:
        generate()
        super().run()


setup(cmdclass={"build_py": BuildWithData},
      data_files=[(target, [f"{GENERATED}/{name}"]) for target, name in DATA.items()])
