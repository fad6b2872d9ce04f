"""The scenario: N endpoints on 4 bridge networks (N/4 each), addresses allocated, default routes,
masquerade (the default of netreconcile's bridge networks; ipMasq for CNI).

netreconcile reads ONE file with N + 4 YAML documents (4 networks, then the endpoints, round robin);
the watch measurement then adds a second file with one more endpoint.
"""

from __future__ import annotations

import json
from pathlib import Path

NETWORKS = 4
MAX_PORTS = 1024  # a Linux bridge holds at most 1024 ports
MAX_ENDPOINTS = NETWORKS * MAX_PORTS
LAYOUT = f"one file, {NETWORKS} Network documents + one Endpoint document per endpoint"


def subnet(n: int) -> str:
    return f"10.{n}.0.0/16"


def write_manifests(folder: Path, endpoints: int) -> Path:
    """folder/scenario.yaml: 4 networks, then endpoint i on network i % 4; no static address."""
    docs = [{"apiVersion": "netreconcile/v1", "kind": "Network", "metadata": {"name": f"n{n}"},
             "spec": {"driver": "bridge", "ipam": {"subnet": subnet(n)}}} for n in range(NETWORKS)]
    docs += [{"apiVersion": "netreconcile/v1", "kind": "Endpoint", "metadata": {"name": f"e{i}"},
              "spec": {"interfaces": [{"network": f"n{i % NETWORKS}"}]}} for i in range(endpoints)]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scenario.yaml").write_text("\n---\n".join(json.dumps(d) for d in docs) + "\n")  # JSON is YAML
    return folder


def extra_endpoint(folder: Path, endpoints: int) -> Path:
    """folder/extra.yaml: endpoint N, the one a running `watch` is timed adding."""
    doc = {"apiVersion": "netreconcile/v1", "kind": "Endpoint", "metadata": {"name": f"e{endpoints}"},
           "spec": {"interfaces": [{"network": f"n{endpoints % NETWORKS}"}]}}
    path = folder / "extra.yaml"
    path.write_text(json.dumps(doc) + "\n")
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


def cni_netns(i: int) -> str:
    return f"c{i}"


def netns_batch(endpoints: int) -> str:
    """`ip -batch` input creating the CNI containers' namespaces beforehand (not timed)."""
    return "".join(f"netns add {cni_netns(i)}\n" for i in range(endpoints))
