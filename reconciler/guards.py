"""Refusals that keep a bad source from destroying anything (pure checks on a plan)."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.errors import NetreconcileError
from reconciler.plan import Action, Observed, Plan
from reconciler.spec import Manifests


class RefusedError(NetreconcileError):
    """The plan would delete too much; nothing was changed. The user decides (--allow-empty, --force)."""


@dataclass(frozen=True)
class Limits:
    allow_empty: bool = False
    max_delete: float = 0.5
    force: bool = False


def deleted_count(plan: Plan) -> int:
    return sum(1 + len(s.implied) for s in plan.steps if s.action is Action.DELETE)


def owned_count(observed: Observed) -> int:
    return sum(1 for obj in observed.objects.values() if obj.prunable)


def check(m: Manifests, observed: Observed, plan: Plan, limits: Limits) -> None:
    """Raise RefusedError when the manifests are empty, or the plan deletes more than allowed."""
    deleting = deleted_count(plan)
    if not deleting:
        return
    empty = not m.networks and not m.endpoints
    if empty and limits.allow_empty:
        return  # deleting everything is exactly what --allow-empty asks for
    if empty:
        raise RefusedError(
            f"the manifests declare nothing: applying them would delete all {deleting} objects netreconcile "
            f"owns here; pass --allow-empty if that is what you want"
        )
    owned = owned_count(observed)
    if not limits.force and owned and deleting / owned > limits.max_delete:
        raise RefusedError(
            f"this apply would delete {deleting} of the {owned} objects netreconcile owns here "
            f"({deleting / owned:.0%}, more than --max-delete {limits.max_delete:.0%}); "
            f"check the manifests, or pass --force"
        )
