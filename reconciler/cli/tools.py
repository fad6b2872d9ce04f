"""The commands that print what other tools read: graph (a drawing of the topology) and schema (the
manifests' JSON Schema)."""

from __future__ import annotations

import argparse
import sys

from reconciler.cli.command import EXIT_OK, Command, debug, paths
from reconciler.input.schema import KIND_SCHEMAS, bundle_text

GRAPH_HELP = "draw the topology: hosts, networks, endpoints, published ports and services"
GRAPH_DESCRIPTION = GRAPH_HELP + """

Graphviz does the layout (the `dot` program, Debian package graphviz, is needed for svg and png;
`-o dot` prints the Graphviz source and needs nothing). With --live, each object is coloured by
its state in the kernel: in sync, drifted, missing."""


def _graph_arguments(sub: argparse.ArgumentParser) -> None:
    paths(sub)
    debug(sub)
    sub.add_argument("--host", metavar="NAME", help="draw only what this Host builds (default: every host)")
    sub.add_argument("-o", "--output", choices=("svg", "png", "dot"), default="svg", help="output format (default svg)")
    sub.add_argument("--live", action="store_true", help="colour each object by its state in the kernel (needs root)")


def _graph(args: argparse.Namespace) -> int:
    # graphviz only for this command: the others start without it
    from reconciler import graph

    return graph.run(args)


SCHEMA_HELP = "print the JSON Schema of manifests, for editors and other tools"
SCHEMA_DESCRIPTION = SCHEMA_HELP + """

Without KIND: one self-contained schema for a document of any kind (the same as the committed
schemas/manifest.schema.json). With KIND: the schema of that kind alone, also self-contained.
Editors that read `# yaml-language-server: $schema=PATH` validate and complete manifests against it."""


def _schema_arguments(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("kind", nargs="?", metavar="KIND", choices=sorted(KIND_SCHEMAS),
                     help=f"one kind only: {', '.join(sorted(KIND_SCHEMAS))}")
    debug(sub)


def _schema(args: argparse.Namespace) -> int:
    sys.stdout.write(bundle_text(args.kind))
    return EXIT_OK


GRAPH = Command("graph", GRAPH_HELP, "example: netreconcile graph manifests/ --live -o svg > topology.svg",
                _graph_arguments, _graph, GRAPH_DESCRIPTION)
SCHEMA = Command("schema", SCHEMA_HELP, "example: netreconcile schema > .vscode/netreconcile.schema.json",
                 _schema_arguments, _schema, SCHEMA_DESCRIPTION)
