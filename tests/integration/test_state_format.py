"""A state file of another formatVersion under /run/netreconcile stops the commands that read it, with
the message and exit 1, nothing changed, never a traceback."""

from __future__ import annotations

import json

from builders import endpoint, network, write


def test_apply_and_status_refuse_a_record_of_another_version(sandbox):
    path = write(sandbox, network("front", "172.20.0.0/24"), endpoint("a", "front"))
    newer = json.dumps({"formatVersion": 2, "owners": {"network/front": {}}, "guards": []})
    sandbox.sh(f"mkdir -p /run/netreconcile && chmod 700 /run/netreconcile && echo '{newer}' > /run/netreconcile/applied.json")
    applied = sandbox.nr("apply", str(path), check=False)
    assert applied.returncode == 1 and "Traceback" not in applied.stderr, applied.stderr
    assert "/run/netreconcile/applied.json: written by another version of netreconcile (formatVersion 2; this one reads 1)" \
        in applied.stderr
    assert sandbox.sh("ip netns list").stdout == "" and "front" not in sandbox.sh("ip link").stdout

    sandbox.sh("rm /run/netreconcile/applied.json")
    sandbox.nr("apply", str(path))
    assert json.loads(sandbox.sh("cat /run/netreconcile/applied.json").stdout)["formatVersion"] == 1
    sandbox.sh("""sed -i 's/"formatVersion": 1/"formatVersion": 7/' /run/netreconcile/last.json""")
    status = sandbox.nr("status", str(path), check=False)
    assert status.returncode == 1 and "Traceback" not in status.stderr
    assert "last.json: written by another version of netreconcile (formatVersion 7" in status.stderr
