import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sandbox import Sandbox, can_sandbox  # noqa: E402


@pytest.fixture
def sandbox(tmp_path):
    """A private network + mount namespace for one test; skipped where it cannot be made (not root)."""
    if not can_sandbox():
        pytest.skip("needs root and unshare --net --mount")
    box = Sandbox(tmp_path)
    yield box
    box.close()
