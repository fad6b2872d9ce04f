"""Hostile manifests through the real CLI: exit 1, a located message, no traceback, the kernel untouched."""

import pytest
from builders import converge, endpoint, network, write
from test_safety import state

BOMB = "\n".join(['a: &a ["x","x","x","x","x","x","x","x","x"]'] + [
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)])
HOSTILE = {
    "python-tag": "apiVersion: netreconcile/v1\nkind: !!python/object/apply:os.system ['touch /tmp/pwned']\n",
    "alias-bomb": BOMB,
    "recursive-alias": "apiVersion: netreconcile/v1\nkind: Network\nmetadata: &m {name: a, x: *m}\n",
    "control-character": "kind: Network\nmetadata: {name: \x07}\n",
    "huge-number": "apiVersion: netreconcile/v1\nkind: Network\nmetadata: {name: a}\nspec: {driver: bridge, mtu: 1e999, ipam: {subnet: 10.0.0.0/99}}\n",
    "path-names": "apiVersion: netreconcile/v1\nkind: Endpoint\nmetadata: {name: ../etc}\nspec: {netns: ../../etc, interfaces: []}\n",
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_manifest_changes_nothing(sandbox, case):
    good = write(sandbox, network("a", "172.20.0.0/24"), endpoint("e0", "a"))
    converge(sandbox, good)
    before = state(sandbox)
    bad = sandbox.write("bad/m.yaml", HOSTILE[case])
    for command in ("validate", "plan", "apply"):
        result = sandbox.nr(command, str(bad), check=False)
        assert result.returncode == 1, (command, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr and f"{bad}:" in result.stderr, result.stderr
    assert state(sandbox) == before
    assert sandbox.sh("test -e /tmp/pwned", check=False).returncode != 0
