"""Refusals that keep a bad source from destroying anything (pure checks on a plan)."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.errors import RefusedError
from reconciler.input.spec import Manifests
from reconciler.planning.plan import Action, Observed, Plan


@dataclass(frozen=True)
class Limits:
    """The guards' limits from the command line: --allow-empty, --max-delete, --force."""

    allow_empty: bool = False
    max_delete: float = 0.5
    force: bool = False


def deleted_count(plan: Plan) -> int:
    return sum(1 + len(s.implied) for s in plan.steps if s.action is Action.DELETE)


def owned_count(observed: Observed) -> int:
    return sum(1 for obj in observed.objects.values() if obj.prunable)


def check(m: Manifests, observed: Observed, plan: Plan, limits: Limits, applied: frozenset[str] | None = None) -> None:
    """Raise RefusedError when the manifests are empty, or the plan deletes more than allowed: judged on
    the source, against `applied` (the manifest objects, of every host, last applied with success
    here), or without that record on the share of what netreconcile owns here."""
    deleting = deleted_count(plan)
    if not deleting:
        return
    if not m.networks and not m.endpoints:
        _check_empty(deleting, limits)
    elif limits.force:
        return
    elif applied:
        _check_source(m, applied, deleting, limits)
    else:
        _check_owned(owned_count(observed), deleting, limits)


def _check_empty(deleting: int, limits: Limits) -> None:
    """Manifests that declare nothing delete everything: what --allow-empty asks for, and only it."""
    if not limits.allow_empty:
        raise RefusedError(
            f"the manifests declare nothing: applying them would delete all {deleting} objects netreconcile "
            f"owns here; pass --allow-empty if that is what you want"
        )


def _check_owned(owned: int, deleting: int, limits: Limits) -> None:
    """Without a record of the last source applied: judged on the share of what is owned here."""
    if owned and deleting / owned > limits.max_delete:
        raise RefusedError(
            f"this apply would delete {deleting} of the {owned} objects netreconcile owns here "
            f"({deleting / owned:.0%}, more than --max-delete {limits.max_delete:.0%}); "
            f"check the manifests, or pass --force"
        )


def _check_source(m: Manifests, applied: frozenset[str], deleting: int, limits: Limits) -> None:
    """A host may rightly delete all it owns (its endpoints moved to another host); a source that lost
    much of what was last applied is what the guard is for (a truncated checkout, a wrong directory)."""
    gone = sorted(applied - m.owners)
    if len(gone) / len(applied) > limits.max_delete:
        shown = ", ".join(gone[:5]) + (f" and {len(gone) - 5} more" if len(gone) > 5 else "")
        raise RefusedError(
            f"this apply would delete {deleting} objects netreconcile owns here: {len(gone)} of the {len(applied)} "
            f"manifest objects last applied are gone from the source ({shown}; {len(gone) / len(applied):.0%}, "
            f"more than --max-delete {limits.max_delete:.0%}); check the manifests, or pass --force"
        )


def check_foreign(plan: Plan, force: bool) -> None:
    """Raise RefusedError when the plan removes a namespace holding what we did not create (a link made
    by hand, a running process), unless forced: its removal would take them along."""
    held = [f"netns {s.obj.title} holds what netreconcile did not create: {', '.join(s.foreign)}"
            for s in plan.steps if s.foreign]
    if held and not force:
        it = "it" if len(held) == 1 else "them"
        raise RefusedError("\n".join(held) + f"\nremoving {it} would take that along: nothing was changed; "
                           f"pass --force to remove {it} anyway")
