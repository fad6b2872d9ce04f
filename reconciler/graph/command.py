"""`netreconcile graph`: the model from the manifests alone, or from one observation of the kernel
(`engine.status_of`) with --live; written as DOT, or laid out by Graphviz."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

from reconciler import engine
from reconciler.graph.build import topology
from reconciler.graph.dot import render, to_dot
from reconciler.graph.ledger import Ledger, checks_of
from reconciler.graph.model import Topology
from reconciler.input.ipam import allocate
from reconciler.input.pools import assign
from reconciler.input.spec import Manifests
from reconciler.input.validate import load_manifests
from reconciler.kernel.session import Kernel
from reconciler.planners import context_for
from reconciler.planning import subnets
from reconciler.planning.hosts import localize
from reconciler.planning.plan import Observed


def planned(m: Manifests, only: str | None) -> Topology:
    """From the manifests alone: no kernel is read (works as any user)."""
    if only is not None:
        localize(replace(m, host=only), Observed({}))  # refuses a --host that is not declared
    m = assign(m)[0]  # automatic subnets as the manifests alone pick them
    return topology(m, allocate(m), only)


def live(m: Manifests, only: str | None) -> Topology:
    """From one observation of the kernel: the addresses it really holds, each object's state."""
    m = replace(m, host=only)
    with Kernel() as kernel:
        observed = engine.observe_for(m, kernel)
    m = subnets.resolve(m, observed)[0]
    here = localize(m, observed)
    rows, findings = engine.status_of(here, observed)
    ledger = Ledger(checks_of(here, rows, observed))
    drawn = topology(m, context_for(here, observed).addresses, only, here.host, ledger)
    return replace(drawn, notes=findings + drawn.notes)  # the preflight's, e.g. a parent that is not there


def run(args: argparse.Namespace) -> int:
    m = load_manifests(args.paths)
    dot = to_dot(live(m, args.host) if args.live else planned(m, args.host))
    if args.output == "dot":
        sys.stdout.write(dot)
    else:
        sys.stdout.buffer.write(render(dot, args.output))
    sys.stdout.flush()
    return 0
