"""What the resolver's loop makes of what arrives on a socket, before any forwarding
(reconciler/resolver/server.py Resolver.first): no socket, no namespace."""

from __future__ import annotations

import dns.flags
import dns.message
import dns.rcode
import dns.reversename

from reconciler.model.dns import DnsAsker, DnsNetwork, DnsState
from reconciler.resolver.answer import Names
from reconciler.resolver.server import Options, Pending, Resolver


def resolver(state: DnsState) -> Resolver:
    made = Resolver(Options())
    made.names = Names(state)
    return made


STATE = DnsState(networks={"n": DnsNetwork(names={"web": ("10.0.0.2",), "bad": ("not-an-address",)},
                                           ptr={"10.0.0.9": "x" * 300})},
                 askers={"a": DnsAsker(networks=("n",), servers=("192.0.2.1",))})


def test_a_name_of_ours_is_answered_at_once_and_another_is_to_forward():
    query = dns.message.make_query("web", "A")
    reply = dns.message.from_wire(resolver(STATE).first("a", query.to_wire(), tcp=False))
    assert reply.id == query.id and [r.to_text() for r in reply.answer[0]] == ["10.0.0.2"]
    pending = resolver(STATE).first("a", dns.message.make_query("example.com", "A").to_wire(), tcp=False)
    assert isinstance(pending, Pending) and pending.servers == ("192.0.2.1",)


def test_garbage_with_a_header_gets_formerr_with_its_id_and_a_short_one_nothing():
    reply = resolver(STATE).first("a", b"\x12\x34\x01\x00" + b"\x00\x01" + b"\x00" * 6 + b"\xff", tcp=False)
    assert reply[:2] == b"\x12\x34" and reply[2] & 0x80 and reply[3] & 0x0F == dns.rcode.FORMERR
    assert resolver(STATE).first("a", b"\x12\x34", tcp=False) is None


def test_a_response_is_never_answered():
    query = dns.message.make_query("web", "A")
    query.flags |= dns.flags.QR
    assert resolver(STATE).first("a", query.to_wire(), tcp=False) is None


def test_what_the_state_says_wrong_is_left_out_or_servfail_never_a_crash():
    reply = dns.message.from_wire(resolver(STATE).first("a", dns.message.make_query("bad", "A").to_wire(), tcp=False))
    assert reply.rcode() == dns.rcode.NOERROR and reply.answer == []
    query = dns.message.make_query(dns.reversename.from_address("10.0.0.9"), "PTR")
    reply = dns.message.from_wire(resolver(STATE).first("a", query.to_wire(), tcp=False))
    assert reply.rcode() == dns.rcode.SERVFAIL and reply.id == query.id


def test_a_load_lists_the_namespaces_once_instead_of_reading_each_askers_path(monkeypatch):
    """A reload with many askers: one pass over /run/netns, not a path walked per asker; those absent
    (and a name that is no file right under it) are not served."""
    import asyncio

    from reconciler.kernel import netns
    from reconciler.resolver import listen

    listed: list[int] = []
    monkeypatch.setattr(netns, "named_inodes", lambda: listed.append(1) or {})
    monkeypatch.setattr(listen, "current_inode", lambda name: (_ for _ in ()).throw(AssertionError(name)))
    askers = {name: DnsAsker(networks=("n",)) for name in ("nrunit-a", "nrunit-b", "..")}

    served = asyncio.run(Resolver(Options()).load(DnsState(networks=STATE.networks, askers=askers)))

    assert served == {} and listed == [1]


def test_after_a_load_what_lives_on_is_frozen_out_of_the_collectors_passes(tmp_path):
    """A reload of many askers allocates a whole state: the collector's full passes over what the
    resolver holds would cost it more than the reload, so after each load what lives on is frozen."""
    import asyncio
    import gc

    from reconciler.resolver.main import _Loads

    loads = _Loads(str(tmp_path), Resolver(Options()))
    gc.unfreeze()
    try:
        asyncio.run(loads.load_once(fatal=True))
        assert gc.get_freeze_count() > 0 and (tmp_path / "status.json").exists()
    finally:
        gc.unfreeze()


def test_what_was_frozen_is_collected_again_only_after_sockets_were_let_go(tmp_path, monkeypatch):
    """A full collection (frozen objects included) costs a reload of many askers as much as the reload:
    it runs only when sockets were closed since the last one (their objects, frozen, may be garbage)."""
    import asyncio
    import gc

    from reconciler.resolver import main

    unfrozen: list[int] = []
    real = gc.unfreeze
    monkeypatch.setattr(gc, "unfreeze", lambda: unfrozen.append(1) or real())
    loads = main._Loads(str(tmp_path), Resolver(Options()))
    try:
        asyncio.run(loads.load_once(fatal=True))
        asyncio.run(loads.load_once(fatal=False))
        assert unfrozen == []
        loads.let_go = True  # as when a namespace was removed (`gone`)
        asyncio.run(loads.load_once(fatal=False))
        assert unfrozen == [1] and not loads.let_go
    finally:
        real()


def test_the_digest_reported_is_of_the_document_as_written_not_written_out_again(tmp_path):
    """The planner's digest is of the document it wrote: the resolver reports the digest of the text it
    read, not of its state serialised again (as long again as the state: a few ms at 1000 askers)."""
    import asyncio
    import gc
    import json

    from reconciler.model.dns import digest_of
    from reconciler.resolver.main import _Loads

    document = json.dumps(json.loads(STATE.to_json()) | {"askers": {}}, indent=1)  # not the canonical form
    (tmp_path / "state.json").write_text(document)
    try:
        asyncio.run(_Loads(str(tmp_path), Resolver(Options())).load_once(fatal=True))
    finally:
        gc.unfreeze()
    reported = json.loads((tmp_path / "status.json").read_text())["digest"]
    assert reported == digest_of(document) != DnsState.from_json(document).digest


def test_a_reload_leaves_the_sockets_it_keeps_alone(monkeypatch):
    """Only an asker that is new, or whose namespace is another now, goes through the opening of
    sockets (a coroutine's round per asker kept cost a reload of many askers as much as its work)."""
    import asyncio
    from types import SimpleNamespace

    from reconciler.kernel import netns
    from reconciler.resolver import server

    monkeypatch.setattr(netns, "named_inodes", lambda: {"kept": 1, "new": 2, "replaced": 4})
    reopened: list[str] = []

    async def reopen(self, name, held, now):
        reopened.append(name)

    monkeypatch.setattr(server.Resolver, "_reopen", reopen)
    made = Resolver(Options())
    made.serving = {n: SimpleNamespace(sockets=SimpleNamespace(inode=i)) for n, i in (("kept", 1), ("replaced", 3))}
    askers = {name: DnsAsker(networks=("n",)) for name in ("kept", "new", "replaced")}
    asyncio.run(made.load(DnsState(networks=STATE.networks, askers=askers)))
    assert reopened == ["new", "replaced"]


def test_a_reload_reads_each_kept_askers_inode_once_and_says_what_it_let_go_of(tmp_path, monkeypatch):
    """A reload of many askers kept: each one's namespace compared once with the listing, and what it
    serves told without another pass over every asker (two more, before: what was served before the
    load, and after); a full collection follows only when it closed sockets (an asker gone)."""
    import asyncio
    import gc
    from types import SimpleNamespace

    from reconciler.kernel import netns
    from reconciler.resolver import listen, main, server

    reads: list[str] = []

    class Sockets:
        def __init__(self, name: str, inode: int) -> None:
            self.name, self._inode = name, inode

        @property
        def inode(self) -> int:
            reads.append(self.name)
            return self._inode

    names = {f"a{i}": 10 + i for i in range(5)}
    monkeypatch.setattr(netns, "named_inodes", lambda: names)
    monkeypatch.setattr(listen, "open_in", lambda name, address, port: Sockets(name, names[name]))

    async def serve(self, name, sockets):
        return SimpleNamespace(sockets=sockets, close=lambda: None)

    monkeypatch.setattr(server.Resolver, "_serve", serve)
    loads = main._Loads(str(tmp_path), Resolver(Options()))
    state = DnsState(networks=STATE.networks, askers={n: DnsAsker(networks=("n",)) for n in names})
    (tmp_path / "state.json").write_text(state.to_json())
    try:
        asyncio.run(loads.load_once(fatal=True))
        reads.clear()
        asyncio.run(loads.load_once(fatal=False))
        assert sorted(reads) == sorted(names) and not loads.let_go
        assert loads.resolver.served() == names
        fewer = DnsState(networks=STATE.networks, askers={n: DnsAsker(networks=("n",)) for n in list(names)[1:]})
        (tmp_path / "state.json").write_text(fewer.to_json())
        unfrozen: list[int] = []
        real = gc.unfreeze
        monkeypatch.setattr(gc, "unfreeze", lambda: unfrozen.append(1) or real())
        asyncio.run(loads.load_once(fatal=False))
        assert unfrozen == [1] and loads.resolver.served() == {n: i for n, i in names.items() if n != "a0"}
        status = (tmp_path / "status.json").read_text()
        assert '"serving":{"a1":11,"a2":12,"a3":13,"a4":14}' in status
    finally:
        gc.unfreeze()
