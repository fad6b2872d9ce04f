"""The commands that read and change nothing: validate, plan, status."""

from __future__ import annotations

import argparse
from dataclasses import replace

import reconciler.cli.colour as colour
import reconciler.cli.fleet as fleet
import reconciler.cli.render as render
from reconciler import engine
from reconciler.cli.command import (
    EXIT_CHANGES,
    EXIT_OK,
    Command,
    debug,
    host,
    manifests,
    output,
    paths,
)
from reconciler.cli.failure import Failure, fail, failure_of
from reconciler.errors import ManifestError
from reconciler.input.validate import load_manifests
from reconciler.kernel import ahead, runstate
from reconciler.kernel.observe import Reader
from reconciler.kernel.session import Kernel


def _validate(args: argparse.Namespace) -> int:
    m = load_manifests(args.paths)
    if args.output == "json":
        print(render.validate_json(m))
    else:
        print(f"valid: {len(m.networks)} network(s), {len(m.endpoints)} endpoint(s)")
    return EXIT_OK


def _validate_arguments(sub: argparse.ArgumentParser) -> None:
    paths(sub)
    debug(sub)
    output(sub)


def _plan(args: argparse.Namespace) -> int:
    m = manifests(args)
    with Kernel() as kernel:
        result = engine.plan(m, kernel, Reader(forked=True, started=ahead.take()))
    print(render.plan_json(result) if args.output == "json" else render.plan_text(result, colour.painter(args)))
    return EXIT_CHANGES if args.detailed_exitcode and result else EXIT_OK


def _plan_arguments(sub: argparse.ArgumentParser) -> None:
    paths(sub)
    debug(sub)
    output(sub)
    sub.add_argument("--detailed-exitcode", action="store_true", help="exit 0: no changes, 2: changes, 1: error")
    host(sub)
    colour.flag(sub)


def _status(args: argparse.Namespace) -> int:
    if args.fleet:
        return fleet.status_fleet(args)
    try:
        m = manifests(args)
    except ManifestError as err:
        return fail(args, _invalid_status(err))
    with Kernel() as kernel:
        rows, notes = engine.status(m, kernel)
    last, revision = runstate.last(), runstate.revision(args.paths)
    out = render.status_json if args.output == "json" else render.status_text
    print(out(rows, last, revision, notes))
    return EXIT_OK


def _invalid_status(err: ManifestError) -> Failure:
    """Invalid manifests: their problems, then the last reconcile (a watch keeps the last valid ones enforced)."""
    failure, last = failure_of(err), runstate.last()
    return replace(failure, footer=f"{failure.footer}\n{render.last_reconcile(last)}", extra={"lastReconcile": last})


def _status_arguments(sub: argparse.ArgumentParser) -> None:
    paths(sub)
    debug(sub)
    output(sub)
    host(sub)
    sub.add_argument("--fleet", action="store_true",
                     help="of an etcd source: each declared Host's watch, converged on revision N, behind, failing or silent")


VALIDATE = Command("validate", "check manifests (schema and semantics); exit 0 valid, 1 invalid",
                   "example: netreconcile validate manifests/", _validate_arguments, _validate)
PLAN = Command("plan", "show what apply would change",
               "example: netreconcile plan manifests/ --detailed-exitcode   # 0 nothing to do, 2 changes, 1 error",
               _plan_arguments, _plan)
STATUS = Command("status", "show each object as in sync, drifted, missing or extra",
                 "example: netreconcile status manifests/ -o json", _status_arguments, _status)
