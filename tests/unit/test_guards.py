"""The delete guard judges the source against the record of the last apply; the record, when it
cannot be read, is no record."""

from __future__ import annotations

import pytest

from reconciler.errors import RefusedError
from reconciler.kernel import runstate
from reconciler.model import Netns
from reconciler.planning.guards import Limits, check, check_foreign
from reconciler.planning.plan import Action, Observed, Plan, Step
from unit.helpers import endpoint, network, parse

NET = network("a", "{subnet: 172.20.0.0/24}")


def source(*names: str):
    return parse(NET + "".join(endpoint(n, "[{network: a}]") for n in names))


def deleting(*names: str) -> tuple[Observed, Plan]:
    """Everything owned here is the namespaces `names`, and the plan deletes them all."""
    owned = [Netns(n, owner=f"endpoint/{n}") for n in names]
    return Observed({o.key: o for o in owned}), Plan(tuple(Step(Action.DELETE, None, o) for o in owned))


APPLIED = frozenset({"network/a", "endpoint/e1", "endpoint/e2", "endpoint/e3"})


def test_a_host_may_delete_all_it_owns_while_the_source_is_whole():
    observed, plan = deleting("e3")  # e3 moved to another host: this one deletes all it owns
    check(source("e1", "e2", "e3"), observed, plan, Limits(), APPLIED)
    with pytest.raises(RefusedError, match="100%, more than --max-delete 50%"):
        check(source("e1", "e2", "e3"), observed, plan, Limits())  # no record: the share owned here


def test_a_source_that_lost_more_than_max_delete_of_what_was_applied_is_refused_unless_forced():
    observed, plan = deleting("e2", "e3")
    check(source("e1"), observed, plan, Limits(), APPLIED)  # 2 of 4 gone: 50% is allowed
    with pytest.raises(RefusedError) as refused:
        check(source(), observed, plan, Limits(), APPLIED | {"endpoint/e4"})
    assert "4 of the 5 manifest objects last applied are gone from the source" in str(refused.value)
    assert "--max-delete 50%" in str(refused.value) and "--force" in str(refused.value)
    check(source(), observed, plan, Limits(force=True), APPLIED | {"endpoint/e4"})


def test_a_namespace_holding_foreign_things_needs_force():
    step = Step(Action.DELETE, None, Netns("e1"), foreign=("foreign link fv1", "process 7 (sleep)"))
    with pytest.raises(RefusedError, match=r"netns e1 holds what netreconcile did not create: foreign link fv1, "
                                           r"process 7 \(sleep\)\nremoving it .*--force"):
        check_foreign(Plan((step,)), force=False)
    check_foreign(Plan((step,)), force=True)


@pytest.mark.parametrize("text", ["", "{", "[]", '{"owners": "ab", "sysctls": {}}', '{"owners": [1], "sysctls": {}}',
                                  '{"owners": [], "sysctls": {"e1": "net.x"}}', '{"owners": []}'])
def test_a_record_that_cannot_be_read_is_no_record(tmp_path, monkeypatch, text):
    monkeypatch.setattr(runstate, "RUN_DIR", tmp_path)
    monkeypatch.setattr(runstate, "APPLIED", tmp_path / "applied.json")
    (tmp_path / "applied.json").write_text(text)
    assert runstate.applied() is None


def test_the_record_reads_back_as_written(tmp_path, monkeypatch):
    monkeypatch.setattr(runstate, "RUN_DIR", tmp_path)
    monkeypatch.setattr(runstate, "APPLIED", tmp_path / "applied.json")
    assert runstate.applied() is None
    applied = runstate.Applied(APPLIED, {"e1": ("net.ipv4.ping_group_range",)})
    runstate.record_applied(applied)
    assert runstate.applied() == applied
