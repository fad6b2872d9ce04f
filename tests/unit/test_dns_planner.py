"""The resolver's document planned again and again (planners/dns.py DnsPlanner, kept by the watch's
Planner): one endpoint more makes again its pieces and its network's alone, and whatever the change, the
document is the one a fresh plan writes (DnsState.to_json) and its digest is of it."""

from __future__ import annotations

from dataclasses import replace

import pytest

import reconciler.planners.dns as dns
from reconciler.input.ipam import allocate
from reconciler.input.manifest import load_text
from reconciler.input.spec import Manifests
from reconciler.input.spec.parse import parse_service
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
    network_of, network_entry, asker_entry = dns.network_of, dns.network_entry, dns.asker_entry
    monkeypatch.setattr(dns, "network_of", lambda *a: out.append("names") or network_of(*a))
    monkeypatch.setattr(dns, "network_entry", lambda name, v: out.append(f"network {name}") or network_entry(name, v))
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


@pytest.mark.parametrize("changed", [
    NETS + EPS.replace("[{network: a}]", "[{network: a, aliases: [db]}]", 1),  # an alias of e0
    NETS.replace("ipam: {subnet: 10.0.0.0/24}", "ipam: {subnet: 10.0.0.0/24}\n  dns: {ttl: 60}") + EPS,  # a's ttl
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


def test_no_asker_no_resolver() -> None:
    assert planned(dns.DnsPlanner(), parse(NETS)) is None
