"""The topology model as DOT (every text escaped in HTML-like labels), and svg or png from it through
Graphviz's `dot` program."""

from __future__ import annotations

from typing import Any

import graphviz  # type: ignore[import-untyped, unused-ignore]

from reconciler.engine import State
from reconciler.errors import NetreconcileError
from reconciler.graph.model import Edge, Line, Node, Topology

COLOURS = {  # state: (fill, outline)
    State.IN_SYNC: ("#c8e6c9", "#2e7d32"),
    State.DRIFTED: ("#ffe0b2", "#e65100"),
    State.MISSING: ("#ffcdd2", "#c62828"),
    State.EXTRA: ("#eeeeee", "#9e9e9e"),
    None: ("#ffffff", "#444444"),
}
LEGEND = ((State.IN_SYNC, "in sync"), (State.DRIFTED, "drifted: differs from the manifests"),
          (State.MISSING, "missing from the kernel"), (State.EXTRA, "extra: ours, not in these manifests"),
          (None, "not checked (another host)"))
SHAPES = {"network": "box3d", "endpoint": "box", "service": "hexagon", "port": "cds", "extra": "box"}


def slug(state: State | None) -> str:
    """The state as a class name in the DOT and SVG: in-sync, drifted, missing, extra, unchecked."""
    return state.value.replace(" ", "-") if state is not None else "unchecked"


def text(value: str) -> str:
    """Text for an HTML-like label: escaped, control characters made visible (XML forbids them)."""
    visible = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in value)
    return visible.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def plain(value: str, newline: str = "\\n") -> str:
    """Text for a quoted DOT attribute: never taken as HTML, backslashes literal, lines broken by
    `newline` (\\n centred, \\l left-justified); the graphviz package escapes the quotes."""
    printable = "".join(c if c.isprintable() or c == "\n" else "?" for c in value)
    quoted: str = graphviz.nohtml(printable.replace("\\", "\\\\").replace("\n", newline))
    return quoted


def to_dot(t: Topology) -> str:
    """The picture as DOT: a cluster per Host, then the nodes outside them, the edges, the legend (--live)
    and the notes under the picture."""
    g = _digraph()
    for name, label in t.clusters:
        with g.subgraph(name=f"cluster_{name}") as c:
            c.attr(label=plain(label), style="rounded", color="#607d8b")
            _add_nodes(c, [n for n in t.nodes if n.host == name], t.live)
    _add_nodes(g, [n for n in t.nodes if n.host is None or n.host not in dict(t.clusters)], t.live)
    for e in t.edges:
        _add_edge(g, e, t.live)
    _add_legend_and_notes(g, t)
    source: str = g.source
    return source


def _digraph() -> Any:
    """An empty graph, laid out left to right, in Helvetica."""
    return graphviz.Digraph("netreconcile", graph_attr={"rankdir": "LR", "fontname": "Helvetica", "compound": "true",
                                                        "nodesep": "0.3", "ranksep": "0.8"},
                            node_attr={"fontname": "Helvetica", "fontsize": "10", "style": "filled"},
                            edge_attr={"fontname": "Helvetica", "fontsize": "9"})


def _add_nodes(g: Any, nodes: list[Node], live: bool) -> None:
    for n in nodes:
        fill, pen = COLOURS[n.state if live else None]
        style = "filled,dashed" if n.kind == "extra" else "filled,rounded" if n.kind == "endpoint" else "filled"
        attrs = {"class": f"{n.kind} {slug(n.state)}" if live else n.kind, "tooltip": plain(n.detail or n.title)}
        g.node(n.id, _label(n, live), shape=SHAPES[n.kind], fillcolor=fill, color=pen, style=style, **attrs)


def _label(n: Node, live: bool) -> str:
    rows = [f"<TR><TD><B>{text(n.title)}</B></TD></TR>", *(_row(line, live) for line in n.lines)]
    return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">{"".join(rows)}</TABLE>>'


def _row(line: Line, live: bool) -> str:
    """A line of a label; with --live, one that differs is coloured and says how."""
    state = line.state if live else None
    if state is None or state is State.IN_SYNC:
        return f"<TR><TD>{text(line.text)}</TD></TR>"
    return f'<TR><TD BGCOLOR="{COLOURS[state][0]}">{text(f"{line.text}  ({line.why or state.value})")}</TD></TR>'


def _add_edge(g: Any, e: Edge, live: bool) -> None:
    colour = COLOURS[e.state][1] if live else "#444444"
    style = {"backend": "dashed", "vip": "dotted"}.get(e.kind, "solid")
    attrs = {"class": f"{e.kind} {slug(e.state)}" if live else e.kind}
    g.edge(e.tail, e.head, label=plain(e.label), color=colour, fontcolor=colour, style=style,
           arrowhead="none" if e.kind in ("attach", "vip") else "normal", **attrs)


def _add_legend_and_notes(g: Any, t: Topology) -> None:
    """The legend of the states (with --live; "not checked" only when a node is), the notes under it all."""
    if t.live:
        shown = [(s, words) for s, words in LEGEND if s is not None or any(n.state is None for n in t.nodes)]
        g.node("legend", _legend(shown), shape="plaintext", style="", **{"class": "legend"})
    if t.notes:
        g.attr(label=plain("".join(f"{n}\n" for n in t.notes), "\\l"), labelloc="b", labeljust="l", fontsize="9")


def _legend(shown: list[tuple[State | None, str]]) -> str:
    rows = "".join(f'<TR><TD BGCOLOR="{COLOURS[s][0]}" COLOR="{COLOURS[s][1]}" BORDER="1">{text(words)}</TD></TR>'
                   for s, words in shown)
    return f'<<TABLE BORDER="0" CELLSPACING="2" CELLPADDING="3"><TR><TD><B>state</B></TD></TR>{rows}</TABLE>>'


def render(dot: str, fmt: str) -> bytes:
    """svg or png from DOT source, through Graphviz's `dot` program."""
    try:
        picture: bytes = graphviz.Source(dot).pipe(format=fmt)
    except graphviz.ExecutableNotFound as err:
        raise NetreconcileError(f"-o {fmt} needs Graphviz's `dot` program, which is not installed: install the "
                                "Debian package graphviz (apt-get install graphviz), or use -o dot") from err
    except graphviz.CalledProcessError as err:
        said = err.stderr.decode(errors="replace").strip() if isinstance(err.stderr, bytes) else err.stderr
        raise NetreconcileError(f"Graphviz's dot failed: {said}") from err
    return picture
