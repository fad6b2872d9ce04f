"""The benchmark's scenario and chart: the references get the layout netreconcile gets, and the chart
draws what the results say."""

import ipaddress
import json
import re

from benchmarks.chart import svg
from benchmarks.report import summarise
from benchmarks.runs import CniRun, FloorRun, NetavarkRun, NetreconcileRun
from benchmarks.scenario import (
    floor_batch,
    floor_bridges,
    netavark_config,
    networks,
    subnet,
)


def test_networks_hold_at_most_a_thousand_endpoints_each():
    assert [networks(n) for n in (20, 1000, 4000, 4001, 10000)] == [4, 4, 4, 5, 10]


def test_netavark_gets_distinct_static_addresses_inside_each_network():
    count = networks(10000)
    seen = set()
    for i in range(10000):
        config = json.loads(netavark_config(i, count))
        (network,) = config["networks"]
        (address,) = config["networks"][network]["static_ips"]
        info = config["network_info"][network]
        assert ipaddress.ip_address(address) in ipaddress.ip_network(subnet(i % count))
        assert address != info["subnets"][0]["gateway"]
        seen.add(address)
    assert len(seen) == 10000


def test_the_chart_draws_each_tool_with_the_slower_one_higher():
    results = [summarise(n, [NetreconcileRun(apply_s=n * 0.004)], [CniRun(add_s=n * 0.06)],
                         [NetavarkRun(setup_s=n * 0.03)], [FloorRun(seconds=n * 0.002)]) for n in (100, 1000)]
    drawing = svg(results)
    lines = re.findall(r'<polyline [^>]*stroke="(#[0-9a-f]+)"[^>]*points="([^"]+)"', drawing)
    assert len(lines) == 4
    heights = {colour: float(points.split()[0].split(",")[1]) for colour, points in lines}
    ours_y, cni_y, netavark_y, floor_y = heights["#1f77b4"], heights["#d62728"], heights["#2ca02c"], heights["#7f7f7f"]
    assert cni_y < netavark_y < ours_y < floor_y  # SVG's y grows downwards: the slowest is highest
    assert results[0].netreconcile_over_floor == 2.0


def test_the_kernel_floor_makes_each_endpoint_once_on_its_networks_bridge():
    lines = floor_batch(10).splitlines()
    assert len(lines) == 30 and len(set(lines)) == 30
    assert lines[:3] == ["netns add f0", "link add fv0 type veth peer name eth0 netns f0", "link set fv0 master fb0 up"]
    bridges = {line.split()[2] for line in floor_bridges(10).splitlines()}
    assert bridges == {f"fb{n}" for n in range(networks(10))} == {line.split()[4] for line in lines[2::3]}
