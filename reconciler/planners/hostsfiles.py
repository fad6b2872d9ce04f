"""The hosts files through which endpoints find each other: /etc/netns/<ns>/hosts, one per endpoint,
naming every endpoint (with its aliases) and Service on the endpoint's networks."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.input.spec import Endpoint, Manifests
from reconciler.model import HOSTS_MARK, HostsFile
from reconciler.planners.services import Addresses, address_of, vip

HEADER = "\n".join([HOSTS_MARK.rstrip("\n"), "127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]) + "\n"

# What an endpoint's file is made of, per network it is on: the network's block's text, and its own lines in it.
OwnBlocks = tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class Block:
    """A network's part of the hosts files: one line per address, and whose line each is."""

    text: str                       # every line, each ending in a newline
    lines: dict[str, list[str]]     # endpoint name -> its lines


def network_blocks(m: Manifests, addresses: Addresses) -> dict[str, Block]:
    """Per network, the address and names of every endpoint on it, then of every Service on it: built
    once, so that each endpoint's file is its own lines plus its networks' blocks without them."""
    lines: dict[str, list[tuple[str, str]]] = {n.name: [] for n in m.networks}
    for ep in m.endpoints:
        for iface in (i for i in ep.interfaces if i.network in lines):
            lines[iface.network] += [(ep.name, line) for line in _endpoint_lines(ep, iface.network, iface.aliases,
                                                                                   addresses)]
    for service, version in ((s, v) for s in m.services for v in (4, 6)):
        address = vip(service, addresses, version)
        if address is not None and service.network in lines:
            lines[service.network].append(("", f"{address}\t{service.name}\n"))
    return {network: _block(entries) for network, entries in lines.items()}


def _endpoint_lines(ep: Endpoint, network: str, aliases: tuple[str, ...], addresses: Addresses) -> list[str]:
    names = " ".join(dict.fromkeys((ep.name, *aliases)))
    found = (address_of(addresses, ep, network, version) for version in (4, 6))
    return [f"{address}\t{names}\n" for address in found if address is not None]


def _block(entries: list[tuple[str, str]]) -> Block:
    mine: dict[str, list[str]] = {}
    for owner, line in entries:
        mine.setdefault(owner, []).append(line)
    return Block("".join(line for _, line in entries), mine)


def own_blocks(ep: Endpoint, blocks: dict[str, Block]) -> OwnBlocks:
    """What the endpoint's file is made of (see OwnBlocks): with the endpoint, all its file depends on."""
    return tuple((blocks[i.network].text, tuple(blocks[i.network].lines.get(ep.name, ())))
                 for i in ep.interfaces if i.network in blocks)


def hosts_file(ep: Endpoint, blocks: OwnBlocks) -> HostsFile:
    """The endpoint's file from the blocks of its networks: each block's text and its own lines in it."""
    return HostsFile(ep.netns, hosts_text(ep, [Block(text, {ep.name: list(own)}) for text, own in blocks]), owner=ep.owner)


def hosts_text(ep: Endpoint, networks: list[Block]) -> str:
    """Itself first, then on each of its networks every other endpoint (name and aliases) and Service."""
    own = [line for block in networks for line in block.lines.get(ep.name, ())]
    others = []
    for block in networks:
        text = "\n" + block.text
        for line in block.lines.get(ep.name, ()):
            text = text.replace("\n" + line, "\n", 1)
        others.append(text[1:])
    return HEADER + "".join(own) + "".join(others)
