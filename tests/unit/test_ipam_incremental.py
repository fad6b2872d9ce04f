"""Allocation in proportion to what changed (ipam.Allocations, behind the watch's allocate_family): a
family allocated again, its last allocation at hand, gets exactly what a fresh allocation gives whatever
changed (an endpoint more or less, an address moved or dropped in the kernel, a static address on a
held one, a subnet changed), and is not allocated afresh for an endpoint more, nor when the kernel
holds the addresses it was given."""

from __future__ import annotations

import random
from ipaddress import IPv4Address, ip_address, ip_network
from pathlib import Path
from typing import Any

import pytest

import reconciler.input.ipam as ipam
from reconciler.input.ipam import Allocations, allocate_family
from reconciler.input.spec import IPAddress, Network
from reconciler.planning.plan import Observed
from unit.helpers import endpoint, network, parse
from unit.test_planner_incremental import endpoint as endpoint_file
from unit.test_planner_incremental import kept_planner, planned, write

DUAL = "{subnets: [{subnet: 10.9.0.0/%d}, {subnet: 'fd00:9::/%d'}]}"
SMALL = network("front", DUAL % (27, 123), "  enableIPv6: true\n")  # 29 and 30 addresses to give: misses too
WIDER = network("front", DUAL % (26, 122), "  enableIPv6: true\n")
STATIC = {"s0": ("10.9.0.5", "fd00:9::5"), "s1": ("10.9.0.17", "fd00:9::11"), "s2": ("10.9.0.29", "fd00:9::1d"),
          "s3": ("10.9.0.40", "fd00:9::28"), "s4": ("10.9.0.9", "fd00:9::9")}
NAMES = [f"d{i:02d}" for i in range(36)]
M = parse(SMALL + WIDER + "".join(endpoint(n, "[{network: front}]") for n in NAMES) + "".join(
    endpoint(n, f"[{{network: front, ipv4Address: {v4}, ipv6Address: '{v6}'}}]") for n, (v4, v6) in STATIC.items()))
PAIRS = M.attached("front")  # every endpoint's interface, in manifest order: each step's are some of them


def attached(present: set[str]) -> ipam.Attached:
    return tuple(p for p in PAIRS if p[0].name in present)


@pytest.fixture
def afresh(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The networks allocated afresh (by _allocate_family), in order."""
    calls: list[str] = []
    real = ipam._allocate_family
    monkeypatch.setattr(ipam, "_allocate_family", lambda network, *rest: calls.append(network.name) or real(network, *rest))
    return calls


def held_as_given(given: dict[ipam.AllocKey, IPAddress]) -> dict[ipam.AllocKey, IPAddress]:
    """What the kernel holds once it gives each interface its address: the same addresses, other objects."""
    return {key: ip_address(str(address)) for key, address in given.items()}


def test_one_endpoint_more_is_added_to_the_last_allocation_alone(afresh: list[str]) -> None:
    network, kept = M.networks[0], Allocations()
    present = set(NAMES[:20])
    given, _ = kept(network, 4, attached(present), {})
    kernel = held_as_given(given)
    assert kept(network, 4, attached(present), kernel)[0] is given
    afresh.clear()

    for name in ("s0", "d25", "d21"):  # a static address no one holds, then after every other one, among them
        present.add(name)
        more = kept(network, 4, attached(present), kernel)
        assert afresh == [] and more == allocate_family(network, 4, attached(present), kernel)
        afresh.clear()
        kernel = held_as_given(more[0])
        assert kept(network, 4, attached(present), kernel)[0] is more[0] and afresh == []  # held as given


def test_the_kernel_holding_the_addresses_given_keeps_the_very_same_allocation(afresh: list[str]) -> None:
    network, kept = M.networks[0], Allocations()
    given = kept(network, 6, attached(set(NAMES[:10])), {})[0]
    held = held_as_given(given)
    for some in (dict(list(held.items())[:4]), held):  # the kernel holding some of them, then all
        assert kept(network, 6, attached(set(NAMES[:10])), some)[0] is given
    assert afresh == [network.name]


def test_what_would_move_an_endpoint_is_allocated_afresh(afresh: list[str]) -> None:
    """A static address added on the one a held endpoint has: that endpoint moves, as afresh."""
    network, kept = M.networks[0], Allocations()
    present = set(NAMES[:28])
    kernel = held_as_given(kept(network, 4, attached(present), {})[0])
    holder = next(key for key, address in kernel.items() if str(address) == STATIC["s1"][0])
    afresh.clear()

    present.add("s1")
    got = kept(network, 4, attached(present), kernel)

    assert afresh == [network.name] and got == allocate_family(network, 4, attached(present), kernel)
    assert got[0][holder] != kernel[holder]


@pytest.mark.parametrize("change", ["endpoint removed", "address drifted", "address dropped", "subnet changed"])
def test_each_change_gives_what_a_fresh_allocation_gives(change: str) -> None:
    network, kept = M.networks[0], Allocations()
    present = set(NAMES[:20]) | {"s0"}
    kernel = held_as_given(kept(network, 4, attached(present), {})[0])
    key = ("d07", "front", 4)
    if change == "endpoint removed":
        present.discard("d07")
        del kernel[key]
    elif change == "address drifted":
        kernel[key] = ip_address("10.9.0.30")
    elif change == "address dropped":
        del kernel[key]
    else:
        network = M.networks[1]

    got = kept(network, 4, attached(present), kernel)
    assert got == allocate_family(network, 4, attached(present), kernel)


def test_an_endpoint_twice_on_the_network_gives_what_a_fresh_allocation_gives() -> None:
    """Two interfaces under one key (an endpoint twice on the network): of the two addresses found, the
    one kept, as afresh; the other free for the endpoints added after it, as afresh."""
    twice = parse(SMALL + endpoint("t0", "[{network: front, name: eth0}, {network: front, name: eth1}]")
                  + "".join(endpoint(n, "[{network: front}]") for n in NAMES[:24]))
    network, pairs, kept, kernel = twice.networks[0], twice.attached("front"), Allocations(), {}
    for end in range(2, len(pairs) + 1):  # one endpoint more at a time, the kernel holding what was given
        got = kept(network, 4, pairs[:end], kernel)
        assert got == allocate_family(network, 4, pairs[:end], kernel)
        kernel = held_as_given(got[0])


OPS = {"add": 4, "add some": 1, "remove": 1, "converge": 6, "drift": 1, "drop": 1, "subnet": 1, "none": 1}


@pytest.mark.parametrize("seed", range(80))
def test_a_run_of_changes_allocates_as_afresh_at_every_step(seed: int) -> None:
    """Random changes on a small subnet (collisions, a full pool), each family allocated again after
    each one: what a fresh allocation of the same interfaces and held addresses gives, every time."""
    rng, kept = random.Random(seed), Allocations()
    present, kernel, wide = set(rng.sample(sorted(PAIRS_NAMES), 4)), dict[ipam.AllocKey, IPAddress](), False
    for _ in range(50):
        op = rng.choices(list(OPS), list(OPS.values()))[0]
        absent = sorted(PAIRS_NAMES - present)
        if op.startswith("add") and absent:
            present.update(rng.sample(absent, min(len(absent), rng.randint(2, 4) if op == "add some" else 1)))
        elif op == "remove" and present:
            present.discard(rng.choice(sorted(present)))
        elif op == "drift" and kernel:
            key = rng.choice(sorted(kernel))
            kernel[key] = ip_address(str(rng.choice(list(ip_network("10.9.0.0/26" if key[2] == 4 else "fd00:9::/122")))))
        elif op == "drop" and kernel:
            del kernel[rng.choice(sorted(kernel))]
        elif op == "subnet":
            wide = not wide
        network = M.networks[wide]
        given: dict[ipam.AllocKey, IPAddress] = {}
        for version in (4, 6):
            held = {k: a for k, a in kernel.items() if k[0] in present and k[2] == version}  # the family's: the Planner's way
            got = kept(network, version, attached(present), held)
            assert got == allocate_family(network, version, attached(present), held), (op, version)
            given |= got[0]
        if op == "converge":
            kernel = held_as_given(given)


PAIRS_NAMES = {e.name for e, _ in PAIRS}


# The watch's Planner: each family asked for only when what it is made of differs (its Memo), and then
# allocated in proportion to what changed.

class _Asked:
    """The families a Planner's Allocations were asked for, and what each gave."""

    def __init__(self) -> None:
        self.asked = list[tuple[str, object]]()


def _watched(monkeypatch: pytest.MonkeyPatch) -> tuple[_Asked, list[str]]:
    """The families asked for (those whose network, interfaces or held addresses differ from the
    Planner's last), and the networks allocated afresh."""
    asked, afresh, real, call = _Asked(), list[str](), ipam._allocate_family, Allocations.__call__

    def noted(self: Allocations, network: Network, *rest: Any) -> ipam.Given:
        given = call(self, network, *rest)
        asked.asked.append((network.name, given[0]))
        return given

    monkeypatch.setattr(Allocations, "__call__", noted)
    monkeypatch.setattr(ipam, "_allocate_family", lambda network, *rest: afresh.append(network.name) or real(network, *rest))
    return asked, afresh


def test_one_endpoint_more_allocates_its_networks_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each family of each network is allocated again only when what it is made of changed: one more
    endpoint on network a asks for a's family alone; b's is the one kept. And a's is not allocated
    afresh: the new endpoint is given its address around those the kernel holds, as afresh."""
    cache, planner, _, held = kept_planner(tmp_path)
    asked, afresh = _watched(monkeypatch)

    write(tmp_path, {"e5.yaml": endpoint_file("e5", "[{network: a}]")})
    planned(cache.load([str(tmp_path)]), held, planner)

    assert [name for name, _ in asked.asked] == ["a"] and afresh == []


def test_the_kernel_holding_one_endpoint_more_allocates_no_family_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each family is allocated with the addresses the kernel holds in it alone: once the kernel holds
    the endpoint added on network a (its address there), b's family is not asked for, and a's, which
    holds every address as given, is the very same allocation (the planners downstream reuse by it)."""
    cache, planner, _, held = kept_planner(tmp_path)
    write(tmp_path, {"e5.yaml": endpoint_file("e5", "[{network: a}]")})
    more = cache.load([str(tmp_path)])
    asked, afresh = _watched(monkeypatch)
    _, desired = planned(more, held, planner)
    (_, given), = asked.asked
    asked.asked.clear()

    kept = planned(more, Observed({o.key: o for o in desired}), planner)  # the kernel, converged

    assert asked.asked == [("a", given)] and asked.asked[0][1] is given and afresh == []
    assert not kept[0].steps  # type: ignore[attr-defined]


def test_a_plan_once_the_kernel_holds_one_endpoint_more_compares_no_address_in_python(tmp_path: Path,
                                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The addresses allocation gives and those the kernel is found holding are the same objects
    (ipam.address_of): what is compared of them is compared by identity, not by IPv4Address.__eq__."""
    cache, planner, _, held = kept_planner(tmp_path)
    write(tmp_path, {"e5.yaml": endpoint_file("e5")})
    more = cache.load([str(tmp_path)])
    _, desired = planned(more, held, planner)
    compared, real = list[object](), IPv4Address.__eq__
    monkeypatch.setattr(IPv4Address, "__eq__", lambda a, b: compared.append(a) or real(a, b))

    kept = planned(more, Observed({o.key: o for o in desired}), planner)

    assert compared == [] and not kept[0].steps  # type: ignore[attr-defined]
