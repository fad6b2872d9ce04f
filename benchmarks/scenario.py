"""The scenario: N endpoints on 4 bridge networks, addresses allocated, default routes, masquerade."""

from __future__ import annotations

import json
from pathlib import Path

NETWORKS = 4


def write_manifests(folder: Path, endpoints: int) -> Path:
    """One file: 4 networks, then the endpoints spread over them (N/4 each)."""
    docs = [{"apiVersion": "netreconcile/v1", "kind": "Network", "metadata": {"name": f"n{n}"},
             "spec": {"driver": "bridge", "ipam": {"subnet": f"10.{n}.0.0/16"}}} for n in range(NETWORKS)]
    docs += [{"apiVersion": "netreconcile/v1", "kind": "Endpoint", "metadata": {"name": f"e{i}"},
              "spec": {"interfaces": [{"network": f"n{i % NETWORKS}"}]}} for i in range(endpoints)]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "scenario.yaml"
    path.write_text("\n---\n".join(json.dumps(d) for d in docs) + "\n")  # JSON is YAML
    return folder


def cni_config(n: int, data_dir: str) -> str:
    """The CNI reference bridge plugin's configuration for network n (host-local IPAM, masquerade)."""
    return json.dumps({
        "cniVersion": "1.0.0", "name": f"net{n}", "type": "bridge", "bridge": f"cni-br{n}",
        "isGateway": True, "ipMasq": True,
        "ipam": {"type": "host-local", "subnet": f"10.{n}.0.0/16", "dataDir": data_dir},
    })
