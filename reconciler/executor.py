"""Runs a plan against the kernel, step by step, then verifies that nothing is left to do."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from reconciler.appliers import appliers
from reconciler.errors import ApplyError, VerifyError
from reconciler.kernel import Kernel
from reconciler.plan import Action, Plan, Step

Reporter = Callable[[Step], None]


def execute(plan: Plan, kernel: Kernel, report: Reporter = lambda step: None) -> None:
    """Apply each step in order; the first failure stops the run with the step named."""
    from pyroute2.netlink.exceptions import NetlinkError

    registry = appliers(kernel)
    for step in plan.steps:
        applier = registry[step.obj.kind]
        try:
            _run(applier, step)
        except (OSError, NetlinkError) as err:
            raise ApplyError(f"{step}: {_describe(err)}") from err
        report(step)


def _run(applier, step: Step) -> None:
    if step.action is Action.CREATE:
        applier.create(step.desired)
    elif step.action is Action.UPDATE:
        applier.update(step.desired, step.observed)
    elif step.action is Action.REPLACE:
        if step.observed is not None:
            applier.delete(step.observed)
        applier.create(step.desired)
    else:
        applier.delete(step.observed)


def _describe(err: Exception) -> str:
    if hasattr(err, "code") and not isinstance(err, OSError):  # pyroute2's NetlinkError
        return f"kernel said: {err.args[1] if len(err.args) > 1 else err} (errno {err.code})"
    return str(err)


@dataclass(frozen=True)
class Verifier:
    """Re-plans after an apply, a few times (the kernel settles some state asynchronously)."""

    replan: Callable[[], Plan]
    attempts: int = 3
    pause: float = 0.2

    def __call__(self) -> None:
        for attempt in range(self.attempts):
            remaining = self.replan()
            if not remaining:
                return
            if attempt + 1 < self.attempts:
                time.sleep(self.pause)
        lines = "\n".join(f"  {s}" for s in remaining.steps)
        raise VerifyError(f"the kernel still differs from the manifests after apply:\n{lines}")
