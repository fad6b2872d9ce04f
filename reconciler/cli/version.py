"""The version `netreconcile --version` prints: pyproject.toml's, its one source. From a checkout (the
package beside its pyproject.toml) it is read there, so an edited version shows before any reinstall;
installed (pipx, a wheel, a venv), from the package metadata the build copied it to."""

from __future__ import annotations

from pathlib import Path

DISTRIBUTION = "netreconcile"
CHECKOUT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def version() -> str:
    project = _checkout_project()
    if project.get("name") == DISTRIBUTION and isinstance(project.get("version"), str):
        return str(project["version"])
    import importlib.metadata as metadata  # 10 ms: only for an installed copy, not at every start

    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # neither installed nor in a checkout: copied by hand
        return "unknown"


def _checkout_project() -> dict[str, object]:
    import tomllib  # only for --version and the manual pages, not at every start

    try:
        project = tomllib.loads(CHECKOUT.read_text()).get("project", {})
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    return project if isinstance(project, dict) else {}
