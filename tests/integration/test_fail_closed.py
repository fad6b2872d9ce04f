"""Fail closed: an apply, a destroy or a prune killed (-9) after any step leaves no path the manifests
forbid, checked with real traffic at each moment; and a table inet netreconcile that is not ours (no
marker) is refused and left exactly as it is, while ours from an earlier run is recognised."""

from __future__ import annotations

import json
import re

from builders import (
    OUTSIDE,
    UPLINK_OUT,
    assert_unchanged,
    converge,
    endpoint,
    iface,
    make_outside,
    network,
    out,
    outside_seen,
    run_fails_cleanly,
    snapshot,
    write,
)

# Two isolated networks, one internal, and (in the prune) one that replaces two of them.
NETWORKS = {"a": ("172.20.0.0/24", False), "b": ("172.21.0.0/24", False), "c": ("172.22.0.0/24", True),
            "d": ("172.23.0.0/24", False)}
ENDPOINTS = {"a1": "a", "b1": "b", "c1": "c", "d1": "d"}
INTERNAL = "c"
OUTSIDE_ROUTE = "172.16.0.0/12"  # the outside world's route to every container subnet, through the host


def address(ep: str) -> str:
    return NETWORKS[ENDPOINTS[ep]][0].replace(".0/24", ".10")


def manifests(sandbox, *names: str, name: str = "m/net.yaml"):
    nets = [network(n, NETWORKS[n][0], internal=NETWORKS[n][1]) for n in names]
    eps = [endpoint(ep, iface(n, address(ep))) for ep, n in ENDPOINTS.items() if n in names]
    return write(sandbox, *nets, *eps, name=name)


def forbidden_flows() -> list[tuple[str, str]]:
    """(from, to) of every flow the manifests forbid: between networks, out of the internal one, and
    from the outside straight to an endpoint."""
    flows = [(src, address(dst)) for src in ENDPOINTS for dst in ENDPOINTS if ENDPOINTS[src] != ENDPOINTS[dst]]
    flows.append((f"{INTERNAL}1", UPLINK_OUT))
    return flows + [(OUTSIDE, address(ep)) for ep in ENDPOINTS]


def watch_forbidden(sandbox) -> None:
    """The outside world, with a route back to the container subnets, and a probe table in the host
    counting every forwarded packet of a forbidden flow that got past the firewall (forward hook, after
    our priority 0): a request that passes is counted even when its reply is dropped."""
    make_outside(sandbox)
    sandbox.sh(f"ip -n {OUTSIDE} route add {OUTSIDE_ROUTE} via 198.51.100.1")
    bridges = [f"br-{n}" for n in NETWORKS]
    rules = [f'iifname "br-{n}" oifname != "br-{n}" oifname != "uplink0" counter comment "{n} to another network"'
             for n in NETWORKS]
    rules.append(f'iifname "br-{INTERNAL}" oifname "uplink0" counter comment "{INTERNAL} (internal) to the outside"')
    rules.append(f'iifname "uplink0" oifname {{ {", ".join(json.dumps(b) for b in bridges)} }} ct state new '
                 'counter comment "outside straight in"')
    body = "\n".join(f"    {r}" for r in rules)
    sandbox.sh("nft -f - <<'EOF'\ntable inet probe {\n  chain forward {\n"
               f"    type filter hook forward priority 10; policy accept;\n{body}\n  }}\n}}\nEOF")


def forbidden_traffic(sandbox) -> list[str]:
    """Send every forbidden flow at once, from the endpoints that exist now (the internal one given a
    default route by hand, as a careless user would); what got through: replies, and what the probe
    table and the outside world counted meanwhile."""
    sandbox.sh(f"ip -n {INTERNAL}1 route replace default via {NETWORKS[INTERNAL][0].replace('.0/24', '.1')}", check=False)
    before = counted(sandbox)
    pings = " ".join(f"(ip netns exec {src} ping -n -q -c 1 -W 0.3 {dst} >/dev/null 2>&1 && echo 'reply {src} -> {dst}') &"
                     for src, dst in forbidden_flows())
    replies = [line for line in sandbox.sh(f"{pings} wait", check=False).stdout.splitlines() if line]
    after = counted(sandbox)
    return replies + [f"{what}: {after[what] - before[what]} packet(s)" for what in after if after[what] > before[what]]


def counted(sandbox) -> dict[str, int]:
    """Packets so far of each forbidden flow past the firewall, and echo requests the outside received
    from anything but the host's own address (nft 1.0.6 cannot reset a rule's counter)."""
    listing = json.loads(out(sandbox, "nft -j list table inet probe"))
    rules = [item["rule"] for item in listing["nftables"] if "rule" in item]
    seen = {r["comment"]: next(e["counter"]["packets"] for e in r["expr"] if "counter" in e) for r in rules}
    return seen | {"the outside got echo requests from an endpoint": outside_seen(sandbox)["from-other"]}


def plan_steps(sandbox, path) -> list[str]:
    text = sandbox.nr("plan", str(path)).stdout
    return [line.strip() for line in text.splitlines() if re.match(r"  (-/\+|[-+~]) ", line)]


def killed(sandbox, k: int, *args: str) -> None:
    result = sandbox.sh(f"NETRECONCILE_TEST_KILL_AFTER_STEP={k} python3 -m reconciler {' '.join(args)}", check=False)
    assert result.returncode in (-9, 137), (k, result.returncode, result.stdout, result.stderr)


def allowed_traffic_flows(sandbox) -> None:
    """What the manifests allow still flows once converged: the checks above can see traffic."""
    assert sandbox.ping("a1", "172.20.0.1")
    assert sandbox.ping("a1", UPLINK_OUT)  # masqueraded out
    assert sandbox.ping("c1", "172.22.0.1")


def test_an_apply_killed_after_any_step_leaves_isolated_and_internal_networks_closed(sandbox):
    watch_forbidden(sandbox)
    path = manifests(sandbox, "a", "b", "c")
    forwarding_off = "sysctl -qw net.ipv4.ip_forward=0"  # destroy leaves it on: each round runs the same plan
    sandbox.sh(forwarding_off)
    steps = plan_steps(sandbox, path)
    assert len(steps) >= 20 and any("ip_forward" in step for step in steps), steps
    for k in range(1, len(steps) + 1):
        killed(sandbox, k, "apply", str(path))
        leaks = forbidden_traffic(sandbox)
        assert not leaks, f"killed after step {k} ({steps[k - 1]}): {leaks}"
        sandbox.nr("destroy", str(path))
        sandbox.sh(forwarding_off)
    converge(sandbox, path)
    allowed_traffic_flows(sandbox)
    assert not forbidden_traffic(sandbox)


def test_a_destroy_killed_after_any_step_leaves_no_network_open(sandbox):
    watch_forbidden(sandbox)
    path = manifests(sandbox, "a", "b", "c")
    converge(sandbox, path)
    report = sandbox.nr("destroy", str(path)).stdout
    steps = sum(map(int, re.search(r"Destroy complete: (\d+) deleted, (\d+) updated", report).groups()))
    assert steps >= 4, report
    for k in range(1, steps + 1):
        sandbox.nr("apply", str(path))
        killed(sandbox, k, "destroy", str(path))
        leaks = forbidden_traffic(sandbox)
        assert not leaks, f"destroy killed after step {k}: {leaks}"


def test_pruning_networks_killed_after_any_step_keeps_their_links_guarded(sandbox):
    """Networks b and c (internal) go and d comes: the table is written first with d's rules and b's and
    c's still in, and only at the end without them."""
    watch_forbidden(sandbox)
    before = manifests(sandbox, "a", "b", "c")
    after = manifests(sandbox, "a", "d", name="m2/net.yaml")
    steps = pruned_at_every_step(sandbox, before, after)
    assert steps[0].startswith("~ nft table") and steps[-1].startswith("~ nft table"), steps
    converge(sandbox, after, "--force")
    assert sandbox.ping("d1", "172.23.0.1") and sandbox.ping("d1", UPLINK_OUT)
    assert not forbidden_traffic(sandbox)


def test_pruning_every_network_removes_the_table_only_after_their_links(sandbox):
    watch_forbidden(sandbox)
    before = manifests(sandbox, "a", "b", "c")
    empty = sandbox.workdir / "empty"
    empty.mkdir()
    steps = pruned_at_every_step(sandbox, before, empty, "--allow-empty")
    assert steps[-1].startswith("- nft table"), steps


def pruned_at_every_step(sandbox, before, after, *flags: str) -> list[str]:
    """Apply `after` over `before`, killed after each step in turn: at each moment, nothing forbidden
    passes. Returns the plan's steps."""
    converge(sandbox, before)
    steps = plan_steps(sandbox, after)
    for k in range(1, len(steps) + 1):
        killed(sandbox, k, "apply", "--force", *flags, str(after))
        leaks = forbidden_traffic(sandbox)
        assert not leaks, f"killed after step {k} ({steps[k - 1]}): {leaks}"
        sandbox.nr("apply", "--force", str(before))
    return steps


HAND_MADE = """table inet netreconcile {
  chain forward {
    type filter hook forward priority 0; policy accept;
    iifname "eth9" counter drop comment "made by hand"
  }
  chain extra {
    ip saddr 192.0.2.0/24 counter accept
  }
}
"""
STATE = ("nft -j list ruleset", "nft list ruleset", "ip -d link", "ip -d addr", "ip netns list")


def test_a_hand_made_table_of_our_name_is_refused_and_left_byte_identical(sandbox):
    sandbox.sh(f"nft -f - <<'EOF'\n{HAND_MADE}EOF")
    path = manifests(sandbox, "a")
    before = snapshot(sandbox, *STATE)
    for command in ("plan", "apply"):
        err = run_fails_cleanly(sandbox, command, str(path))
        assert "table inet netreconcile already exists and is not managed by netreconcile" in err, err
        assert_unchanged(sandbox, before)
    sandbox.nr("destroy", str(path))  # nothing of ours to destroy: the table is not ours either
    assert_unchanged(sandbox, before)


def test_the_transaction_itself_will_not_replace_or_delete_a_table_without_our_marker(sandbox):
    """Between observe and write a table can be swapped for a hand-made one: the nft transaction checks
    the marker in the kernel, and fails whole."""
    sandbox.sh(f"nft -f - <<'EOF'\n{HAND_MADE}EOF")
    before = snapshot(sandbox, "nft -j list ruleset")
    for write_call in ("nft.write_table(None)", "nft.write_table(nft.NftTable.of([], []))",
                       "nft.write_table(nft.NftTable.of([], []), existing=False)"):
        result = sandbox.sh(f"python3 -c 'from reconciler.kernel import nft; {write_call}'", check=False)
        assert result.returncode != 0 and "nft transaction failed" in result.stderr, (write_call, result.stderr)
        assert_unchanged(sandbox, before)


def test_our_table_from_an_earlier_run_is_ours_and_an_unmarked_one_needs_marking_by_hand(sandbox):
    """An earlier run's table carries the marker: apply recognises it (nothing to do). A table written
    before the marker existed cannot be told from a hand-made one: refused until marked by hand, as the
    message says; then it is ours again."""
    path = manifests(sandbox, "a", "b")
    converge(sandbox, path)
    assert "chain managed-by-netreconcile" in out(sandbox, "nft list table inet netreconcile")
    assert "No changes" in sandbox.nr("apply", str(path)).stdout
    sandbox.sh("nft delete chain inet netreconcile managed-by-netreconcile")  # as an older netreconcile wrote it
    before = snapshot(sandbox, *STATE)
    err = run_fails_cleanly(sandbox, "apply", str(path))
    assert_unchanged(sandbox, before)
    mark = re.search(r"\((nft add chain inet netreconcile managed-by-netreconcile)\)", err).group(1)
    sandbox.sh(mark)
    assert "No changes" in sandbox.nr("apply", str(path)).stdout
    sandbox.nr("destroy", str(path))
    assert "netreconcile" not in out(sandbox, "nft list tables")
