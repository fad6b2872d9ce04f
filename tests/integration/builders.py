"""Manifest text builders and small kernel probes shared by the integration tests.

Everything that touches the kernel goes through a `Sandbox` (its own network + mount namespace).
The "outside world" is a namespace made inside the sandbox, on documentation addresses only.
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path
from typing import Any

import yaml
from sandbox import Sandbox

# The uplink towards the outside namespace: host side in the sandbox's root netns.
UPLINK_HOST, UPLINK_OUT = "198.51.100.1", "198.51.100.2"
OUTSIDE = "outside"


def network(name: str, subnet: str | None = None, *, subnets: list[str] | None = None, internal: bool = False,
            icc: bool | None = None, masquerade: bool | None = None, bridge: str | None = None,
            mtu: int | None = None, ip_range: str | None = None) -> dict:
    spec: dict[str, Any] = {"driver": "bridge"}
    if subnets:
        spec["ipam"] = {"subnets": [{"subnet": s} for s in subnets]}
    elif subnet:
        spec["ipam"] = {"subnet": subnet, **({"ipRange": ip_range} if ip_range else {})}
    if internal:
        spec["internal"] = True
    if mtu is not None:
        spec["mtu"] = mtu
    opts = {k: v for k, v in (("name", bridge), ("icc", icc), ("masquerade", masquerade)) if v is not None}
    if opts:
        spec["bridge"] = opts
    return {"apiVersion": "netreconcile/v1", "kind": "Network", "metadata": {"name": name}, "spec": spec}


def iface(network_name: str, ipv4: str | None = None, name: str | None = None) -> dict:
    out: dict[str, Any] = {"network": network_name}
    if name:
        out["name"] = name
    if ipv4:
        out["ipv4Address"] = ipv4
    return out


def endpoint(name: str, *interfaces: dict | str, sysctls: dict | None = None, netns: str | None = None) -> dict:
    spec: dict[str, Any] = {"interfaces": [iface(i) if isinstance(i, str) else i for i in interfaces]}
    if netns:
        spec["netns"] = netns
    if sysctls:
        spec["sysctls"] = sysctls
    return {"apiVersion": "netreconcile/v1", "kind": "Endpoint", "metadata": {"name": name}, "spec": spec}


def text(*docs: dict) -> str:
    """A YAML stream of the documents, in block style (one key per line)."""
    return yaml.safe_dump_all(docs, sort_keys=False, default_flow_style=False)


def write(sandbox: Sandbox, *docs: dict, name: str = "m/net.yaml") -> Path:
    return sandbox.write(name, text(*docs))


def converge(sandbox: Sandbox, path: Path | str, *flags: str) -> str:
    """Apply (with `flags`, e.g. --force), then assert idempotency: `plan --detailed-exitcode` exits 0.
    Returns apply's report."""
    out = sandbox.nr("apply", str(path), *flags).stdout
    code = sandbox.plan_exitcode(path)
    assert code == 0, f"plan after apply exits {code}, not 0:\n{sandbox.nr('plan', str(path), check=False).stdout}"
    return out


def plan(sandbox: Sandbox, path: Path | str) -> tuple[int, str]:
    result = sandbox.nr("plan", str(path), "--detailed-exitcode", check=False)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, result.stdout


def status(sandbox: Sandbox, path: Path | str) -> list[dict]:
    return json.loads(sandbox.nr("status", str(path), "-o", "json").stdout)["objects"]


def host_veth(report: str, netns: str, ifname: str = "eth0") -> str:
    """The host end of the veth into `netns`, as an apply or plan report names it (`veth nr-… <-> NS/IF`)."""
    names = re.findall(rf"veth (\S+) <-> {re.escape(netns)}/{re.escape(ifname)}\b", report)
    assert len(set(names)) == 1, report
    return names[0]


def out(sandbox: Sandbox, command: str) -> str:
    return sandbox.sh(command).stdout


def netns_names(sandbox: Sandbox) -> list[str]:
    return sorted(line.split()[0] for line in out(sandbox, "ip netns list").splitlines())


def ipv4_of(sandbox: Sandbox, ns: str, dev: str = "eth0") -> list[str]:
    """The IPv4 CIDRs on `dev` inside `ns`, sorted."""
    return sorted(line.split()[3] for line in out(sandbox, f"ip -n {ns} -4 -o addr show dev {dev}").splitlines())


def make_outside(sandbox: Sandbox) -> None:
    """An outside host behind an uplink veth: it knows no route back to any container subnet.

    It counts echo requests by source address in its own nft table, so a test can see which source
    address the outside world saw (the sandbox has no tcpdump and we use no conntrack).
    """
    sandbox.sh(
        f"ip netns add {OUTSIDE} && ip -n {OUTSIDE} link set lo up && "
        f"ip link add uplink0 type veth peer name eth0 netns {OUTSIDE} && "
        f"ip addr add {UPLINK_HOST}/24 dev uplink0 && ip link set uplink0 up && "
        f"ip -n {OUTSIDE} addr add {UPLINK_OUT}/24 dev eth0 && ip -n {OUTSIDE} link set eth0 up && "
        f"ip netns exec {OUTSIDE} nft -f - <<'EOF'\n"
        "table ip seen {\n"
        "  chain input {\n"
        "    type filter hook input priority 0; policy accept;\n"
        f"    icmp type echo-request ip saddr {UPLINK_HOST} counter comment \"from-host\"\n"
        f"    icmp type echo-request ip saddr != {UPLINK_HOST} counter comment \"from-other\"\n"
        "  }\n"
        "}\n"
        "EOF"
    )


def outside_seen(sandbox: Sandbox) -> dict[str, int]:
    """Echo requests the outside namespace received: {'from-host': n, 'from-other': n}."""
    listing = json.loads(out(sandbox, f"ip netns exec {OUTSIDE} nft -j list table ip seen"))
    seen = {}
    for item in listing["nftables"]:
        rule = item.get("rule")
        if rule:
            counter = next(e["counter"] for e in rule["expr"] if "counter" in e)
            seen[rule["comment"]] = counter["packets"]
    return seen


# Bridge timers in `ip -d link` count down by themselves: the one part of the output that is not state.
TIMERS = re.compile(r" \w+_timer +[0-9.]+")


def snapshot(sandbox: Sandbox, *commands: str) -> dict[str, str]:
    """Each command's output (stdout and stderr, bridge timers left out), to compare kernel state."""
    results = {c: sandbox.sh(c, check=False) for c in commands}
    return {c: TIMERS.sub("", r.stdout + r.stderr) for c, r in results.items()}


def assert_unchanged(sandbox: Sandbox, before: dict[str, str]) -> None:
    """Run the snapshot's commands again: every output must be byte for byte what it was (diff shown)."""
    after = snapshot(sandbox, *before)
    changed = [
        "".join(difflib.unified_diff(before[c].splitlines(True), after[c].splitlines(True), f"before: {c}", f"after: {c}"))
        for c in before if after[c] != before[c]
    ]
    assert not changed, "\n".join(changed)


def run_fails_cleanly(sandbox: Sandbox, *args: str) -> str:
    """Run netreconcile expecting exit 1 with a plain message (no traceback); returns stderr."""
    result = sandbox.nr(*args, check=False)
    assert result.returncode == 1, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    assert "internal error" not in result.stderr, result.stderr
    return result.stderr


# A LAN for macvlan/ipvlan networks: the host's parent PARENT is a veth into namespace `lan`, where a
# bridge joins it to the router (the gateway address, on the bridge) and to another machine `pc`.
PARENT, ROUTER, PC, HOST_ON_LAN = "eth1", "192.168.60.1", "192.168.60.50", "192.168.60.10"
LAN_SUBNET = "192.168.60.0/24"


def make_lan(sandbox: Sandbox, host_address: bool = True) -> None:
    """The LAN behind PARENT; with `host_address` the host has HOST_ON_LAN on PARENT, as a real host would."""
    sandbox.sh(
        "ip netns add lan && ip -n lan link set lo up && ip -n lan link add lanbr type bridge && "
        "ip -n lan addr add 192.168.60.1/24 dev lanbr && ip -n lan link set lanbr up && "
        f"ip link add {PARENT} type veth peer name lan0 netns lan && ip link set {PARENT} up && "
        "ip -n lan link set lan0 master lanbr up && "
        "ip netns add pc && ip -n pc link set lo up && ip -n lan link add pc0 type veth peer name eth0 netns pc && "
        "ip -n lan link set pc0 master lanbr up && ip -n pc addr add 192.168.60.50/24 dev eth0 && "
        "ip -n pc link set eth0 up"
        + (f" && ip addr add {HOST_ON_LAN}/24 dev {PARENT}" if host_address else "")
    )


def lower_network(name: str, driver: str, subnet: str | None = None, *, subnets: list[dict] | None = None,
                  gateway: str | None = None, **options: Any) -> dict:
    """A macvlan or ipvlan Network; `options` go under spec.<driver> (parent, mode, flag, hostAccess)."""
    spec: dict[str, Any] = {"driver": driver}
    if subnets:
        spec["ipam"] = {"subnets": subnets}
    elif subnet:
        spec["ipam"] = {"subnet": subnet, **({"gateway": gateway} if gateway else {})}
    internal = options.pop("internal", False)
    if internal:
        spec["internal"] = True
    spec[driver] = options
    return {"apiVersion": "netreconcile/v1", "kind": "Network", "metadata": {"name": name}, "spec": spec}


def tcp_echo(sandbox: Sandbox, server_ns: str, address: str, client_ns: str | None, port: int = 7777) -> str:
    """Start a one-shot TCP echo server in `server_ns` on `address`, connect from `client_ns` (None:
    the host) and return what came back ('' when the connection failed)."""
    server = (f"ip netns exec {server_ns} python3 -c \"import socket;s=socket.socket();"
              f"s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(('{address}',{port}));s.listen();"
              "s.settimeout(5);c,_=s.accept();c.sendall(c.recv(64))\" & sleep 0.3; ")
    client = (f"{'ip netns exec ' + client_ns + ' ' if client_ns else ''}python3 -c \"import socket;"
              f"c=socket.create_connection(('{address}',{port}),timeout=2);c.sendall(b'hello-tcp');print(c.recv(64).decode())\"")
    result = sandbox.sh(server + client + "; rc=$?; wait; exit $rc", check=False)
    return result.stdout.strip()
