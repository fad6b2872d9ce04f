"""A network's entry in the resolver's document (model.dns.network_entry's very bytes), kept with its
parts by name and by address: names added to a network are written into its entry, not all of it again."""

from __future__ import annotations

from bisect import insort
from collections.abc import Iterable
from json.encoder import (
    encode_basestring_ascii as _text,  # what json.dumps writes of a string (ensure_ascii)
)
from typing import NamedTuple

from reconciler.model.dns import DnsNetwork


class Entry(NamedTuple):
    """A network's entry (`text`), of `network`, with its names' and PTRs' parts, keys in JSON's order."""

    network: DnsNetwork
    text: str
    names: list[str]
    name_parts: dict[str, str]
    ptrs: list[str]
    ptr_parts: dict[str, str]


def entry_of(name: str, network: DnsNetwork) -> Entry:
    """The network's entry, network_entry's: made of one part per name and per address."""
    names, ptr = network.names, network.ptr
    name_parts = {k: _name_part(k, v) for k, v in names.items()}
    ptr_parts = {a: f"{_text(a)}:{_text(n)}" for a, n in ptr.items()}
    return _joined(name, network, sorted(names), name_parts, sorted(ptr), ptr_parts)


def grown(entry: Entry, name: str, network: DnsNetwork, names: Iterable[str], addresses: Iterable[str]) -> Entry:
    """entry_of(name, network) for a network that is the entry's with `names` (new or changed) and PTRs
    of `addresses` (new) added, nothing else differing."""
    keys, name_parts, ptrs, ptr_parts = list(entry.names), dict(entry.name_parts), list(entry.ptrs), dict(entry.ptr_parts)
    for k in dict.fromkeys(names):
        if k not in name_parts:
            insort(keys, k)
        name_parts[k] = _name_part(k, network.names[k])
    for a in dict.fromkeys(addresses):
        if a not in ptr_parts:
            insort(ptrs, a)
        ptr_parts[a] = f"{_text(a)}:{_text(network.ptr[a])}"
    return _joined(name, network, keys, name_parts, ptrs, ptr_parts)


def _name_part(name: str, addresses: tuple[str, ...]) -> str:
    return f"{_text(name)}:[{','.join(map(_text, addresses))}]"


def _joined(name: str, network: DnsNetwork, names: list[str], name_parts: dict[str, str], ptrs: list[str],
            ptr_parts: dict[str, str]) -> Entry:
    text = (f'{_text(name)}:{{"names":{{{",".join(map(name_parts.__getitem__, names))}}},'
            f'"ptr":{{{",".join(map(ptr_parts.__getitem__, ptrs))}}},"ttl":{network.ttl}}}')
    return Entry(network, text, names, name_parts, ptrs, ptr_parts)
