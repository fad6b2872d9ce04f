"""The `netreconcile` command: validate, plan, apply, destroy, status, and the tools around them.

Exit codes: 0 success (plan: no changes with --detailed-exitcode), 1 error, invalid manifests or a
command line that cannot be read, 2 plan has changes (only with --detailed-exitcode).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Callable, Iterator

from reconciler import confirm, engine, progress, render, runstate
from reconciler.errors import Kind, ManifestError, NetreconcileError, Problem, RefusedError, RolledBack
from reconciler.guards import Limits
from reconciler.kernel import Kernel
from reconciler.spec import Manifests
from reconciler.terminal import line, lines
from reconciler.validate import load_manifests

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2

EXAMPLES = {
    "validate": "example: netreconcile validate manifests/",
    "plan": "example: netreconcile plan manifests/ --detailed-exitcode   # 0 nothing to do, 2 changes, 1 error",
    "apply": "example: netreconcile apply manifests/",
    "destroy": "example: netreconcile destroy manifests/",
    "status": "example: netreconcile status manifests/ -o json",
}


EXIT_CODES = """exit codes:
  0  success; plan with --detailed-exitcode: no changes
  1  error: invalid manifests, a refusal, a failed apply (rolled back), a command line that cannot be read
  2  plan with --detailed-exitcode: there are changes

-o json (validate, plan, status, doctor) prints a JSON document on stdout, errors included
(docs/output.md); `netreconcile schema` prints the manifests' JSON Schema, `netreconcile completion
bash|zsh` a completion script."""


class Parser(argparse.ArgumentParser):
    """argparse, but a command line it cannot read exits 1 (an error), never 2 (plan: changes)."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="netreconcile",
        description="Declarative reconciler for Linux container networking (Docker's drivers, without Docker).",
        epilog="example: netreconcile apply manifests/ && netreconcile plan manifests/ --detailed-exitcode\n\n"
               + EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
        _paths(sub)
        _debug(sub)
        if name in ("validate", "plan", "status"):
            sub.add_argument("-o", "--output", choices=("text", "json"), default="text", help="output format")
        if name == "plan":
            sub.add_argument("--detailed-exitcode", action="store_true", help="exit 0: no changes, 2: changes, 1: error")
        if name in ("plan", "apply", "destroy", "status"):
            sub.add_argument("--host", metavar="NAME", help=HOST_HELP)
        if name in ("apply", "destroy"):
            sub.add_argument("--no-wait", action="store_true", help="fail at once if another netreconcile holds the lock")
        if name == "destroy":
            sub.add_argument("--force", action="store_true", help=FORCE_NETNS_HELP)
        if name == "apply":
            _add_apply_options(sub)
    confirm = commands.add_parser("confirm", help="keep a change made by apply --confirm-timeout",
                                  description="keep a change made by apply --confirm-timeout",
                                  epilog="example: netreconcile apply manifests/ --confirm-timeout 60 && netreconcile confirm",
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    _debug(confirm)
    _add_watch_parser(commands)
    _add_doctor_parser(commands)
    _add_graph_parser(commands)
    _add_schema_parser(commands)
    _add_completion_parser(commands)
    return parser


def _paths(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("paths", nargs="+", metavar="PATH", help="manifest files or directories (*.yaml, *.yml, recursive)")


def _debug(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show a traceback on errors")


HOST_HELP = ("the declared Host this machine is (default: the Host whose underlay address is configured here); "
             "only its endpoints are built locally")
FORCE_NETNS_HELP = "remove namespaces that hold links netreconcile did not create, or running processes"
MAX_DELETE_HELP = ("refuse when more than this share of the manifest objects last applied (on every host) is gone "
                   "from the source; before any apply was recorded, of the objects owned here (default 50%%)")
FORCE_HELP = "delete more than --max-delete allows, and remove namespaces holding foreign links or processes"
WATCH_HELP = "keep the kernel converged: reconcile on file changes, kernel drift, SIGHUP and every --resync"
WATCH_DESCRIPTION = WATCH_HELP + """

Each reconcile is a full `apply`, with the same guards (--allow-empty, --max-delete, --force) and the
same rollback. While the manifests are invalid, the problems are logged and the last manifests that
were valid and applied stay enforced: drift is repaired towards them, nothing is pruned. A guard's
refusal changes nothing. Kernel drift on our links, addresses and routes is seen at once (rtnetlink
events, also from the endpoint namespaces); nftables and sysctl changes (an external `nft flush
ruleset`) raise no such event and are repaired at the next --resync, or at once on SIGHUP.

The lock is held only during each reconcile, not for the watch's whole life: a one-off `apply` or
`destroy` can run between two reconciles (the next one converges on these manifests again).

Signals: SIGTERM and SIGINT stop it (exit 0) once the current reconcile is done; SIGHUP forces a
full resync. Readiness is sent to $NOTIFY_SOCKET after the first reconcile (systemd Type=notify)."""


def _add_watch_parser(commands) -> None:
    sub = commands.add_parser("watch", help=WATCH_HELP, description=WATCH_DESCRIPTION,
                              epilog="example: netreconcile watch /etc/netreconcile/manifests --log-format json",
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    _paths(sub)
    _debug(sub)
    sub.add_argument("--resync", type=duration, default=30.0, metavar="DURATION",
                     help="full reconcile at least this often, e.g. 30s, 5m (default 30s; 0: never)")
    sub.add_argument("--debounce", type=duration, default=0.2, metavar="DURATION",
                     help="wait for this much quiet after a change before reconciling (default 0.2s)")
    sub.add_argument("--log-format", choices=("text", "json"), default="text", help="one line, or one JSON object, per event")
    sub.add_argument("--metrics-addr", metavar="HOST:PORT", help="serve Prometheus metrics there, e.g. 127.0.0.1:9464")
    sub.add_argument("--allow-empty", action="store_true", help="let manifests that declare nothing delete everything")
    sub.add_argument("--max-delete", type=_share, default=0.5, metavar="SHARE", help=MAX_DELETE_HELP)
    sub.add_argument("--force", action="store_true", help=FORCE_HELP)
    sub.add_argument("--no-wait", action="store_true",
                     help="when another netreconcile holds the lock, skip that reconcile and retry soon, instead of waiting")
    sub.add_argument("--host", metavar="NAME", help=HOST_HELP)


def _add_apply_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--allow-empty", action="store_true", help="let manifests that declare nothing delete everything")
    sub.add_argument("--max-delete", type=_share, default=0.5, metavar="SHARE", help=MAX_DELETE_HELP)
    sub.add_argument("--force", action="store_true", help=FORCE_HELP)
    sub.add_argument("--no-rollback", action="store_true", help="on failure, keep the partial state (for debugging)")
    sub.add_argument("--confirm-timeout", type=_timeout, metavar="SECONDS",
                     help="revert automatically unless `netreconcile confirm` arrives within SECONDS")


MAX_CONFIRM_TIMEOUT = 86400.0  # a day: a change waiting longer for its confirmation was forgotten


def _timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= MAX_CONFIRM_TIMEOUT:  # NaN fails this too
        raise argparse.ArgumentTypeError(f"{text!r}: a number of seconds above 0 and at most {MAX_CONFIRM_TIMEOUT:g} (a day)")
    return value


def duration(text: str) -> float:
    """Seconds from '30s', '5m', '1h', '250ms' or a plain number of seconds."""
    match = re.fullmatch(r"([0-9]*\.?[0-9]+)(ms|s|m|h)?", text.strip())
    if not match:
        raise ValueError(text)
    return float(match[1]) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[match[2]]


def _share(text: str) -> float:
    value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("a share from 0 to 1, or a percentage (50%)")
    return value


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        return _fail(args, Failure("interrupted", [], kind=Kind.INPUT))
    except Exception as err:  # the promise: no traceback for users, a hint to get one
        return _fail(args, _failure(err))


@dataclass(frozen=True)
class Failure:
    """An error as the user reads it on stderr, and as -o json prints it on stdout (error.type)."""

    type: str
    messages: list[str]
    problems: list[Problem] | None = None  # invalid manifests: printed as they are, without "error: "
    footer: str = ""
    kind: Kind = Kind.HOST
    extra: dict | None = None  # more members of the -o json document

    @property
    def prefix(self) -> str:
        if self.problems is not None:
            return ""
        return "internal error: " if self.kind is Kind.BUG else "error: "


def _failure(err: BaseException) -> Failure:
    """How `err` is reported: ours say it themselves; of the others, PermissionError is the host's (not
    root), any other a bug."""
    if isinstance(err, NetreconcileError):
        return Failure(err.category, err.messages, err.problems, err.footer, err.kind)
    if isinstance(err, PermissionError):
        return Failure("permission-denied",
                       [f"permission denied: {err.filename or err} (netreconcile must run as root)"])
    return Failure("internal", [f"{type(err).__name__}: {err} (run with --debug for a traceback)"], kind=Kind.BUG)


def _fail(args: argparse.Namespace, failure: Failure) -> int:
    if getattr(args, "debug", False):
        traceback.print_exc()
    for message in failure.messages:
        print(lines(f"{failure.prefix}{message}"), file=sys.stderr)
    if failure.footer:
        print(failure.footer, file=sys.stderr)
    if getattr(args, "output", None) == "json":
        extra = {"valid": False} if args.command == "validate" else failure.extra or {}
        print(render.error_json(failure.type, failure.messages, failure.problems or [], **extra))
    return EXIT_ERROR


def _load(args: argparse.Namespace) -> Manifests:
    """The valid manifests, applied as the Host named by --host (if given)."""
    return replace(load_manifests(args.paths), host=args.host)


def cmd_validate(args: argparse.Namespace) -> int:
    m = load_manifests(args.paths)
    if args.output == "json":
        print(render.validate_json(m))
    else:
        print(f"valid: {len(m.networks)} network(s), {len(m.endpoints)} endpoint(s)")
    return EXIT_OK


def cmd_plan(args: argparse.Namespace) -> int:
    m = _load(args)
    with Kernel() as kernel:
        result = engine.plan(m, kernel)
    print(render.plan_json(result) if args.output == "json" else render.plan_text(result))
    return EXIT_CHANGES if args.detailed_exitcode and result else EXIT_OK


def cmd_apply(args: argparse.Namespace) -> int:
    m = _load(args)
    limits = Limits(allow_empty=args.allow_empty, max_delete=args.max_delete, force=args.force)
    options = engine.ApplyOptions(limits=limits, rollback=not args.no_rollback)
    with runstate.locked(wait=not args.no_wait, say=_say), _recorded(args.paths) as note:
        with Kernel() as kernel, progress.reporter() as report:
            result = engine.apply(m, kernel, report, options, planned=report.planned)
        note(len(result.done))
        for text in result.plan.notes:
            print(line(text))
        print(render.summary(result.plan, done=True) if result.plan else "No changes. The kernel matches the manifests.")
        if args.confirm_timeout and result.done:
            confirm.start(result, args.confirm_timeout, args.paths)
            print(f"Run `netreconcile confirm` within {args.confirm_timeout:g} s to keep this change; "
                  f"otherwise it is reverted.")
    return EXIT_OK


def cmd_destroy(args: argparse.Namespace) -> int:
    m = _load(args)
    with runstate.locked(wait=not args.no_wait, say=_say), _recorded(args.paths, "destroy") as note:
        with Kernel() as kernel, progress.reporter() as report:
            done = engine.destroy(m, kernel, report, planned=report.planned, force=args.force)
        note(len(done.steps))
    print(f"Destroy complete: {done.count(engine.Action.DELETE)} deleted, {done.count(engine.Action.UPDATE)} updated."
          if done else "Nothing to destroy.")
    return EXIT_OK


def cmd_confirm(args: argparse.Namespace) -> int:
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
        runstate.record(_result_of(err), paths, error=str(err), trigger=trigger)
        raise
    runstate.record("success", paths, steps=steps[0], trigger=trigger)


def _result_of(err: NetreconcileError) -> str:
    """What `status` shows of a run that ended with `err`."""
    if isinstance(err, RefusedError):
        return "refused"
    return "rolled back" if isinstance(err, RolledBack) else "failed"


def _say(message: str) -> None:
    print(line(message), file=sys.stderr, flush=True)


def cmd_watch(args: argparse.Namespace) -> int:
    from reconciler import watch

    limits = Limits(allow_empty=args.allow_empty, max_delete=args.max_delete, force=args.force)
    options = watch.Options(limits=limits, resync=args.resync, debounce=args.debounce, wait=not args.no_wait,
                            log_format=args.log_format, metrics_addr=args.metrics_addr, host=args.host)
    return watch.run(args.paths, options)


def cmd_status(args: argparse.Namespace) -> int:
    try:
        m = _load(args)
    except ManifestError as err:
        return _fail(args, _invalid_status(err))
    with Kernel() as kernel:
        rows, notes = engine.status(m, kernel)
    last, revision = runstate.last(), runstate.revision(args.paths)
    out = render.status_json if args.output == "json" else render.status_text
    print(out(rows, last, revision, notes))
    return EXIT_OK


def _invalid_status(err: ManifestError) -> Failure:
    """Invalid manifests: their problems, then the last reconcile (a watch keeps the last valid ones enforced)."""
    failure, last = _failure(err), runstate.last()
    return replace(failure, footer=f"{failure.footer}\n{render.last_reconcile(last)}", extra={"lastReconcile": last})


DOCTOR_HELP = "show which link kinds and nftables features the running kernel supports; exit 0 when bridge networks can run"
DOCTOR_DESCRIPTION = DOCTOR_HELP + """

Each link kind (bridge, veth, vxlan, macvlan, ipvlan, vlan, dummy) is tried for real by creating a
link of it, and each nftables feature by `nft --check` of a rule that uses it, all inside a throwaway
network namespace that vanishes afterwards: the host's network is never touched and nothing is left.

Exit status: 0 when everything the bridge driver needs is there (bridge and veth links; an nftables
inet table, nat masquerade and ct state), 1 otherwise. CONFIG is the kernel option behind each line;
HINT is the module to load for a missing link kind, or what the kernel or nft answered."""


def _add_doctor_parser(commands) -> None:
    sub = commands.add_parser("doctor", help=DOCTOR_HELP, description=DOCTOR_DESCRIPTION,
                              epilog="example: netreconcile doctor -o json   # 0 bridge networks can run, 1 not",
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    _debug(sub)
    sub.add_argument("-o", "--output", choices=("text", "json"), default="text", help="output format")


def cmd_doctor(args: argparse.Namespace) -> int:
    from reconciler import capabilities

    links, nft = capabilities.check_links(capabilities.LINK_KINDS), capabilities.check_nft()
    lacks = capabilities.bridge_lacks(links, nft)
    entry = lambda key, f: {key: f.name, "supported": f.supported, "config": f.config, "hint": f.hint,  # noqa: E731
                            "answer": f.answer, "probeFailed": f.probe_failed}
    report = {"formatVersion": render.FORMAT_VERSION, "links": [entry("kind", f) for f in links],
              "nftables": [entry("feature", f) for f in nft], "drivers": {"bridge": {"ready": not lacks, "missing": lacks}}}
    print(json.dumps(report, indent=2) if args.output == "json" else lines(_doctor_text(report)))
    return EXIT_ERROR if lacks else EXIT_OK


def _doctor_text(report: dict) -> str:
    lines = _table(("KIND", "SUPPORTED", "CONFIG", "HINT"), [_doctor_row(e["kind"], e) for e in report["links"]])
    lines += [""] + _table(("NFTABLES", "SUPPORTED", "CONFIG", "HINT"),
                           [_doctor_row(e["feature"], e) for e in report["nftables"]])
    missing = report["drivers"]["bridge"]["missing"]
    return "\n".join(lines + ["", f"bridge networks: {'missing ' + ', '.join(missing) if missing else 'ready'}"])


def _doctor_row(name: str, e: dict) -> tuple[str, str, str, str]:
    hint = f"probe failed: {e['answer']}" if e["probeFailed"] else e["hint"] or e["answer"]
    return name, "yes" if e["supported"] else "no", e["config"], hint


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in (header, *rows)]


GRAPH_HELP = "draw the topology: hosts, networks, endpoints, published ports and services"
GRAPH_DESCRIPTION = GRAPH_HELP + """

Graphviz does the layout (the `dot` program, Debian package graphviz, is needed for svg and png;
`-o dot` prints the Graphviz source and needs nothing). With --live, each object is coloured by
its state in the kernel: in sync, drifted, missing."""


def _add_graph_parser(commands) -> None:
    sub = commands.add_parser("graph", help=GRAPH_HELP, description=GRAPH_DESCRIPTION,
                              epilog="example: netreconcile graph manifests/ --live -o svg > topology.svg",
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    _paths(sub)
    _debug(sub)
    sub.add_argument("--host", metavar="NAME", help="draw only what this Host builds (default: every host)")
    sub.add_argument("-o", "--output", choices=("svg", "png", "dot"), default="svg", help="output format (default svg)")
    sub.add_argument("--live", action="store_true", help="colour each object by its state in the kernel (needs root)")


def cmd_graph(args: argparse.Namespace) -> int:
    from reconciler import graph

    return graph.run(args)


SCHEMA_HELP = "print the JSON Schema of manifests, for editors and other tools"
SCHEMA_DESCRIPTION = SCHEMA_HELP + """

Without KIND: one self-contained schema for a document of any kind (the same as the committed
schemas/manifest.schema.json). With KIND: the schema of that kind alone, also self-contained.
Editors that read `# yaml-language-server: $schema=PATH` validate and complete manifests against it."""


def _add_schema_parser(commands) -> None:
    from reconciler.schema import KIND_SCHEMAS

    sub = commands.add_parser("schema", help=SCHEMA_HELP, description=SCHEMA_DESCRIPTION,
                              epilog="example: netreconcile schema > .vscode/netreconcile.schema.json",
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub.add_argument("kind", nargs="?", metavar="KIND", choices=sorted(KIND_SCHEMAS),
                     help=f"one kind only: {', '.join(sorted(KIND_SCHEMAS))}")
    _debug(sub)


def cmd_schema(args: argparse.Namespace) -> int:
    from reconciler.schema import bundle_text

    sys.stdout.write(bundle_text(args.kind))
    return EXIT_OK


COMPLETION_HELP = "print a shell completion script (bash or zsh)"
COMPLETION_DESCRIPTION = COMPLETION_HELP + """

bash: `source <(netreconcile completion bash)` in ~/.bashrc, or save it as
/etc/bash_completion.d/netreconcile. zsh: save it as _netreconcile in a directory of $fpath
before `compinit` runs (`netreconcile completion zsh > ~/.zfunc/_netreconcile` with
`fpath+=~/.zfunc` in ~/.zshrc), or `eval "$(netreconcile completion zsh)"` after compinit."""


def _add_completion_parser(commands) -> None:
    from reconciler.completion import SHELLS

    sub = commands.add_parser("completion", help=COMPLETION_HELP, description=COMPLETION_DESCRIPTION,
                              epilog="example: netreconcile completion bash > /etc/bash_completion.d/netreconcile",
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub.add_argument("shell", choices=SHELLS, metavar="SHELL", help="bash or zsh")
    _debug(sub)


def cmd_completion(args: argparse.Namespace) -> int:
    from reconciler.completion import script

    sys.stdout.write(script(build_parser(), args.shell))
    return EXIT_OK


COMMANDS = {
    "validate": cmd_validate, "plan": cmd_plan, "apply": cmd_apply, "destroy": cmd_destroy, "status": cmd_status,
    "confirm": cmd_confirm, "watch": cmd_watch, "doctor": cmd_doctor, "graph": cmd_graph, "schema": cmd_schema,
    "completion": cmd_completion,
}
