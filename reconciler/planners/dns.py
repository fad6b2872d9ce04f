"""Names through the embedded resolver: what it answers on this host (a DnsState, per network), the
Resolver that serves it in every local endpoint's namespace, and each endpoint's resolv.conf. Pure."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from ipaddress import ip_address
from operator import is_
from typing import TypeVar

from reconciler.input.ipam import Addresses
from reconciler.input.spec import Endpoint, IPAddress, Manifests, Network, Service
from reconciler.model import RESOLV_MARK, ResolvConf
from reconciler.model.dns import (
    DEFAULT_TTL,
    DnsAsker,
    DnsNetwork,
    DnsState,
    Resolver,
    asker_entry,
    assembled,
    digest_of,
    ordered,
)
from reconciler.planners.dnsentry import Entry, entry_of, grown
from reconciler.planners.memo import Memo
from reconciler.planners.services import address_of, vip

RESOLVER_ADDRESS = "127.0.0.11"


MemberNames = tuple[tuple[str, ...], tuple[str, ...], str]  # names, addresses as text, PTR name
ServiceNames = tuple[tuple[tuple[str, tuple[str, ...]], ...], tuple[str, ...], str]  # names with addresses, VIPs, PTR name
Member = Callable[[Endpoint, str, IPAddress | None, IPAddress | None], MemberNames]
Asker = Callable[[Endpoint, tuple[Network, ...]], DnsAsker]
Made = Callable[[str, int, tuple[MemberNames, ...], tuple[ServiceNames, ...]], DnsNetwork]
Names = Callable[[Network, list[Endpoint]], DnsNetwork]
Families = Mapping[tuple[str, int], object]  # (network, IP version) -> the addresses allocated in it (a dict)
A = TypeVar("A")
View = tuple[Endpoint, tuple[str, ...], "A | None"]  # an endpoint, its networks, its asker if it is local (view_of)


def dns_state(m: Manifests, addresses: Addresses, member: Member | None = None, asker: Asker | None = None,
              made: Made | None = None) -> DnsState:
    """The names of every network, and an asker per endpoint of this host. `member`, `asker` and `made`
    stand for member_names, asker_of and network_of (DnsPlanner gives memoised ones)."""
    return DnsState(*_gathered(m, addresses, member or member_names, asker or asker_of, made))


def _gathered(m: Manifests, addresses: Addresses, member: Member, asker: Callable[[Endpoint, tuple[Network, ...]], A],
              made: Made | None = None, named: Names | None = None,
              views: Iterable[View[A]] | None = None) -> tuple[dict[str, DnsNetwork], dict[str, A]]:
    """dns_state's networks and askers, an asker being what `asker` makes of an endpoint (its DnsAsker,
    or DnsPlanner's entry of it in the document); `named` stands for _network, `views` for view_of of
    each endpoint (DnsPlanner's keep some)."""
    made = made or (lambda _, ttl, found, services: network_of(ttl, found, services))
    made_of = made
    named = named or (lambda n, members: _network(n, members, m, addresses, member, made_of))
    members: dict[str, list[Endpoint]] = {n.name: [] for n in m.networks}
    askers: dict[str, A] = {}
    views = views if views is not None else (view_of(m, ep, asker) for ep in m.endpoints)
    for ep, names, asked in views:  # one pass: each network's endpoints, in manifest order, and each local one's view
        for name in names:
            members.setdefault(name, []).append(ep)
        if asked is not None:
            askers[ep.netns] = asked
    networks = {n.name: named(n, members[n.name]) for n in m.networks}
    return networks, askers


def view_of(m: Manifests, ep: Endpoint, asker: Callable[[Endpoint, tuple[Network, ...]], A]) -> View[A]:
    """The endpoint's networks (each once, in interface order), and its asker when it is local."""
    names = _networks_of(ep)
    if not names or not m.is_local(ep):
        return ep, names, None
    network = m.network
    return ep, names, asker(ep, (network(names[0]),) if len(names) == 1 else tuple(map(network, names)))


def _networks_of(ep: Endpoint) -> tuple[str, ...]:
    """The endpoint's networks, each once, in interface order."""
    if len(ep.interfaces) == 1:  # most endpoints: nothing to merge
        return (ep.interfaces[0].network,)
    return tuple(dict.fromkeys(i.network for i in ep.interfaces))


class DnsPlanner:
    """The resolver planned again and again (the watch's Planner keeps one): each endpoint's names and
    view's entry in the document, each network's names and entry, kept while what
    they are made of stays equal (Memo: compared with the arguments they were made of, by network or
    endpoint name; an endpoint's view, by the endpoint, while this host and the networks are the same).
    A plan after one endpoint more makes again that endpoint's pieces and its networks', and joins the
    others' entries as they were: the document is the one DnsState.to_json writes.

    Given `families` (the allocation's dict of each network and family: the Planner's, the same object
    while its allocation is kept), a network without Services keeps its names from the last plan, with
    no test per member, while it is the same network, its endpoints the same objects in the same order,
    this host the same, and each of its families the very same dict of addresses. What invalidates it:
    any of these differing; a Service on it (a Service's names depend on every endpoint); no families."""

    def __init__(self) -> None:
        self._members: dict[str, Memo[MemberNames]] = {}  # each network's, kept with the network
        self._networks = Memo(network_of)
        self._entries: dict[str, Entry] = {}  # each network's entry in the document, by network name
        self._grown: dict[str, tuple[DnsNetwork, tuple[MemberNames, ...]]] = {}  # the names grown of in this plan
        self._views: dict[str, View[str]] = {}  # by endpoint name: its view, its asker's entry made
        self._viewed: tuple[object, ...] = ()  # what every view was made in: this host, the networks
        self._kept: dict[str, tuple[tuple[object, ...], DnsNetwork]] = {}

    def resolver(self, m: Manifests, addresses: Addresses, families: Families | None = None) -> Resolver | None:
        """The resolver serving the names of dns_state (its document to_json's); none when no endpoint
        here needs one."""
        self._networks.next_generation()
        self._grown = {}
        kept, self._kept = self._kept, {}
        members_kept, self._members = self._members, {}
        made: Made = lambda net, ttl, found, services: self._networks(net, ttl, found, services)
        served = {s.network for s in m.services}

        def names(network: Network, members: list[Endpoint]) -> DnsNetwork:
            inputs = None if families is None or network.name in served else (
                network, m.host, bool(m.hosts), families.get((network.name, 4)), families.get((network.name, 6)), *members)
            known = kept.get(network.name)
            names_of = self._members[network.name] = members_kept.get(network.name) or Memo(member_names)
            if inputs is not None and known is not None and len(known[0]) == len(inputs) and (
                    all(map(is_, known[0], inputs)) or known[0] == inputs):  # equal: a family allocated again alike
                found = known[1]
                self._networks.keep(network.name)  # it and its members' names (in names_of, untouched) stay
            else:
                member: Member = lambda ep, net, v4, v6: names_of(ep.name, ep, net, v4, v6)
                added = _grown(known[0], inputs) if inputs is not None and known is not None else []
                more = _network_members(network, added, m, addresses, member) if added else ()
                bigger = _appended(known[1], more) if added and known else None
                if bigger is None:
                    names_of.next_generation()
                elif known:
                    self._grown[network.name] = (known[1], more)
                found = bigger if bigger is not None else _network(network, members, m, addresses, member, made)
            if inputs is not None:
                self._kept[network.name] = (inputs, found)
            return found

        networks, askers = _gathered(m, addresses, member_names, _asker_entry_of, made, names, self._viewed_all(m))
        if not askers:
            return None
        kept_entries, self._entries = self._entries, {}
        document = assembled({n: self._entry(n, v, kept_entries.get(n)) for n, v in networks.items()}, askers)
        return Resolver(digest_of(document), tuple(sorted(askers)), state=document)

    def _entry(self, name: str, network: DnsNetwork, kept: Entry | None) -> str:
        """The network's entry in the document: the one kept while its names are the same (or equal);
        the kept one with the names added when they grew from it in this plan (see _appended)."""
        before = self._grown.get(name)
        if kept is not None and (kept.network is network or kept.network == network):
            entry = kept
        elif kept is not None and before is not None and before[0] is kept.network:
            found = before[1]
            entry = grown(kept, name, network, (n for f in found for n in f[0]), (a for f in found for a in f[1]))
        else:
            entry = entry_of(name, network)
        self._entries[name] = entry
        return entry.text

    def _viewed_all(self, m: Manifests) -> list[View[str]]:
        """view_of each endpoint with its asker's entry, kept while the endpoint is the same (or an equal
        one) and this host and the networks are the same as those the views kept were made in."""
        viewed = (m.host, bool(m.hosts), m.networks)
        known = (self._views if viewed == self._viewed else {}).get
        views = [found if (found := known(ep.name)) is not None and (found[0] is ep or found[0] == ep)
                 else view_of(m, ep, _asker_entry_of) for ep in m.endpoints]
        self._views, self._viewed = {v[0].name: v for v in views}, viewed
        return views


def _asker_entry_of(ep: Endpoint, declared: tuple[Network, ...]) -> str:
    """The endpoint's asker's entry in the resolver's document (see asker_of): what DnsPlanner keeps."""
    return asker_entry(ep.netns, asker_of(ep, declared))


def resolv_conf(ep: Endpoint, search: tuple[str, ...]) -> ResolvConf:
    """The endpoint's resolv.conf: the resolver in its namespace; the host's search domains (as Docker
    does); ndots:0, so that a single-label name is asked as it is, first."""
    lines = [f"nameserver {RESOLVER_ADDRESS}", *([f"search {' '.join(search)}"] if search else []), "options ndots:0"]
    return ResolvConf(ep.netns, RESOLV_MARK + "\n".join(lines) + "\n", owner=ep.owner)


def _network(network: Network, members: list[Endpoint], m: Manifests, addresses: Addresses,
             member: Member, made: Made) -> DnsNetwork:
    found = _network_members(network, members, m, addresses, member)
    services = tuple(_service_names(s, m, addresses) for s in m.services if s.network == network.name)
    return made(network.name, network.dns.ttl if network.dns.ttl is not None else DEFAULT_TTL, found, services)


def _network_members(network: Network, members: list[Endpoint], m: Manifests, addresses: Addresses,
                     member: Member) -> tuple[MemberNames, ...]:
    """The names of those of `members` the network serves here (all when it spans hosts, else the local ones)."""
    spans_hosts = network.overlay is not None
    return tuple(member(ep, network.name, address_of(addresses, ep, network.name, 4),
                        address_of(addresses, ep, network.name, 6))
                 for ep in members if spans_hosts or m.is_local(ep))


_FIRST = 5  # a network's inputs in DnsPlanner: the network, this host, whether hosts are declared, its two families; its members


def _grown(before: tuple[object, ...], after: tuple[object, ...]) -> list[Endpoint]:
    """The members a network's inputs (see DnsPlanner.resolver) gained, when they are those it was made
    of with members added: the same network and host, the members it had still there in order (the very
    endpoints), and in each family the same addresses under each key it held, any key it gains being an
    added member's. None gained otherwise."""
    if len(after) <= len(before) or after[0] is not before[0] or after[1:3] != before[1:3]:
        return []
    added = _inserted(before[_FIRST:], after[_FIRST:])
    names = {ep.name for ep in added}
    return added if added and all(_same_but_added(before[i], after[i], names) for i in (3, 4)) else []


def _inserted(before: tuple[object, ...], after: tuple[object, ...]) -> list[Endpoint]:
    """The members of `after` not in `before`, when `after` is `before` (the very objects, in order)
    with members inserted; none when it is not."""
    added: list[Endpoint] = []
    i, n = 0, len(before)
    for ep in after:
        if i < n and before[i] is ep:
            i += 1
        else:
            added.append(ep)  # type: ignore[arg-type]
    return added if i == n else []


def _same_but_added(before: object, after: object, added: set[str]) -> bool:
    """Whether a family (a dict of addresses, or None) holds the same addresses as before under each key
    it held, and under any other key an address of an added member."""
    if before is after:
        return True
    if not isinstance(before, dict) or not isinstance(after, dict):
        return False
    get = after.get
    return all((a := get(k)) is b or (a is not None and a == b) for k, b in before.items()) and all(
        k[0] in added for k in after.keys() - before.keys())


def _appended(network: DnsNetwork, found: tuple[MemberNames, ...]) -> DnsNetwork | None:
    """The network's names with those of added members (`found`): network_of's of all of them (its names'
    addresses are in one order whatever the members' order); None when an added member's address is one
    the network names already (its PTR name would depend on the members' order)."""
    names, ptr = dict(network.names), dict(network.ptr)
    for own, addresses, pointer in found:
        if any(a in ptr for a in addresses):
            return None
        for name in own:
            had = names.get(name)
            names[name] = ordered((*had, *addresses)) if had else ordered(addresses)
        ptr.update((a, pointer) for a in addresses)
    return DnsNetwork(network.ttl, names, ptr)


def network_of(ttl: int, found: tuple[MemberNames, ...], services: tuple[ServiceNames, ...]) -> DnsNetwork:
    """A network's names from its members' and its Services' (in manifest order)."""
    names: dict[str, list[str]] = {}
    ptr: dict[str, str] = {}
    for own, addresses, pointer in found:
        for name in own:
            names.setdefault(name, []).extend(addresses)
        ptr.update((a, pointer) for a in addresses)
    for entries, vips, pointer in services:
        for name, addresses in entries:
            names.setdefault(name, []).extend(addresses)
        ptr.update((a, pointer) for a in vips)
    return DnsNetwork(ttl, {k: ordered(v) for k, v in names.items()}, ptr)


def _service_names(service: Service, m: Manifests, addresses: Addresses) -> ServiceNames:
    """A Service's name: its VIP (dnsrr: its backends); `tasks.<name>`: every selected backend."""
    spans_hosts = m.network(service.network).overlay is not None
    chosen = [e for e in m.endpoints if service.selects(e) and (spans_hosts or m.is_local(e))]
    backends = tuple(str(a) for e in sorted(chosen, key=lambda e: e.name) for v in (4, 6)
                     if (a := address_of(addresses, e, service.network, v)) is not None)
    vips = tuple(a for a in (vip(service, addresses, v) for v in (4, 6)) if a is not None)
    entries = ((service.name.lower(), vips if service.has_vip else backends), (f"tasks.{service.name}".lower(), backends))
    return entries, vips, f"{service.name}.{service.network}"


def member_names(ep: Endpoint, network: str, ipv4: IPAddress | None, ipv6: IPAddress | None) -> MemberNames:
    """An endpoint's names on a network it is on (lowercase: its name, its aliases there, and
    `<name>.<network>`), its addresses there as text, and the PTR name of those."""
    iface = ep.interface_on(network)
    aliases = iface.aliases if iface is not None else ()
    found = tuple(str(a) for a in (ipv4, ipv6) if a is not None)
    return tuple(n.lower() for n in dict.fromkeys((ep.name, *aliases, f"{ep.name}.{network}"))), found, f"{ep.name}.{network}"


def asker_of(ep: Endpoint, declared: tuple[Network, ...]) -> DnsAsker:
    """An endpoint's view, `declared` its networks in interface order: the servers of the endpoint,
    else of its first network that names some, else those its DHCP leases give, else the host's;
    nothing forwarded when every network is internal."""
    by_name = {n.name: n for n in declared}
    servers = ep.dns.servers or next((n.dns.servers for n in declared if n.dns.servers), None)
    dhcp = tuple(f"{ep.netns}/{i.name}" for i in ep.interfaces if by_name[i.network].dhcp and not by_name[i.network].internal)
    return DnsAsker(tuple(by_name), tuple(str(ip_address(s)) for s in servers) if servers else None,
                    forward=not all(n.internal for n in declared), dhcp=() if servers else dhcp)
