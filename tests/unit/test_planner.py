"""The Planner owns its memos: a plan made by `desired_state` shares nothing with another, and one
Planner (the watch's) keeps what it made for an endpoint while its plans keep the endpoint, and no longer."""

from __future__ import annotations

from reconciler.model import HostsFile, KernelObject
from reconciler.planners import Planner, desired_state
from unit.helpers import endpoint, network, parse

NET = network("a", "{subnet: 10.0.0.0/24}")
BOTH = parse(NET + endpoint("e1", "[{network: a}]") + endpoint("e2", "[{network: a}]"))
ONE = parse(NET + endpoint("e1", "[{network: a}]"))


def of(objects: list[KernelObject], ns: str, hosts: bool = True) -> list[KernelObject]:
    return [o for o in objects if o.netns == ns and (hosts or not isinstance(o, HostsFile))]


def same(a: list[KernelObject], b: list[KernelObject]) -> bool:
    return len(a) == len(b) > 0 and all(x is y for x, y in zip(a, b))


def test_two_plans_share_no_object():
    """No state hides in the modules: each `desired_state` call plans afresh."""
    first, again = desired_state(BOTH), desired_state(BOTH)
    assert first == again
    assert not any(x is y for x, y in zip(first, again))


def test_a_planner_keeps_an_endpoints_objects_and_hosts_file_while_it_stays():
    planner = Planner()
    first, again = planner.desired_state(BOTH), planner.desired_state(BOTH)
    assert same(of(first, "e1"), of(again, "e1")) and same(of(first, "e2"), of(again, "e2"))
    assert any(isinstance(o, HostsFile) for o in of(first, "e1"))


def test_a_planner_forgets_an_endpoint_its_last_plan_left_out():
    """What a plan did not use, the next one forgets: e2, planned again after a plan without it, is
    made anew (equal), while e1 stays the same objects throughout (but its hosts file, which named e2)."""
    planner = Planner()
    first = planner.desired_state(BOTH)
    planner.desired_state(ONE)
    last = planner.desired_state(BOTH)
    assert same(of(first, "e1", hosts=False), of(last, "e1", hosts=False))
    assert of(first, "e2") == of(last, "e2") and not any(x is y for x, y in zip(of(first, "e2"), of(last, "e2")))


def test_the_resolvers_document_is_assembled_from_its_pieces_and_its_digest_is_of_it(monkeypatch):
    """The resolver's state (every endpoint's names) is not serialised whole: its document is joined from
    each network's and asker's entry (tests/unit/test_dns_planner.py), its digest taken of that text."""
    from reconciler.model.dns import DnsState, Resolver, digest_of

    written: list[int] = []
    real = DnsState.to_json
    monkeypatch.setattr(DnsState, "to_json", lambda self: written.append(1) or real(self))

    resolver = next(o for o in Planner().desired_state(BOTH) if isinstance(o, Resolver))

    assert written == [] and resolver.digest == digest_of(resolver.state) and resolver.serving == ("e1", "e2")
    assert resolver.state == real(DnsState.from_json(resolver.state))


def test_a_planner_compares_an_endpoints_inputs_with_those_it_kept_without_hashing_them(monkeypatch):
    """The watch plans every endpoint again on each reconcile: what it kept is found by the endpoint's
    name and reused when its inputs are equal (mostly the same objects), with no deep hash of them."""
    from reconciler.planners.context import Attachment

    planner = Planner()
    first = planner.desired_state(BOTH)

    def hashed(self: Attachment) -> int:
        raise AssertionError("an endpoint's inputs were hashed")

    monkeypatch.setattr(Attachment, "__hash__", hashed)
    again = planner.desired_state(BOTH)

    assert same(of(first, "e1"), of(again, "e1")) and same(of(first, "e2"), of(again, "e2"))


def test_an_endpoint_whose_network_changed_is_planned_again_under_the_same_name():
    planner = Planner()
    first = planner.desired_state(BOTH)
    wider = parse(network("a", "{subnet: 10.0.0.0/16}") + endpoint("e1", "[{network: a}]") + endpoint("e2", "[{network: a}]"))
    again = planner.desired_state(wider)

    assert of(again, "e1") == of(desired_state(wider), "e1") != of(first, "e1")


def test_the_resolvers_names_and_askers_are_made_again_for_a_new_endpoint_alone(monkeypatch):
    """One endpoint more: the resolver's state is assembled again, but only the new endpoint's names and
    asker are made; the others' are those kept, and the state is what a fresh plan makes."""
    import reconciler.planners.dns as dns
    from reconciler.model.dns import Resolver

    made: list[str] = []
    members, askers = dns.member_names, dns.asker_of
    monkeypatch.setattr(dns, "member_names", lambda ep, *rest: made.append(ep.name) or members(ep, *rest))
    monkeypatch.setattr(dns, "asker_of", lambda ep, *rest: made.append(ep.name) or askers(ep, *rest))
    planner = Planner()
    planner.desired_state(ONE)
    made.clear()

    again = planner.desired_state(BOTH)

    assert made == ["e2", "e2"]
    resolver = next(o for o in again if isinstance(o, Resolver))
    assert resolver == next(o for o in desired_state(BOTH) if isinstance(o, Resolver))
    assert resolver.state == next(o for o in desired_state(BOTH) if isinstance(o, Resolver)).state
