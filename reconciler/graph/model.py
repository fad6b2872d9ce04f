"""The picture as data: nodes made of lines, edges, Host clusters, each with the state of the kernel
objects behind it (None: not checked)."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.engine import State


@dataclass(frozen=True)
class Line:
    """One line of a node's label, with the state of the kernel objects behind it (None: not checked)."""

    text: str
    state: State | None = None
    why: str = ""  # which of its objects differ, and how


@dataclass(frozen=True)
class Node:
    """A network, endpoint, service, published port, or leftover object (kind `extra`)."""

    id: str
    kind: str
    title: str
    lines: tuple[Line, ...] = ()
    state: State | None = None
    host: str | None = None  # the Host cluster it is drawn in
    detail: str = ""         # what differs in the kernel (the tooltip)


@dataclass(frozen=True)
class Edge:
    """attach (endpoint to network), backend (service to endpoint), publish (port to target), vip."""

    tail: str
    head: str
    kind: str
    label: str = ""
    state: State | None = None


@dataclass(frozen=True)
class Topology:
    clusters: tuple[tuple[str, str], ...]  # (host name, label)
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    live: bool = False
    notes: tuple[str, ...] = ()  # states that no drawn object shows (host sysctls, the table's chains)
