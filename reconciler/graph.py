"""`netreconcile graph`: the topology as a Graphviz picture (being written)."""

from __future__ import annotations

import argparse

from reconciler.errors import NetreconcileError


def run(args: argparse.Namespace) -> int:
    raise NetreconcileError("graph is not implemented yet")
