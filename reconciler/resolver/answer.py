"""What the resolver does with one query from one asker: answer it from our names, forward it, or
refuse it. Pure: no I/O, no clock; the random order of addresses comes from the caller's `random`.

Policy (Docker's embedded DNS, moby libnetwork/resolver.go, unless said otherwise):
- a name of one of the asker's networks (the first network, in the asker's order, that has it),
  case-insensitive, with or without the final dot: its addresses of the asked family, shuffled on every
  answer, with the network's TTL; a known name without an address of that family, or asked for another
  type (MX, TXT, ...): an empty NOERROR, never forwarded (Docker forwards the other types: that would
  send our names out);
- PTR of an address of the asker's networks: its name;
- anything else: forwarded (to the asker's servers, None meaning the host's), or, when the asker may not
  forward (every network internal), SERVFAIL: what Docker returns when it cannot proxy.
"""

from __future__ import annotations

import functools
import ipaddress
import random
from dataclasses import dataclass

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.reversename
import dns.rrset

from reconciler.model.dns import DnsAsker, DnsNetwork, DnsState

UDP_MINIMUM = 512  # RFC 1035: what a UDP client without EDNS accepts
TCP_MAXIMUM = 65535
FAMILY = {dns.rdatatype.A: 4, dns.rdatatype.AAAA: 6}


@dataclass(frozen=True)
class Reply:
    """Answer the asker with this message."""

    message: dns.message.Message


@dataclass(frozen=True)
class Forward:
    """Send the query on to these servers in turn (None: the host's upstream servers)."""

    servers: tuple[str, ...] | None


Outcome = Reply | Forward


class Names:
    """A DnsState indexed for answering: each network's PTR table keyed by the address in canonical
    form (the planner may write an IPv6 address in any of its spellings); that of `last` kept for a
    network that is the very one it was made of (model.dns.read keeps a network whose JSON is equal)."""

    def __init__(self, state: DnsState, last: Names | None = None) -> None:
        self.state = state
        before = last.state.networks if last is not None else {}
        self.ptr: dict[str, dict[str, str]] = {name: last.ptr[name] if last is not None and before.get(name) is net else _ptr_table(net.ptr)
                    for name, net in state.networks.items()}
        self.anywhere = {n for net in state.networks.values() for n in net.names}

    def networks(self, asker: DnsAsker) -> list[tuple[str, DnsNetwork]]:
        return [(n, self.state.networks[n]) for n in asker.networks if n in self.state.networks]

    def lookup(self, asker: DnsAsker, name: str) -> tuple[tuple[str, ...], int] | None:
        """(addresses, ttl) of `name` (lowercase, no final dot) as the asker sees it; None: unknown."""
        for _, network in self.networks(asker):
            addresses = network.names.get(name)
            if addresses is not None:
                return addresses, network.ttl
        return None

    def reverse(self, asker: DnsAsker, address: str) -> tuple[str, int] | None:
        """(name, ttl) of the PTR record of a canonical address as the asker sees it; None: unknown."""
        for name, network in self.networks(asker):
            found = self.ptr[name].get(address)
            if found is not None:
                return found, network.ttl
        return None


def decide(names: Names, asker_name: str, query: dns.message.Message, rng: random.Random) -> Outcome:
    """What to do with `query` arriving on the sockets of namespace `asker_name`."""
    asker = names.state.askers.get(asker_name)
    if asker is None:  # its sockets are being closed by a reload
        return Reply(_response(query, dns.rcode.REFUSED))
    if query.opcode() != dns.opcode.QUERY:
        return Reply(_response(query, dns.rcode.NOTIMP))
    if len(query.question) != 1:
        return Reply(_response(query, dns.rcode.FORMERR))
    question = query.question[0]
    own = _own_answer(names, asker, query, question, rng) if question.rdclass == dns.rdataclass.IN else None
    if own is not None:
        return Reply(own)
    if _plain(question.name) in names.anywhere:  # a name of a network the asker is not on: not forwarded
        return Reply(_response(query, dns.rcode.NXDOMAIN))
    if not asker.forward:
        return Reply(_response(query, dns.rcode.SERVFAIL))
    return Forward(asker.servers)


def _own_answer(names: Names, asker: DnsAsker, query: dns.message.Message, question: dns.rrset.RRset,
                rng: random.Random) -> dns.message.Message | None:
    if question.rdtype == dns.rdatatype.PTR:
        return _ptr_answer(names, asker, query, question)
    found = names.lookup(asker, _plain(question.name))
    if found is None:
        return None
    addresses, ttl = found
    response = _response(query, dns.rcode.NOERROR)
    family = FAMILY.get(question.rdtype)
    wanted = [a for a in addresses if family is not None and _version(a) == family]
    if wanted:
        rng.shuffle(wanted)
        response.answer.append(dns.rrset.from_text_list(question.name, ttl, dns.rdataclass.IN,
                                                        question.rdtype, wanted))
    return response


def _ptr_answer(names: Names, asker: DnsAsker, query: dns.message.Message,
                question: dns.rrset.RRset) -> dns.message.Message | None:
    try:
        address = _canonical(dns.reversename.to_address(question.name))
    except (dns.exception.SyntaxError, ValueError):
        return None  # not a whole address under in-addr.arpa / ip6.arpa: not ours
    found = names.reverse(asker, address) if address else None
    if found is None:
        return None
    target, ttl = found
    response = _response(query, dns.rcode.NOERROR)
    response.answer.append(dns.rrset.from_text_list(question.name, ttl, dns.rdataclass.IN, dns.rdatatype.PTR,
                                                    [dns.name.from_text(target).to_text()]))
    return response


def _response(query: dns.message.Message, rcode: dns.rcode.Rcode) -> dns.message.Message:
    response = dns.message.make_response(query, recursion_available=True)
    response.set_rcode(rcode)
    return response


def refusal(query: dns.message.Message, rcode: dns.rcode.Rcode = dns.rcode.SERVFAIL) -> dns.message.Message:
    """An empty answer with this rcode: when forwarding failed, or too many queries are in flight."""
    return _response(query, rcode)


def render(response: dns.message.Message, query: dns.message.Message, tcp: bool) -> bytes:
    """The response's wire form within what the client takes: over UDP 512 bytes or its EDNS payload size,
    with addresses left out one by one (as Docker: a client that never retries over TCP still gets some)
    and TC set; over TCP 65535 bytes."""
    limit = TCP_MAXIMUM if tcp else max(UDP_MINIMUM, query.payload if query.edns >= 0 else 0)
    try:
        return response.to_wire(max_size=limit)
    except dns.exception.TooBig:
        return _truncated(response, limit)


def _truncated(response: dns.message.Message, limit: int) -> bytes:
    answer, flags = response.answer, response.flags
    try:
        return _cut(response, limit)
    finally:  # the caller's message is left whole
        response.answer, response.flags = answer, flags


def _cut(response: dns.message.Message, limit: int) -> bytes:
    rrset = response.answer[0]
    records = list(rrset)
    response.flags |= dns.flags.TC
    low, high = 0, len(records)  # `low` records fit, `high` do not
    while high - low > 1:
        middle = (low + high) // 2
        try:
            _with_records(response, rrset, records[:middle], limit)
            low = middle
        except dns.exception.TooBig:
            high = middle
    return _with_records(response, rrset, records[:low], limit)


def _with_records(response: dns.message.Message, rrset: dns.rrset.RRset, records: list[dns.rdata.Rdata],
                  limit: int) -> bytes:
    part = dns.rrset.RRset(rrset.name, rrset.rdclass, rrset.rdtype)
    for record in records:
        part.add(record, rrset.ttl)
    response.answer = [part] if records else []
    return response.to_wire(max_size=limit)


def _plain(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True).lower()


def _version(address: str) -> int:
    try:
        return ipaddress.ip_address(address).version
    except ValueError:
        return 0


def _ptr_table(ptr: dict[str, str]) -> dict[str, str]:
    """A network's PTR names by canonical address (what `_canonical` makes of a query's address)."""
    table = {}
    for address, name in ptr.items():
        if canonical := _state_canonical(address):
            table[canonical] = name
    return table


def _canonical(address: str) -> str:
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return ""


# The state's addresses are parsed again on every reload, and nearly all were in the state before: kept
# (bounded) so that a reload costs what changed, not an address parse per endpoint.
_state_canonical = functools.lru_cache(maxsize=1 << 16)(_canonical)
