"""One reconcile of `netreconcile watch`: the source applied as `apply` applies it, and while the source
is invalid, the last manifests that were valid and applied kept enforced (drift repaired towards them,
nothing pruned). Counts the drifted objects each reconcile repaired: those it found differing from what
the reconcile before left, whatever triggered it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from enum import StrEnum

from reconciler import engine
from reconciler.errors import ManifestError, NetreconcileError, RefusedError, RolledBack
from reconciler.input.cache import ManifestCache
from reconciler.input.spec import Manifests
from reconciler.kernel.cache import KernelCache
from reconciler.kernel.session import Kernel
from reconciler.model import KernelObject, Key
from reconciler.planners import Planner
from reconciler.planning.guards import Limits
from reconciler.planning.subnets import CONFLICT

LOCK_RETRY = 1.0     # with --no-wait: seconds until a skipped reconcile is tried again


class Result(StrEnum):
    """What one reconcile came to (the `result` of the watch's log and its metrics)."""

    NO_CHANGES = "no_changes"
    APPLIED = "applied"
    INVALID = "invalid"    # the source is invalid (see Outcome.enforcing)
    REFUSED = "refused"    # a guard refused; nothing changed
    FAILED = "failed"
    LOCKED = "locked"      # skipped: another netreconcile held the lock


SUCCESS = (Result.NO_CHANGES, Result.APPLIED)
WROTE = (Result.APPLIED, Result.FAILED)  # a failed apply was rolled back: it wrote too


@dataclass(frozen=True)
class Outcome:
    """What one reconcile did. An invalid source with a last good revision: `enforcing` names it,
    `enforced` says what enforcing it came to (no_changes, applied, refused, failed). `repairs`: drifted
    objects repaired, by kind. `rolled_back`: a failed apply was undone."""

    result: Result
    steps: int = 0
    errors: tuple[str, ...] = ()
    enforcing: str = ""
    enforced: Result | None = None
    repairs: tuple[tuple[str, int], ...] = ()
    rolled_back: bool = False
    conflicts: tuple[str, ...] = ()  # the plan's conflict notes: a route over a live network's subnet

    @property
    def touched(self) -> bool:
        """Whether the kernel may have been written (a failed apply was rolled back: it was)."""
        return self.result in WROTE or self.enforced in WROTE

    @property
    def source_valid(self) -> bool | None:
        """Whether the manifests were valid (None: not read, the lock was held elsewhere)."""
        return None if self.result is Result.LOCKED else self.result is not Result.INVALID

    def __str__(self) -> str:
        if self.enforced is not None:
            done = replace(self, result=self.enforced, enforcing="", enforced=None, errors=())
            return f"invalid source, enforcing revision {self.enforcing}: {done}"
        repaired = ", ".join(f"{n} {kind}" for kind, n in self.repairs)
        return f"{self._text()} (drift repaired: {repaired})" if repaired else self._text()

    def _text(self) -> str:
        return {
            Result.NO_CHANGES: "no changes", Result.APPLIED: f"applied {self.steps} step(s)",
            Result.INVALID: f"invalid manifests, {len(self.errors)} problem(s); kept the last applied state",
            Result.REFUSED: "refused by a guard; nothing changed", Result.FAILED: "failed",
            Result.LOCKED: f"skipped, another netreconcile holds the lock; retry in {LOCK_RETRY:g} s",
        }[self.result]


def recorded_result(outcome: Outcome) -> str:
    """The result `status` shows, in the words `apply` uses."""
    if outcome.result in SUCCESS:
        return "success"
    if outcome.result is Result.FAILED:
        return "rolled back" if outcome.rolled_back else "failed"
    return str(outcome.result)


@dataclass(frozen=True)
class Good:
    """The last manifests that were valid and applied: their files' digest, and their git commit when known."""

    manifests: Manifests
    digest: str
    commit: str | None = None

    @property
    def revision(self) -> str:
        return self.commit or f"sha256:{self.digest[:12]}"


class Reconciler:
    """The watch's reconciles, with what they keep between them: the caches of manifests and kernel, the
    last good manifests, and the desired state the kernel was left in (to tell drift from change)."""

    def __init__(self, paths: list[str], limits: Limits, host: str | None = None) -> None:
        self.paths, self.limits, self.host = paths, limits, host
        self.manifests = ManifestCache()
        self.kernel_cache = KernelCache()
        self.good: Good | None = None
        self.left: dict[Key, KernelObject] | None = None  # by key
        self.planner = Planner()  # keeps what it planned for an endpoint while the endpoint stays the same

    def __call__(self) -> Outcome:
        """Load, then apply as `apply` does; a bad source or a failure is an outcome, never a crash."""
        try:
            m = replace(self.manifests.load(self.paths), host=self.host)
            outcome = self._apply(m, prune=True)
        except ManifestError as err:  # from the plan too: a pool too small for its interfaces
            return self._enforce(tuple(str(p) for p in err.problems))
        if outcome.result in SUCCESS:
            self._remember(m)
        return outcome

    def _enforce(self, problems: tuple[str, ...]) -> Outcome:
        """The source is invalid: the last good manifests stay enforced, pruning nothing."""
        if self.good is None:
            return Outcome(Result.INVALID, errors=problems)
        try:
            done = self._apply(self.good.manifests, prune=False)
        except ManifestError as err:
            done = Outcome(Result.FAILED, errors=tuple(str(p) for p in err.problems))
        return replace(done, result=Result.INVALID, errors=problems + done.errors, enforcing=self.good.revision,
                       enforced=done.result)

    def _apply(self, m: Manifests, prune: bool) -> Outcome:
        options = engine.ApplyOptions(limits=self.limits, reader=self.kernel_cache, prune=prune, planner=self.planner,
                                      resolver_later=True)
        try:
            with Kernel() as kernel:
                result = engine.apply(m, kernel, self.kernel_cache.touched, options)
        except RefusedError as err:
            return Outcome(Result.REFUSED, errors=(str(err),))
        except ManifestError:
            raise
        except (NetreconcileError, OSError) as err:
            self.kernel_cache.forget()  # a rollback read the kernel itself
            return Outcome(Result.FAILED, errors=tuple(str(err).splitlines()), rolled_back=isinstance(err, RolledBack))
        repairs = self._repairs(result)
        self.left = self.planner.differ.wanted  # result.desired by key: the diff of this apply made it
        self.planner.differ.remember()
        conflicts = tuple(n for n in result.plan.notes if n.startswith(CONFLICT))
        return Outcome(Result.APPLIED if result.done else Result.NO_CHANGES, len(result.done), repairs=repairs,
                       conflicts=conflicts)

    def _repairs(self, result: engine.ApplyResult) -> tuple[tuple[str, int], ...]:
        """The objects the steps set right that differed from what the last reconcile left (not those that
        only the manifests changed), by kind."""
        if self.left is None or not result.done:
            return ()
        left, found = self.left, result.before.objects
        kinds = Counter(s.obj.kind for s in result.done if drifted(left.get(s.obj.key), found.get(s.obj.key)))
        return tuple(sorted(kinds.items()))

    def _remember(self, m: Manifests) -> None:
        digest = self.manifests.digest()
        same = self.good is not None and self.good.digest == digest
        self.good = replace(self.good, manifests=m) if self.good is not None and same else Good(m, digest)

    def recorded(self, outcome: Outcome, commit: str | None) -> None:
        """The git commit `runstate.record` found after a reconcile: names the last good manifests when that
        reconcile applied them (so git is not asked twice)."""
        if outcome.result in SUCCESS and self.good is not None and self.good.commit is None:
            self.good = replace(self.good, commit=commit)


def drifted(left: KernelObject | None, found: KernelObject | None) -> bool:
    """Whether the kernel's object (None: absent) is not what a reconcile left there (None: nothing)."""
    if left is None or found is None:
        return left is not found
    return type(left) is not type(found) or bool(left.differences(found))
