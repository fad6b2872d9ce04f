"""The scenario: N endpoints on bridge networks, 4 of them up to 4000 endpoints and then one per 1000
(10 at 10,000: a Linux bridge holds at most 1024 ports), addresses allocated, default routes,
masquerade (the default of netreconcile's bridge networks; ipMasq for CNI and netavark).

netreconcile reads ONE file with the Network documents then one Endpoint document per endpoint (round
robin over the networks); the add-one measurements then write a second file with one more endpoint.
The references get the same layout: CNI's bridge plugin with host-local IPAM, netavark with the static
addresses podman would have allocated (endpoint i: host i // networks + 2 of its network).
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

MIN_NETWORKS = 4
PER_NETWORK = 1000
MAX_PORTS = 1024  # a Linux bridge holds at most 1024 ports
MAX_ENDPOINTS = 20 * PER_NETWORK
LAYOUT = (f"one file: Network documents ({MIN_NETWORKS}, or one per {PER_NETWORK} endpoints above that), "
          "then one Endpoint document per endpoint")


def networks(endpoints: int) -> int:
    """How many bridge networks N endpoints are spread over."""
    return max(MIN_NETWORKS, -(-endpoints // PER_NETWORK))


def subnet(n: int) -> str:
    return f"10.{n}.0.0/16"


def write_manifests(folder: Path, endpoints: int) -> Path:
    """folder/scenario.yaml: the networks, then endpoint i on network i % networks; no static address."""
    count = networks(endpoints)
    docs = [{"apiVersion": "netreconcile/v1", "kind": "Network", "metadata": {"name": f"n{n}"},
             "spec": {"driver": "bridge", "ipam": {"subnet": subnet(n)}}} for n in range(count)]
    docs += [endpoint_doc(i, count) for i in range(endpoints)]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scenario.yaml").write_text("\n---\n".join(json.dumps(d) for d in docs) + "\n")  # JSON is YAML
    return folder


def endpoint_doc(i: int, count: int) -> dict:
    return {"apiVersion": "netreconcile/v1", "kind": "Endpoint", "metadata": {"name": f"e{i}"},
            "spec": {"interfaces": [{"network": f"n{i % count}"}]}}


def extra_endpoint(folder: Path, endpoints: int, index: int | None = None, file: str = "extra.yaml") -> Path:
    """folder/FILE: one more endpoint (by default endpoint N) on the N-endpoint scenario's networks."""
    path = folder / file
    path.write_text(json.dumps(endpoint_doc(endpoints if index is None else index, networks(endpoints))) + "\n")
    return path


def cni_config(n: int, data_dir: str) -> str:
    """The CNI reference bridge plugin's configuration for network n (host-local IPAM, masquerade).

    isDefaultGateway: without it the plugin adds no default route (host-local returns no routes), and
    the scenario has one per endpoint; it also implies isGateway (the gateway address on the bridge).
    """
    return json.dumps({
        "cniVersion": "1.0.0", "name": f"net{n}", "type": "bridge", "bridge": f"cni-br{n}",
        "isGateway": True, "isDefaultGateway": True, "ipMasq": True,
        "ipam": {"type": "host-local", "subnet": subnet(n), "dataDir": data_dir},
    })


def netavark_config(i: int, count: int) -> str:
    """What podman gives `netavark setup` for container i: its network's definition (bridge, gateway,
    NAT, no DNS) and the static address podman allocated."""
    n = i % count
    network = ipaddress.ip_network(subnet(n))
    return json.dumps({
        "container_id": f"{i + 1:064x}", "container_name": container_netns(i),
        "networks": {f"n{n}": {"interface_name": "eth0", "static_ips": [str(network[i // count + 2])]}},
        "network_info": {f"n{n}": {
            "name": f"n{n}", "id": f"{n + 1:064x}", "driver": "bridge", "network_interface": f"nv-br{n}",
            "subnets": [{"subnet": str(network), "gateway": str(network[1])}],
            "ipv6_enabled": False, "internal": False, "dns_enabled": False, "ipam_options": {"driver": "host-local"}}},
        "port_mappings": None,
    })


def container_netns(i: int) -> str:
    """The namespace a reference's container i runs in, made beforehand (not timed)."""
    return f"c{i}"


def netns_batch(endpoints: int) -> str:
    """`ip -batch` input creating the references' container namespaces beforehand (not timed)."""
    return "".join(f"netns add {container_netns(i)}\n" for i in range(endpoints))


def floor_bridges(endpoints: int) -> str:
    """`ip -batch` input making the kernel floor's bridges, one per network, up (not timed)."""
    return "".join(f"link add fb{n} type bridge\nlink set fb{n} up\n" for n in range(networks(endpoints)))


def floor_batch(endpoints: int) -> str:
    """`ip -batch` input for the kernel floor: what the kernel must do at least for N endpoints, in one
    process with no logic: a namespace, a veth pair whose peer is born in it, the host end on its
    network's bridge and up. Less than the scenario asks (no address, route, masquerade or resolver:
    iproute2's batch mode cannot enter a namespace), so a ratio against it flatters the floor."""
    count = networks(endpoints)
    return "".join(f"netns add f{i}\nlink add fv{i} type veth peer name eth0 netns f{i}\n"
                   f"link set fv{i} master fb{i % count} up\n" for i in range(endpoints))
