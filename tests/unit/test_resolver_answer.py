"""The resolver's policy (reconciler/resolver/answer.py): what one asker is answered, from the state."""

from __future__ import annotations

import random

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.reversename

from reconciler.model.dns import DnsAsker, DnsNetwork, DnsState
from reconciler.resolver.answer import Forward, Names, Reply, decide, render

MANY = tuple(f"10.1.{i // 250}.{i % 250 + 1}" for i in range(60))
STATE = DnsState(
    networks={
        "front": DnsNetwork(ttl=7, names={"web": ("10.0.0.2", "fd00::2"), "db": ("10.0.0.3",),
                                          "api": ("10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.0.7"),
                                          "many": MANY},
                            ptr={"10.0.0.2": "web.front", "fd00:0:0:0:0:0:0:2": "web.front"}),
        "back": DnsNetwork(ttl=30, names={"db": ("10.9.0.3",), "cache": ("10.9.0.8",)},
                           ptr={"10.9.0.8": "cache.back"}),
        "other": DnsNetwork(names={"secret": ("10.8.0.1",)}, ptr={"10.8.0.1": "secret.other"}),
    },
    askers={
        "a": DnsAsker(networks=("front", "back")),
        "b": DnsAsker(networks=("back", "front"), servers=("192.0.2.53",)),
        "i": DnsAsker(networks=("back",), forward=False),
    },
)
NAMES = Names(STATE)


def ask(asker: str, name: str, rdtype: str = "A", edns: bool = False, seed: int = 0):
    query = dns.message.make_query(name, rdtype, use_edns=0 if edns else None)
    return query, decide(NAMES, asker, query, random.Random(seed))


def addresses(outcome) -> list[str]:
    assert isinstance(outcome, Reply), outcome
    return [r.to_text() for rrset in outcome.message.answer for r in rrset]


def test_a_name_of_the_askers_networks_is_answered_with_the_networks_ttl():
    _, outcome = ask("a", "cache")
    assert addresses(outcome) == ["10.9.0.8"]
    assert outcome.message.answer[0].ttl == 30
    assert outcome.message.rcode() == dns.rcode.NOERROR
    assert outcome.message.flags & dns.flags.RA


def test_case_and_the_final_dot_do_not_matter_and_the_question_is_echoed():
    for name in ("WeB", "web.", "WEB."):
        query, outcome = ask("a", name)
        assert addresses(outcome) == ["10.0.0.2"]
        assert outcome.message.answer[0].name == query.question[0].name
        assert outcome.message.answer[0].ttl == 7


def test_the_first_network_in_the_askers_order_answers():
    assert addresses(ask("a", "db")[1]) == ["10.0.0.3"]
    assert addresses(ask("b", "db")[1]) == ["10.9.0.3"]


def test_a_name_of_a_network_the_asker_is_not_on_is_nxdomain_and_never_forwarded():
    for asker in ("a", "b"):
        outcome = ask(asker, "secret")[1]
        assert isinstance(outcome, Reply) and outcome.message.rcode() == dns.rcode.NXDOMAIN


def test_an_internal_asker_gets_servfail_for_names_it_does_not_know():
    outcome = ask("i", "example.com")[1]
    assert isinstance(outcome, Reply) and outcome.message.rcode() == dns.rcode.SERVFAIL
    assert addresses(ask("i", "cache")[1]) == ["10.9.0.8"]


def test_several_addresses_are_shuffled_on_each_answer():
    orders = {tuple(addresses(ask("a", "api", seed=seed)[1])) for seed in range(20)}
    assert len(orders) > 1
    assert all(sorted(order) == ["10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.0.7"] for order in orders)


def test_aaaa_gives_the_ipv6_addresses_only():
    assert addresses(ask("a", "web", "AAAA")[1]) == ["fd00::2"]


def test_a_known_name_without_an_address_of_the_family_is_an_empty_noerror_not_forwarded():
    outcome = ask("a", "db", "AAAA")[1]
    assert isinstance(outcome, Reply)
    assert outcome.message.rcode() == dns.rcode.NOERROR and outcome.message.answer == []
    outcome = ask("a", "web", "MX")[1]
    assert isinstance(outcome, Reply) and outcome.message.answer == []


def test_ptr_of_our_addresses_ipv4_and_ipv6():
    outcome = ask("a", dns.reversename.from_address("10.0.0.2").to_text(), "PTR")[1]
    assert addresses(outcome) == ["web.front."]
    outcome = ask("a", dns.reversename.from_address("fd00::2").to_text(), "PTR")[1]
    assert addresses(outcome) == ["web.front."]


def test_ptr_of_an_address_of_another_network_is_forwarded_or_refused():
    reverse = dns.reversename.from_address("10.8.0.1").to_text()
    assert ask("a", reverse, "PTR")[1] == Forward(None)
    assert ask("i", reverse, "PTR")[1].message.rcode() == dns.rcode.SERVFAIL
    assert ask("a", "2.0.10.in-addr.arpa", "PTR")[1] == Forward(None)  # not a whole address


def test_an_asker_gone_by_a_reload_is_refused():
    outcome = ask("gone", "web")[1]
    assert isinstance(outcome, Reply) and outcome.message.rcode() == dns.rcode.REFUSED


def test_another_opcode_is_not_implemented():
    query = dns.message.make_query("web", "A")
    query.set_opcode(dns.opcode.NOTIFY)
    outcome = decide(NAMES, "a", query, random.Random(0))
    assert isinstance(outcome, Reply) and outcome.message.rcode() == dns.rcode.NOTIMP


def test_over_udp_an_answer_is_cut_to_512_bytes_with_tc_and_whole_over_tcp():
    query, outcome = ask("a", "many")
    wire = render(outcome.message, query, tcp=False)
    cut = dns.message.from_wire(wire)
    assert len(wire) <= 512 and cut.flags & dns.flags.TC
    assert 0 < len(cut.answer[0]) < 60
    whole = dns.message.from_wire(render(ask("a", "many")[1].message, query, tcp=True))
    assert not whole.flags & dns.flags.TC and sorted(r.to_text() for r in whole.answer[0]) == sorted(MANY)


def test_over_udp_the_clients_edns_size_is_the_limit():
    query, outcome = ask("a", "many", edns=True)
    query.use_edns(0, 0, 700)
    wire = render(outcome.message, query, tcp=False)
    assert 512 < len(wire) <= 700 and dns.message.from_wire(wire).flags & dns.flags.TC
    query.use_edns(0, 0, 4096)
    whole = dns.message.from_wire(render(outcome.message, query, tcp=False))
    assert not whole.flags & dns.flags.TC and len(whole.answer[0]) == 60


def test_a_small_answer_is_not_truncated():
    query, outcome = ask("a", "api")
    assert not dns.message.from_wire(render(outcome.message, query, tcp=False)).flags & dns.flags.TC


def test_a_reload_parses_only_the_ptr_addresses_it_had_not_seen(monkeypatch):
    """The resolver indexes its PTR names again on every reload: an address it indexed before is not
    parsed again, so that one endpoint more costs one parse, not one per endpoint."""
    import ipaddress

    import reconciler.resolver.answer as answer

    parsed: list[str] = []
    real = ipaddress.ip_address
    monkeypatch.setattr(answer.ipaddress, "ip_address", lambda a: parsed.append(a) or real(a))
    ptr = {f"10.77.{i // 250}.{i % 250}": f"e{i}.n" for i in range(500)}
    answer.Names(DnsState(networks={"n": DnsNetwork(ptr=ptr)}))
    parsed.clear()

    names = answer.Names(DnsState(networks={"n": DnsNetwork(ptr={**ptr, "10.77.9.9": "new.n", "2001:DB8::1": "v6.n"})}))

    assert sorted(parsed) == ["10.77.9.9", "2001:DB8::1"]
    assert names.ptr["n"]["2001:db8::1"] == "v6.n" and names.ptr["n"]["10.77.1.7"] == "e257.n"
