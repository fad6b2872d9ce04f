"""The resolver's document planned again and again (planners/dns.py DnsPlanner, kept by the watch's
Planner): one endpoint more makes again its pieces and its network's alone, and whatever the change, the
document is the one a fresh plan writes (DnsState.to_json) and its digest is of it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

import reconciler.planners.dns as dns
from reconciler.input.ipam import allocate
from reconciler.input.manifest import load_text
from reconciler.input.spec import Endpoint, Manifests
from reconciler.input.spec.parse import parse_host, parse_service
from reconciler.model.dns import DnsState, Resolver, digest_of
from unit import helpers
from unit.helpers import endpoint, network

API = "apiVersion: netreconcile/v1\n"
NETS = network("a", "{subnet: 10.0.0.0/24}") + network("b", "{subnet: 10.1.0.0/24}")
EPS = "".join(endpoint(f"e{i}", f"[{{network: {'ab'[i % 2]}}}]") for i in range(6))
SERVICE = (f"{API}kind: Service\nmetadata: {{name: web}}\nspec: {{network: a, selector: {{app: web}}, "
           "ports: [{port: 80}]}\n---\n")
LABELLED = f"{API}kind: Endpoint\nmetadata: {{name: w1, labels: {{app: web}}}}\nspec: {{interfaces: [{{network: a}}]}}\n---\n"


def parse(text: str) -> Manifests:
    """As helpers.parse, with the Services."""
    services = tuple(parse_service(d) for d in load_text(text, "test.yaml") if d.kind == "Service")
    return replace(helpers.parse(text), services=services)


def planned(planner: dns.DnsPlanner, m: Manifests) -> Resolver | None:
    return planner.resolver(m, allocate(m, {}))


def fresh(m: Manifests) -> str:
    return dns.dns_state(m, allocate(m, {})).to_json()


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the planner makes again: networks' names, networks' and askers' entries in the document."""
    out: list[str] = []
    network_of, entry_of, grown, asker_entry = dns.network_of, dns.entry_of, dns.grown, dns.asker_entry
    monkeypatch.setattr(dns, "network_of", lambda *a: out.append("names") or network_of(*a))
    monkeypatch.setattr(dns, "entry_of", lambda name, v: out.append(f"network {name}") or entry_of(name, v))
    monkeypatch.setattr(dns, "grown", lambda e, name, *a: out.append(f"network {name} grown") or grown(e, name, *a))
    monkeypatch.setattr(dns, "asker_entry", lambda name, v: out.append(f"asker {name}") or asker_entry(name, v))
    return out


def test_one_endpoint_more_makes_its_pieces_and_its_networks_alone(made: list[str]) -> None:
    planner = dns.DnsPlanner()
    planned(planner, parse(NETS + EPS))
    made.clear()
    more = parse(NETS + EPS + endpoint("e9", "[{network: b}]"))

    resolver = planned(planner, more)

    assert sorted(made) == ["asker e9", "names", "network b"]
    assert resolver is not None and resolver.state == fresh(more) and resolver.digest == digest_of(resolver.state)


def test_a_network_kept_whole_keeps_its_members_names_for_when_it_is_made_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """Network b kept whole for two plans (its families the very same dicts), then one endpoint more on
    it: only that endpoint's names are made, not those of every member of b again."""
    m = parse(NETS + EPS)
    families = {(n.name, v): {} for n in m.networks for v in (4, 6)}
    planner = dns.DnsPlanner()
    for _ in range(3):
        planner.resolver(m, allocate(m, {}), families)
        families[("a", 4)] = {}  # network a made again each time, b kept
    made: list[str] = []
    member_names = dns.member_names
    monkeypatch.setattr(dns, "member_names", lambda ep, net, *a: made.append(ep.name) or member_names(ep, net, *a))
    for memo in planner._members.values():
        memo.function = dns.member_names
    more = parse(NETS + EPS + endpoint("e9", "[{network: b}]"))
    families[("b", 4)] = {}

    resolver = planner.resolver(more, allocate(more, {}), families)

    assert made == ["e9"] and resolver is not None and resolver.state == fresh(more)


def test_a_network_kept_whole_keeps_its_names_for_when_its_families_change_alone(made: list[str]) -> None:
    """Network b kept whole for two plans, then its family another dict of the same addresses (the
    kernel holding what was allocated): its names are not made again, nor its members'."""
    m = parse(NETS + EPS)
    families = {(n.name, v): {} for n in m.networks for v in (4, 6)}
    planner = dns.DnsPlanner()
    for _ in range(3):
        planner.resolver(m, allocate(m, {}), families)
        families[("a", 4)] = {}
    made.clear()
    families[("b", 4)] = {}

    resolver = planner.resolver(m, allocate(m, {}), families)

    assert made == [] and resolver is not None and resolver.state == fresh(m)


@pytest.mark.parametrize("changed", [
    NETS + EPS.replace("[{network: a}]", "[{network: a, aliases: [db]}]", 1),  # an alias of e0
    NETS.replace("ipam: {subnet: 10.0.0.0/24}", "ipam: {subnet: 10.0.0.0/24}\n  dns: {ttl: 60}") + EPS,  # a's ttl
    NETS.replace("ipam: {subnet: 10.0.0.0/24}", "ipam: {subnet: 10.0.0.0/24}\n  dns: {servers: [1.1.1.1]}") + EPS,  # a's askers
    NETS + EPS + SERVICE + LABELLED,  # a Service and its backend
    NETS + EPS.replace("[{network: b}]", "[{network: a}]", 1),  # e1 moved to a
    NETS + "".join(endpoint(f"e{i}", "[{network: a}, {network: b}]") for i in range(6)),  # every asker on both
    NETS + EPS.replace(endpoint("e3", "[{network: b}]"), ""),  # e3 gone
])
def test_whatever_changes_the_document_is_the_one_a_fresh_plan_writes(changed: str) -> None:
    planner = dns.DnsPlanner()
    before = planned(planner, parse(NETS + EPS))
    m = parse(changed)
    after = planned(planner, m)
    assert after is not None and before is not None and after.state != before.state
    assert after.state == fresh(m) and after.digest == digest_of(after.state)
    assert ("web" in after.state) == ("Service" in changed)
    assert after.serving == tuple(sorted(DnsState.from_json(after.state).askers))
    assert planned(planner, parse(NETS + EPS)) == before


def test_one_endpoint_more_looks_at_that_endpoint_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same endpoint objects planned again keep their views (networks, asker's entry): the endpoint
    added is the only one whose networks are looked up, and the document is a fresh plan's."""
    m = parse(NETS + EPS)
    planner = dns.DnsPlanner()
    planned(planner, m)
    looked: list[str] = []
    networks_of = dns._networks_of
    monkeypatch.setattr(dns, "_networks_of", lambda ep: looked.append(ep.name) or networks_of(ep))
    more = replace(m, endpoints=(*m.endpoints, parse(endpoint("e9", "[{network: b}]")).endpoints[0]))

    resolver = planned(planner, more)

    assert looked == ["e9"] and resolver is not None and resolver.state == fresh(more)


def test_a_network_whose_families_are_allocated_again_alike_is_kept_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every family another dict of the same addresses (a family allocated again, as the kernel came to
    hold what was allocated): no member's address is looked up again, and the document is a fresh plan's."""
    m = parse(NETS + EPS)
    families = {(n.name, v): {(n.name,): v} for n in m.networks for v in (4, 6)}
    planner = dns.DnsPlanner()
    planner.resolver(m, allocate(m, {}), families)
    looked: list[str] = []
    address_of = dns.address_of
    monkeypatch.setattr(dns, "address_of", lambda a, ep, net, v: looked.append(ep.name) or address_of(a, ep, net, v))

    resolver = planner.resolver(m, allocate(m, {}), {k: dict(v) for k, v in families.items()})

    assert looked == [] and resolver is not None and resolver.state == fresh(m)


def test_no_asker_no_resolver() -> None:
    assert planned(dns.DnsPlanner(), parse(NETS)) is None


def kept_then_changed(m: Manifests, changed: Manifests) -> tuple[Resolver | None, Resolver | None]:
    """`changed` planned by a DnsPlanner that planned `m` with the same families (the very same dicts,
    as the Planner gives while an allocation is kept), and by a fresh one."""
    families = {(n.name, 4): {} for n in m.networks}
    planner = dns.DnsPlanner()
    planner.resolver(m, allocate(m, {}), families)
    return planner.resolver(changed, allocate(changed, {}), families), dns.DnsPlanner().resolver(changed, allocate(changed, {}))


def test_a_network_kept_by_its_families_is_made_again_when_one_of_its_endpoints_differs() -> None:
    m = parse(NETS + EPS)
    alias = parse(endpoint("e1", "[{network: b, aliases: [www]}]")).endpoints[0]
    changed = replace(m, endpoints=tuple(alias if e.name == "e1" else e for e in m.endpoints))

    kept, fresh = kept_then_changed(m, changed)

    assert kept == fresh and kept is not None and '"www"' in kept.state


def test_a_network_kept_by_its_families_is_made_again_on_another_host() -> None:
    hosts = "".join(f"{API}kind: Host\nmetadata: {{name: {h}}}\nspec: {{underlay: {{address: 10.10.0.{i}}}}}\n---\n"
                    for i, h in enumerate(("h1", "h2"), 1))
    text = NETS + EPS.replace("spec:\n  interfaces", "spec:\n  host: h1\n  interfaces") + endpoint("z", "[{network: a}]").replace(
        "spec:\n  interfaces", "spec:\n  host: h2\n  interfaces")
    parsed = parse(text)
    m = replace(parsed, hosts=tuple(parse_host(d) for d in load_text(hosts, "hosts.yaml")), host="h1")

    kept, fresh = kept_then_changed(m, replace(m, host="h2"))

    assert kept == fresh and kept is not None and "e1" not in kept.state


def test_a_network_gone_takes_its_members_names_with_it() -> None:
    """What is kept of each network's members lasts while the network is planned: a watch that saw
    network b go keeps nothing of its members."""
    planner = dns.DnsPlanner()
    planned(planner, parse(NETS + EPS))
    assert set(planner._members) == {"a", "b"}
    planned(planner, parse(network("a", "{subnet: 10.0.0.0/24}") + EPS.replace("network: b", "network: a")))
    assert set(planner._members) == {"a"}


def by_family(m: Manifests) -> tuple[dict[tuple[str, int], object], dict[tuple[str, str, int], object]]:
    """An allocation of `m`, and its addresses by network and family (as the Planner gives them)."""
    addresses = allocate(m, {})
    families: dict[tuple[str, int], dict[object, object]] = {(n.name, v): {} for n in m.networks for v in (4, 6)}
    for key, address in addresses.items():
        families[key[1:]][key] = address
    return dict(families), dict(addresses)


def test_one_endpoint_more_adds_its_names_to_its_network_kept(made: list[str]) -> None:
    """One endpoint more on b, with b's other members' addresses the same: b's names are those kept
    with the endpoint's added (not made again of every member), its entry in the document the one kept
    with them written in, and the document is a fresh plan's."""
    m = parse(NETS + EPS)
    planner = dns.DnsPlanner()
    families, addresses = by_family(m)
    planner.resolver(m, addresses, families)
    more = replace(m, endpoints=(*m.endpoints, parse(endpoint("e9", "[{network: b, aliases: [e1, x]}]")).endpoints[0]))
    _, added = by_family(more)
    new_families = {k: {**v, **{a: b for a, b in added.items() if a[0] == "e9" and a[1:] == k}} for k, v in families.items()}
    made.clear()

    resolver = planner.resolver(more, {**addresses, **added}, new_families)

    assert sorted(made) == ["asker e9", "network b grown"] and resolver is not None and resolver.state == fresh(more)
    assert '"x":[' in resolver.state


E9, E8 = (parse(NETS + endpoint("e9", "[{network: b, aliases: [e1]}]") + endpoint("e8", "[{network: a}, {network: b}]"))
          .endpoints)


@pytest.mark.parametrize("changed", [
    lambda eps: (E9, *eps),  # e9 first: b's members other addresses
    lambda eps: (*(e for e in eps if e.name != "e3"), E9),  # e3 gone, e9 added
    lambda eps: (*eps[:2], E8, *eps[2:], E9),  # e8 on both networks, e9 with e1's name as an alias
])
def test_with_its_families_a_network_with_members_added_is_a_fresh_plans(changed: Callable[[tuple[Endpoint, ...]], tuple[Endpoint, ...]]) -> None:
    m = parse(NETS + EPS)
    planner = dns.DnsPlanner()
    planner.resolver(m, *reversed(by_family(m)))
    more = replace(m, endpoints=changed(m.endpoints))
    families, addresses = by_family(more)
    kept = planner.resolver(more, addresses, families)
    assert kept is not None and kept.state == fresh(more) and kept.digest == digest_of(kept.state)
