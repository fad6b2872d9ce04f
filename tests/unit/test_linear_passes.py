"""Passes over the endpoints that must not be repeated per network: with N endpoints over N/1000
networks (the benchmark's large scenario), a pass per network is N x networks, quadratic in N. Each
test counts how often the endpoints' interfaces are walked, with few networks and with many."""

from __future__ import annotations

from dataclasses import replace

from reconciler.input.ipam import allocate
from reconciler.input.spec import Manifests
from reconciler.input.validate_names import name_problems
from unit.helpers import endpoint, network, parse


class Walked(tuple):  # type: ignore[type-arg]
    """An endpoint's interfaces, counting the walks over them."""

    walks = 0

    def __iter__(self):  # type: ignore[no-untyped-def]
        Walked.walks += 1
        return super().__iter__()


def manifests(networks: int, endpoints: int = 40) -> Manifests:
    text = "".join(network(f"n{n}", f"{{subnet: 10.{n}.0.0/24}}") for n in range(networks))
    text += "".join(endpoint(f"e{i}", f"[{{network: n{i % networks}}}]") for i in range(endpoints))
    m = parse(text)
    return replace(m, endpoints=tuple(replace(e, interfaces=Walked(e.interfaces)) for e in m.endpoints))


def walks(run, networks: int) -> int:  # type: ignore[no-untyped-def]
    m = manifests(networks)
    Walked.walks = 0
    run(m)
    return Walked.walks


def test_allocation_walks_each_endpoint_once_whatever_the_number_of_networks():
    assert len(allocate(manifests(20))) == 40
    assert walks(allocate, 20) == walks(allocate, 2) == 40


def test_hostname_checks_walk_each_endpoint_a_bounded_number_of_times_whatever_the_number_of_networks():
    assert walks(name_problems, 20) == walks(name_problems, 2)


def test_the_owners_are_computed_once_per_set_of_manifests(monkeypatch):
    """Destroy asks for them once per observed object: computed each time, that was N x objects."""
    from reconciler.input.spec import Endpoint

    m, asked = manifests(2), []
    monkeypatch.setattr(Endpoint, "owner", property(lambda e: asked.append(e.name) or f"endpoint/{e.name}"))
    assert m.owners == m.owners == m.owners
    assert len(asked) == 40
