"""The `doctor` command: which link kinds and nftables features the running kernel supports, as a
table or a JSON document (docs/output.md)."""

from __future__ import annotations

import argparse
import json
from typing import Any

import reconciler.cli.render as render
from reconciler.cli.command import EXIT_ERROR, EXIT_OK, Command, debug, output
from reconciler.kernel import capabilities
from reconciler.terminal import lines

DOCTOR_HELP = "show which link kinds and nftables features the running kernel supports; exit 0 when bridge networks can run"
DOCTOR_DESCRIPTION = DOCTOR_HELP + """

Each link kind (bridge, veth, vxlan, macvlan, ipvlan, vlan, dummy) is tried for real by creating a
link of it, and each nftables feature by `nft --check` of a rule that uses it, all inside a throwaway
network namespace that vanishes afterwards: the host's network is never touched and nothing is left.

Exit status: 0 when everything the bridge driver needs is there (bridge and veth links; an nftables
inet table, nat masquerade and ct state), 1 otherwise. CONFIG is the kernel option behind each line;
HINT is the module to load for a missing link kind, or what the kernel or nft answered."""


def _doctor(args: argparse.Namespace) -> int:
    links, nft = capabilities.check_links(capabilities.LINK_KINDS), capabilities.check_nft()
    lacks = capabilities.bridge_lacks(links, nft)
    report: dict[str, Any] = {"formatVersion": render.FORMAT_VERSION, "links": [_entry("kind", f) for f in links],
              "nftables": [_entry("feature", f) for f in nft], "drivers": {"bridge": {"ready": not lacks, "missing": lacks}}}
    print(json.dumps(report, indent=2) if args.output == "json" else lines(report_text(report)))
    return EXIT_ERROR if lacks else EXIT_OK


def _entry(key: str, found: capabilities.Finding) -> dict[str, Any]:
    return {key: found.name, "supported": found.supported, "config": found.config, "hint": found.hint,
            "answer": found.answer, "probeFailed": found.probe_failed}


def report_text(report: dict[str, Any]) -> str:
    """The report as two tables (link kinds, nftables features) and a verdict on bridge networks."""
    rows = _table(("KIND", "SUPPORTED", "CONFIG", "HINT"), [_row(e["kind"], e) for e in report["links"]])
    rows += [""] + _table(("NFTABLES", "SUPPORTED", "CONFIG", "HINT"), [_row(e["feature"], e) for e in report["nftables"]])
    missing = report["drivers"]["bridge"]["missing"]
    return "\n".join(rows + ["", f"bridge networks: {'missing ' + ', '.join(missing) if missing else 'ready'}"])


def _row(name: str, e: dict[str, Any]) -> tuple[str, str, str, str]:
    hint = f"probe failed: {e['answer']}" if e["probeFailed"] else e["hint"] or e["answer"]
    return name, "yes" if e["supported"] else "no", e["config"], hint


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in (header, *rows)]


def _arguments(sub: argparse.ArgumentParser) -> None:
    debug(sub)
    output(sub)


DOCTOR = Command("doctor", DOCTOR_HELP, "example: netreconcile doctor -o json   # 0 bridge networks can run, 1 not",
                 _arguments, _doctor, DOCTOR_DESCRIPTION)
