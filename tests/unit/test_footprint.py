"""What an apply's verification compares, without a kernel: the namespaces and objects its steps
wrote, the host's objects always, our nftables table only when a step wrote it."""

from __future__ import annotations

from reconciler.applying.verification import Footprint
from reconciler.model import Address, Bridge, Netns, NftTable, Route, Veth
from reconciler.planning.plan import Action, Plan, Step


def footprint(*steps: Step) -> Footprint:
    return Footprint.of(Plan(tuple(steps)))


def create(obj) -> Step:
    return Step(Action.CREATE, obj, None)


def test_a_step_in_a_namespace_brings_what_else_lives_there():
    written = footprint(create(Address("ep1", "eth0", "10.0.0.2/24")))
    assert written.namespaces == {"ep1"} and not written.table
    assert Route("ep1", "default", "10.0.0.1", "eth0") in written
    assert Address("ep2", "eth0", "10.0.0.3/24") not in written


def test_the_hosts_objects_are_always_compared_but_our_table_only_when_written():
    written = footprint(create(Address("ep1", "eth0", "10.0.0.2/24")))
    assert Bridge("br-a") in written
    assert NftTable() not in written
    assert NftTable() in footprint(create(NftTable()))


def test_a_namespace_deleted_brings_what_it_took_along():
    gone = Step(Action.DELETE, None, Netns("ep1"), implied=(Veth("v1", "ep1", "eth0"),))
    written = footprint(gone)
    assert written.namespaces == {"ep1"} and Veth("v1", "ep1", "eth0").key in written.keys


def test_an_orphaned_veth_is_in_by_its_key_only():
    orphan = Veth("v1", "", "eth0")
    assert orphan in footprint(Step(Action.DELETE, None, orphan))
    assert Veth("v2", "", "eth0") not in footprint(Step(Action.DELETE, None, orphan))


def test_within_keeps_what_in_keeps():
    written = footprint(create(Address("ep1", "eth0", "10.0.0.2/24")), Step(Action.DELETE, None, Veth("v1", "", "eth0")))
    objects = [Route("ep1", "default", "10.0.0.1", "eth0"), Address("ep2", "eth0", "10.0.0.3/24"), Bridge("br-a"),
               NftTable(), Veth("v1", "", "eth0"), Veth("v2", "", "eth0"), Netns("ep1"), Netns("ep2")]
    assert written.within(objects) == [o for o in objects if o in written]
    assert [o.key for o in written.within(objects)] == [Route("ep1", "default", "10.0.0.1", "eth0").key,
                                                        Bridge("br-a").key, Veth("v1", "", "eth0").key, ("netns", "ep1")]
    with_table = footprint(create(NftTable()))
    assert with_table.within(objects) == [o for o in objects if o in with_table]
