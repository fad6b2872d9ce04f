"""`netreconcile graph`: the topology as a Graphviz picture (model, live-state ledger, builder, DOT, command).
Imports the input, planning and engine layers; nothing but the CLI imports it, and its modules never import it back."""

from reconciler.graph.build import topology
from reconciler.graph.command import live, planned, run
from reconciler.graph.dot import (
    COLOURS,
    LEGEND,
    SHAPES,
    plain,
    render,
    slug,
    text,
    to_dot,
)
from reconciler.graph.ledger import Check, Ledger, checks_of, combined
from reconciler.graph.model import Edge, Line, Node, Topology

__all__ = [
    "COLOURS", "LEGEND", "SHAPES", "Check", "Edge", "Ledger", "Line", "Node", "Topology", "checks_of", "combined",
    "live", "plain", "planned", "render", "run", "slug", "text", "to_dot", "topology",
]
