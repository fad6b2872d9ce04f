"""What a one-shot command loads before it starts (issue 23: the start-up cost of `plan`, `apply`,
`validate`, `status`): modules only some commands or sources need are left for those to import.
Each check runs in a fresh interpreter, so nothing this test process imported counts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def loaded_after(code: str) -> set[str]:
    """The modules in sys.modules once `code` has run in a fresh interpreter (the repo first on its path)."""
    script = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def packages(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_the_command_line_loads_no_http_client_until_an_etcd_source_asks_for_one():
    assert "urllib3" not in packages(loaded_after("import reconciler.cli"))
    validated = loaded_after("import reconciler.cli\nassert reconciler.cli.main(['validate', 'manifests/']) == 0")
    assert "urllib3" not in packages(validated)
    assert "urllib3" in packages(loaded_after(
        "from reconciler.input import etcd\netcd.Client(etcd.EtcdURL.parse('etcd://127.0.0.1:1/p/'))"))


def test_the_version_is_read_only_when_asked_for():
    """An installed copy reads its version from the package metadata (importlib.metadata: 30 ms to
    load); a checkout from pyproject.toml. Neither is any command's business but --version's."""
    installed = "import pathlib, reconciler.cli.version as v\nv.CHECKOUT = pathlib.Path('/nonexistent/pyproject.toml')\n"
    parsed = loaded_after(installed + "import reconciler.cli\nreconciler.cli.build_parser().parse_args(['validate', 'x'])")
    assert not {"importlib.metadata", "tomllib"} & parsed
    done = subprocess.run([sys.executable, "-c", installed + "import reconciler.cli\nreconciler.cli.main(['--version'])"],
                          cwd=REPO, capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.startswith("netreconcile ") and done.stdout.strip() != "netreconcile"


def test_valid_manifests_are_checked_without_loading_jsonschema():
    """The compiled schema check (reconciler/input/schema_check.py) judges valid documents; jsonschema
    (50 ms to import, with referencing) is loaded for the messages of an invalid one only."""
    validated = loaded_after("import reconciler.cli\nassert reconciler.cli.main(['validate', 'manifests/']) == 0")
    assert not {"jsonschema", "referencing"} & packages(validated)
    refused = loaded_after("import reconciler.cli\nassert reconciler.cli.main(['validate', 'tests/fixtures/invalid/unknown-field.yaml']) == 1")
    assert "jsonschema" in packages(refused)


def test_a_command_whose_files_are_all_parsed_before_does_not_load_pyyaml(tmp_path):
    """The parse cache (reconciler/kernel/parsecache.py) holds every file: PyYAML (10 ms) stays unloaded;
    a file not held is parsed with it."""
    run = tmp_path / "run"
    code = ("from reconciler.kernel import runstate, parsecache\nfrom reconciler.input.validate import load_manifests\n"
            f"runstate.RUN_DIR = __import__('pathlib').Path({str(run)!r})\n"
            "with parsecache.ParseCache() as c:\n    load_manifests(['manifests/'], c)")
    assert "yaml" in packages(loaded_after(code))
    assert "yaml" not in packages(loaded_after(code))
