BASIC = """\
apiVersion: netreconcile/v1
kind: Network
metadata: {name: front}
spec:
  driver: bridge
  ipam: {subnet: 172.20.0.0/24}
---
apiVersion: netreconcile/v1
kind: Endpoint
metadata: {name: a}
spec:
  interfaces: [{network: front, ipv4Address: 172.20.0.10}]
---
apiVersion: netreconcile/v1
kind: Endpoint
metadata: {name: b}
spec:
  interfaces: [{network: front, ipv4Address: 172.20.0.11}]
"""


def test_apply_then_endpoints_ping_each_other_and_second_plan_is_empty(sandbox):
    path = sandbox.write("m/net.yaml", BASIC)
    sandbox.apply(path)
    assert sandbox.ping("a", "172.20.0.11")
    assert sandbox.ping("b", "172.20.0.1")
    assert sandbox.plan_exitcode(path) == 0
