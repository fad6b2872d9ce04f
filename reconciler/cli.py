"""The `netreconcile` command: validate, plan, apply, destroy, status.

Exit codes: 0 success (plan: no changes with --detailed-exitcode), 1 error or invalid manifests,
2 plan has changes (only with --detailed-exitcode).
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from reconciler import engine, render
from reconciler.errors import ConflictError, ManifestError, NetreconcileError
from reconciler.kernel import Kernel
from reconciler.plan import Step
from reconciler.validate import load_manifests

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2

EXAMPLES = {
    "validate": "example: netreconcile validate manifests/",
    "plan": "example: netreconcile plan manifests/ --detailed-exitcode   # 0 nothing to do, 2 changes, 1 error",
    "apply": "example: netreconcile apply manifests/",
    "destroy": "example: netreconcile destroy manifests/",
    "status": "example: netreconcile status manifests/ -o json",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="netreconcile",
        description="Declarative reconciler for Linux container networking (Docker's drivers, without Docker).",
        epilog="example: netreconcile apply manifests/ && netreconcile plan manifests/ --detailed-exitcode",
    )
    parser.add_argument("--debug", action="store_true", help="show a traceback on errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    helps = {
        "validate": "check manifests (schema and semantics); exit 0 valid, 1 invalid",
        "plan": "show what apply would change",
        "apply": "make the kernel match the manifests, then verify",
        "destroy": "remove everything these manifests own",
        "status": "show each object as in sync, drifted, missing or extra",
    }
    for name, text in helps.items():
        sub = commands.add_parser(name, help=text, description=text, epilog=EXAMPLES[name],
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
        sub.add_argument("paths", nargs="+", metavar="PATH", help="manifest files or directories (*.yaml, *.yml, recursive)")
        sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show a traceback on errors")
        if name in ("validate", "plan", "status"):
            sub.add_argument("-o", "--output", choices=("text", "json"), default="text", help="output format")
        if name == "plan":
            sub.add_argument("--detailed-exitcode", action="store_true", help="exit 0: no changes, 2: changes, 1: error")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ManifestError as err:
        return _fail(args, [str(p) for p in err.problems], f"{len(err.problems)} problem(s) found; nothing was changed.")
    except ConflictError as err:
        return _fail(args, [f"error: {m}" for m in err.messages], "Nothing was changed.")
    except NetreconcileError as err:
        return _fail(args, [f"error: {err}"])
    except PermissionError as err:
        return _fail(args, [f"error: permission denied: {err.filename or err} (netreconcile must run as root)"])
    except KeyboardInterrupt:
        return EXIT_ERROR
    except Exception as err:  # the promise: no traceback for users, a hint to get one
        return _fail(args, [f"internal error: {type(err).__name__}: {err} (run with --debug for a traceback)"])


def _fail(args: argparse.Namespace, lines: list[str], footer: str = "") -> int:
    if getattr(args, "debug", False):
        traceback.print_exc()
    for line in lines:
        print(line, file=sys.stderr)
    if footer:
        print(footer, file=sys.stderr)
    return EXIT_ERROR


def cmd_validate(args: argparse.Namespace) -> int:
    m = load_manifests(args.paths)
    if args.output == "json":
        print(json.dumps({"formatVersion": render.FORMAT_VERSION, "valid": True,
                          "networks": [n.name for n in m.networks], "endpoints": [e.name for e in m.endpoints]}, indent=2))
    else:
        print(f"valid: {len(m.networks)} network(s), {len(m.endpoints)} endpoint(s)")
    return EXIT_OK


def cmd_plan(args: argparse.Namespace) -> int:
    m = load_manifests(args.paths)
    with Kernel() as kernel:
        result = engine.plan(m, kernel)
    print(render.plan_json(result) if args.output == "json" else render.plan_text(result))
    return EXIT_CHANGES if args.detailed_exitcode and result else EXIT_OK


def _report(step: Step) -> None:
    print(f"  {step}", flush=True)


def cmd_apply(args: argparse.Namespace) -> int:
    m = load_manifests(args.paths)
    with Kernel() as kernel:
        done = engine.apply(m, kernel, _report)
    print(render.summary(done, done=True) if done else "No changes. The kernel matches the manifests.")
    return EXIT_OK


def cmd_destroy(args: argparse.Namespace) -> int:
    m = load_manifests(args.paths)
    with Kernel() as kernel:
        done = engine.destroy(m, kernel, _report)
    print(f"Destroy complete: {done.count(engine.Action.DELETE)} deleted, {done.count(engine.Action.UPDATE)} updated."
          if done else "Nothing to destroy.")
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    m = load_manifests(args.paths)
    with Kernel() as kernel:
        rows = engine.status(m, kernel)
    print(render.status_json(rows) if args.output == "json" else render.status_text(rows))
    return EXIT_OK


COMMANDS = {"validate": cmd_validate, "plan": cmd_plan, "apply": cmd_apply, "destroy": cmd_destroy, "status": cmd_status}
