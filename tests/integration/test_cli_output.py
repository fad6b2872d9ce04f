"""plan, status and doctor -o json against a real kernel: every output, errors included, has the
shape its JSON Schema (schemas/output-*.schema.json, described in docs/output.md) gives."""

from __future__ import annotations

import json
from pathlib import Path

from builders import converge, endpoint, iface, network, write
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def assert_shape(name: str, body: dict) -> None:
    registry: Registry = Registry()
    for path in SCHEMAS.glob("output-*.schema.json"):
        schema = json.loads(path.read_text())
        registry = registry.with_resource(schema["$id"], Resource.from_contents(schema))
    schema = json.loads((SCHEMAS / f"output-{name}.schema.json").read_text())
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in Draft202012Validator(schema, registry=registry).iter_errors(body)]
    assert not errors, errors


def run_json(sandbox, *args: str) -> tuple[int, dict]:
    result = sandbox.nr(*args, "-o", "json", check=False)
    return result.returncode, json.loads(result.stdout)  # parseable whatever happened


def two_endpoints(sandbox, *names: str) -> Path:
    addresses = {"a": "172.20.0.10", "b": "172.20.0.11"}
    return write(sandbox, network("front", "172.20.0.0/24"), *(endpoint(n, iface("front", addresses[n])) for n in names))


def test_plan_with_changes_then_empty_then_a_delete_with_what_goes_with_it(sandbox):
    path = two_endpoints(sandbox, "a", "b")
    code, body = run_json(sandbox, "plan", str(path), "--detailed-exitcode")
    assert code == 2
    assert_shape("plan", body)
    actions = [c["action"] for c in body["changes"]]
    assert body["summary"] == {a: actions.count(a) for a in ("create", "update", "replace", "delete")}
    (made,) = [c for c in body["changes"] if c["kind"] == "netns" and c["title"] == "a"]
    assert made["action"] == "create" and made["symbol"] == "+" and made["observed"] is None
    assert {"kind": "netns", "name": "a", "owner": "endpoint/a"}.items() <= made["desired"].items()

    converge(sandbox, path)
    code, body = run_json(sandbox, "plan", str(path), "--detailed-exitcode")
    assert code == 0 and body["changes"] == [] and set(body["summary"].values()) == {0}
    assert_shape("plan", body)

    code, body = run_json(sandbox, "plan", str(two_endpoints(sandbox, "a")), "--detailed-exitcode")
    assert code == 2
    assert_shape("plan", body)
    (gone,) = [c for c in body["changes"] if c["kind"] == "netns"]
    assert gone["action"] == "delete" and gone["title"] == "b" and gone["desired"] is None
    assert gone["observed"]["kind"] == "netns" and any(o["kind"] == "veth" for o in gone["implied"])


def test_status_after_apply_and_after_drift(sandbox):
    path = two_endpoints(sandbox, "a", "b")
    converge(sandbox, path)
    code, body = run_json(sandbox, "status", str(path))
    assert code == 0
    assert_shape("status", body)
    assert {o["state"] for o in body["objects"]} == {"in sync"}
    assert body["lastReconcile"]["result"] == "success" and body["lastReconcile"]["steps"] > 0

    sandbox.sh("ip link set br-front mtu 1400")
    code, body = run_json(sandbox, "status", str(path))
    assert_shape("status", body)
    (drifted,) = [o for o in body["objects"] if o["state"] == "drifted"]
    assert drifted["kind"] == "bridge" and "mtu: 1400 -> 1500" in drifted["detail"]


def test_errors_under_json_are_json_on_stdout_with_exit_1(sandbox):
    good = two_endpoints(sandbox, "a", "b")
    bad = sandbox.write("bad/net.yaml", good.read_text().replace("172.20.0.11", "172.21.0.11"))
    for command in ("plan", "status"):
        code, body = run_json(sandbox, command, str(bad))
        assert code == 1
        assert_shape("error", body)
        assert body["error"]["type"] == "invalid-manifests" and body["error"]["problems"][0]["object"] == "Endpoint/b"

    sandbox.sh("ip link add br-front type bridge")  # not ours, in the way
    code, body = run_json(sandbox, "plan", str(good), "--detailed-exitcode")
    assert code == 1
    assert_shape("error", body)
    assert body["error"]["type"] == "conflict" and "'br-front'" in body["error"]["messages"][0]
    assert body["error"]["problems"] == []


def test_doctor(sandbox):
    code, body = run_json(sandbox, "doctor")
    assert code == 0
    assert_shape("doctor", body)
    assert body["drivers"]["bridge"]["ready"] is True
