"""The pool allocator (reconciler/input/pools.py) without a kernel: deterministic, distinct, sticky,
host networks skipped with the reason, overlays from the manifests alone, exhaustion named."""

from __future__ import annotations

from ipaddress import ip_address, ip_network

import pytest

from reconciler.errors import ManifestError
from reconciler.input.pools import HostView, Taken, assign
from reconciler.input.spec import (
    AddressPools,
    BridgeOptions,
    Host,
    Manifests,
    Network,
    OverlayOptions,
    Pool,
)


def bridge(name: str, ipv6: bool = False) -> Network:
    return Network(name, (), BridgeOptions(f"br-{name}"), enable_ipv6=ipv6, auto_subnet=True)


def subnets(m: Manifests, host: HostView | None = None) -> dict[str, list[str]]:
    return {n.name: [str(s.subnet) for s in n.subnets] for n in assign(m, host)[0].networks}


def test_the_same_manifests_give_the_same_distinct_subnets():
    m = Manifests(networks=tuple(bridge(n) for n in ("web", "db", "cache", "queue")))
    first = subnets(m)
    assert first == subnets(m) and len({s[0] for s in first.values()}) == 4


def test_a_host_route_is_skipped_and_named_in_the_explanation():
    m = Manifests(networks=(bridge("web"),))
    home = subnets(m)["web"][0]
    route = Taken(ip_network(home), f"route {home} dev wg0 table 51820")
    _, choices = assign(m, HostView((route,)))
    assert choices[0].subnet != ip_network(home)
    assert str(choices[0]).endswith(f"(skipped {home}: route {home} dev wg0 table 51820)")


def test_a_held_subnet_is_kept_even_where_another_network_would_start():
    m = Manifests(networks=(bridge("web"), bridge("db")))
    held = ip_network(subnets(m)["db"][0])
    kept = subnets(m, HostView(held={"web": (held,)}))
    assert kept["web"] == [str(held)] and kept["db"][0] != str(held)


def test_declared_pools_replace_the_defaults_and_ipv6_falls_back_to_a_ula_64():
    pools = AddressPools("p", (Pool(ip_network("10.90.0.0/16"), 24),))
    picked = subnets(Manifests(networks=(bridge("web", ipv6=True),), address_pools=(pools,)))["web"]
    assert ip_network(picked[0]).subnet_of(ip_network("10.90.0.0/16")) and picked[0].endswith("/24")
    assert ip_network(picked[1]).subnet_of(ip_network("fd00::/8")) and picked[1].endswith("/64")


def test_overlays_ignore_the_host_and_exhaustion_names_the_pools_and_what_took_them():
    overlay = Network("ov", (), OverlayOptions(4242, BridgeOptions("ov-br")), auto_subnet=True)
    m = Manifests(networks=(overlay,))
    everything = HostView((Taken(ip_network("0.0.0.0/0"), "route everything"),))
    assert subnets(m, everything) == subnets(m)
    tiny = AddressPools("p", (Pool(ip_network("10.1.0.0/24"), 25),))
    with pytest.raises(ManifestError) as err:
        assign(Manifests(networks=(bridge("a"), bridge("b"), bridge("c")), address_pools=(tiny,)))
    assert "no free IPv4 subnet in the address pools (10.1.0.0/24 in /25s); taken: 10.1.0.0/25: network" in str(err.value)


def test_a_hosts_underlay_address_is_skipped():
    m = Manifests(networks=(bridge("web"),))
    home = ip_network(subnets(m)["web"][0])
    with_host = Manifests(networks=(bridge("web"),), hosts=(Host("node-a", ip_address(int(home.network_address) + 7)),))
    _, choices = assign(with_host)
    assert choices[0].subnet != home and f"{home}: underlay address of Host node-a" in str(choices[0])
