"""The verifier after an apply or destroy waits while the kernel is settling (fewer differences at each
re-plan, as when thousands of removed namespaces' links go with the kernel's batched teardown), and
gives up when the differences stop shrinking."""

from __future__ import annotations

import pytest

from reconciler.applying.executor import Verifier
from reconciler.errors import VerifyError
from reconciler.model import Netns
from reconciler.planning.plan import Action, Plan, Step


def _plans(*sizes: int):
    """A replan that returns plans of these many differences in turn (then the last again)."""
    seen = list(sizes)

    def replan() -> Plan:
        size = seen.pop(0) if len(seen) > 1 else seen[0]
        return Plan(tuple(Step(Action.DELETE, None, Netns(f"n{i}")) for i in range(size)))
    return replan


def test_waits_on_while_the_differences_shrink():
    Verifier(_plans(9, 8, 7, 6, 5, 4, 3, 2, 1, 0), pause=0)()


def test_gives_up_when_they_stop_shrinking():
    with pytest.raises(VerifyError, match="n0"):
        Verifier(_plans(9, 8, 8, 8, 8, 8, 0), pause=0)()


def test_gives_up_at_the_deadline_even_while_shrinking():
    with pytest.raises(VerifyError):
        Verifier(_plans(*range(1000, 0, -1)), pause=0.001, settle_within=0.01)()


def test_a_difference_that_stays_is_given_time_to_settle():
    """One link of a removed namespace the kernel tears down late (under load): the same difference at
    four re-plans, then none."""
    Verifier(_plans(1, 1, 1, 1, 0), pause=0.001)()
