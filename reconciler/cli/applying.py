"""The commands that change the kernel: apply, destroy, and confirm (keep what apply --confirm-timeout
changed). Each holds the lock and records its outcome for `status`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import reconciler.cli.colour as colour
import reconciler.cli.confirm as confirm
import reconciler.cli.progress as progress
import reconciler.cli.render as render
from reconciler import engine
from reconciler.cli.command import (
    EXIT_OK,
    Command,
    debug,
    guards,
    host,
    manifests,
    paths,
)
from reconciler.cli.options import timeout
from reconciler.errors import NetreconcileError, RefusedError, RolledBack
from reconciler.kernel import ahead, runstate
from reconciler.kernel.observe import Reader
from reconciler.kernel.session import Kernel
from reconciler.planning.guards import Limits
from reconciler.planning.plan import Action, Plan
from reconciler.terminal import line

FORCE_NETNS_HELP = "remove namespaces that hold links netreconcile did not create, or running processes"
NO_WAIT_HELP = "fail at once if another netreconcile holds the lock"
CONFIRM_HELP = "keep a change made by apply --confirm-timeout"


def _apply(args: argparse.Namespace) -> int:
    from reconciler.appliers import resolver  # lazily: no plan needs it
    m = manifests(args)
    limits = Limits(allow_empty=args.allow_empty, max_delete=args.max_delete, force=args.force)
    options = engine.ApplyOptions(limits=limits, rollback=not args.no_rollback,
                                  reader=Reader(forked=True, started=ahead.take()))
    with runstate.locked(wait=not args.no_wait, say=_say), _recorded(args.paths) as note:
        with Kernel() as kernel, progress.reporter(colour.painter(args)) as report, resolver.started_early() as early:
            result = engine.apply(m, kernel, report, options, planned=_both(early, report.planned))
        note(len(result.done))
        for text in result.plan.notes:
            print(line(text))
        print(render.summary(result.plan, done=True) if result.plan else "No changes. The kernel matches the manifests.")
        if args.confirm_timeout and result.done:
            confirm.start(result, args.confirm_timeout, args.paths)
            print(f"Run `netreconcile confirm` within {args.confirm_timeout:g} s to keep this change; "
                  f"otherwise it is reverted.")
    return EXIT_OK


def _both(first: Callable[[Plan], None], then: Callable[[Plan], None]) -> Callable[[Plan], None]:
    def planned(plan: Plan) -> None:
        first(plan)
        then(plan)
    return planned


def _apply_arguments(sub: argparse.ArgumentParser) -> None:
    paths(sub)
    debug(sub)
    host(sub)
    sub.add_argument("--no-wait", action="store_true", help=NO_WAIT_HELP)
    guards(sub)
    sub.add_argument("--no-rollback", action="store_true", help="on failure, keep the partial state (for debugging)")
    sub.add_argument("--confirm-timeout", type=timeout, metavar="SECONDS",
                     help="revert automatically unless `netreconcile confirm` arrives within SECONDS")
    colour.flag(sub)


def _destroy(args: argparse.Namespace) -> int:
    m = manifests(args)
    with runstate.locked(wait=not args.no_wait, say=_say), _recorded(args.paths, "destroy") as note:
        with Kernel() as kernel, progress.reporter(colour.painter(args)) as report:
            done = engine.destroy(m, kernel, report, planned=report.planned, force=args.force)
        note(len(done.steps))
    print(f"Destroy complete: {done.count(Action.DELETE)} deleted, {done.count(Action.UPDATE)} updated."
          if done else "Nothing to destroy.")
    return EXIT_OK


def _destroy_arguments(sub: argparse.ArgumentParser) -> None:
    paths(sub)
    debug(sub)
    host(sub)
    sub.add_argument("--no-wait", action="store_true", help=NO_WAIT_HELP)
    sub.add_argument("--force", action="store_true", help=FORCE_NETNS_HELP)
    colour.flag(sub)


def _confirm(args: argparse.Namespace) -> int:
    confirm.confirm()
    print("Confirmed: the change is kept.")
    return EXIT_OK


@contextmanager
def _recorded(paths: list[str], trigger: str = "apply") -> Iterator[Callable[[int], None]]:
    """Record the outcome of a run for `status`: success with its step count, or the error."""
    steps = [0]
    try:
        yield lambda n: steps.__setitem__(0, n)
    except NetreconcileError as err:
        runstate.record(result_of(err), paths, error=str(err), trigger=trigger)
        raise
    runstate.record("success", paths, steps=steps[0], trigger=trigger)


def result_of(err: NetreconcileError) -> str:
    """What `status` shows of a run that ended with `err`."""
    if isinstance(err, RefusedError):
        return "refused"
    return "rolled back" if isinstance(err, RolledBack) else "failed"


def _say(message: str) -> None:
    print(line(message), file=sys.stderr, flush=True)


APPLY = Command("apply", "make the kernel match the manifests, then verify", "example: netreconcile apply manifests/",
                _apply_arguments, _apply)
DESTROY = Command("destroy", "remove everything these manifests own", "example: netreconcile destroy manifests/",
                  _destroy_arguments, _destroy)
CONFIRM = Command("confirm", CONFIRM_HELP,
                  "example: netreconcile apply manifests/ --confirm-timeout 60 && netreconcile confirm", debug, _confirm)
