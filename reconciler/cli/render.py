"""Human and machine renderings of plans and status. Plans read like Terraform's."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from reconciler.engine import ObjectStatus
from reconciler.errors import Problem
from reconciler.input.pools import assign
from reconciler.input.spec import Manifests
from reconciler.model import KernelObject, NftRule, NftTable
from reconciler.planning.plan import SYMBOLS, Action, Plan, Step
from reconciler.terminal import line

# The shape of every -o json output (docs/output.md, schemas/output-*.schema.json): additions keep
# it, a removal or a change of meaning bumps it.
FORMAT_VERSION = 1
SUMMARY = (Action.CREATE, Action.UPDATE, Action.REPLACE, Action.DELETE)
HIDDEN = {"owner", "name", "ns", "peer", "ifname", "address", "dst", "chains", "rules", "content", "serving", "digest",
          "clients"}
# Paints a piece of a line in a style (an Action's value, or "reason"); the piece is escaped already,
# so that colour codes are added after control characters were made harmless (reconciler/cli/colour.py).
Paint = Callable[[str, str], str]


def plain(style: str, text: str) -> str:
    """No colour: the text as it is (a pipe, a file, NO_COLOR, --no-color)."""
    return text


def plan_text(plan: Plan, paint: Paint = plain) -> str:
    notes = [*plan.notes, ""] if plan.notes else []
    if not plan:
        return "\n".join(notes + ["No changes. The kernel matches the manifests."])
    lines = [line(n) for n in notes] + ["netreconcile will perform the following actions:", ""]
    for step in plan.steps:
        lines += _step_lines(step, paint)
    lines += ["", line(summary(plan))]
    return "\n".join(lines)


def summary(plan: Plan, done: bool = False) -> str:
    verbs = ("created", "updated", "replaced", "deleted") if done else ("to create", "to update", "to replace", "to delete")
    parts = ", ".join(f"{plan.count(a)} {verb}" for a, verb in zip(SUMMARY, verbs))
    return f"{'Apply complete' if done else 'Plan'}: {parts}."


def step_line(step: Step, paint: Paint = plain) -> str:
    """`  str(step)`, escaped: the symbol and object in the action's colour, the reason dim."""
    head = "  " + paint(step.action.value, line(f"{SYMBOLS[step.action]} {step.obj.kind} {step.obj.title}"))
    return (head + paint("reason", line(f" ({step.reason})"))) if step.reason else head


def _step_lines(step: Step, paint: Paint) -> list[str]:
    lines = []
    if step.action is Action.CREATE and not isinstance(step.obj, NftTable):
        attrs = _attributes(step.obj)
        lines += [f"      {attrs}"] if attrs else []
    for name, old, new in step.changes:
        if name == "content":
            lines += _content_lines(old, new)
        elif name == "serving":
            lines += [f"      - serves {ns}" for ns in old if ns not in new] + [f"      + serves {ns}" for ns in new if ns not in old]
        elif name == "clients":  # the DHCP lease keeper's interfaces
            lines += [f"      - keeps {k}" for k in old if k not in new] + [f"      + keeps {k}" for k in new if k not in old]
        elif name == "digest":
            lines.append("      names: changed" if step.obj.kind == "resolver" else "      state: changed")
        elif name not in ("rules", "chains"):
            lines.append(f"      {name}: {_show(old)} -> {_show(new)}")
    if isinstance(step.obj, NftTable):
        lines += _rule_lines(step)
    return [step_line(step, paint), *(_signed(line(text), paint) for text in lines + with_it(step))]


def _signed(text: str, paint: Paint) -> str:
    """A line a file or table gains (`      + ...`, green) or loses (`      - ...`, red); others plain."""
    sign = text.lstrip()[:2]
    style = {"+ ": Action.CREATE.value, "- ": Action.DELETE.value}.get(sign)
    indent = len(text) - len(text.lstrip())
    return text[:indent] + paint(style, text[indent:]) if style else text


def with_it(step: Step) -> list[str]:
    """The line naming what goes along with a step's object: ours, then what is not ours."""
    along = [f"{o.kind} {o.title}" for o in step.implied] + list(step.foreign)
    return [f"      with it: {', '.join(along)}"] if along else []


def _content_lines(old: str, new: str) -> list[str]:
    """A file's change as the lines it loses and gains."""
    before, after = _file_lines(old), _file_lines(new)
    return ([f"      - {row}" for row in before if row not in after] +
            [f"      + {row}" for row in after if row not in before])


def _file_lines(text: str) -> list[str]:
    """Lines as a resolver reads them: ended by a newline only (a CR within one is shown escaped)."""
    return text.removesuffix("\n").split("\n") if text else []


def _attributes(obj: KernelObject) -> str:
    values = [(f.name, getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.repr and f.name not in HIDDEN]
    return ", ".join(f"{k}: {_show(v)}" for k, v in values if v not in (None, "", False) or k == "ipv6")


def _show(value: Any) -> str:
    return "(none)" if value in (None, "") else str(value)


def _rule_lines(step: Step) -> list[str]:
    old = set(step.observed.rules) if isinstance(step.observed, NftTable) else set()
    new = set(step.desired.rules) if isinstance(step.desired, NftTable) else set()
    added = [f"      + rule {r.chain}: {r.comment}" for r in sorted(new - old, key=_rule_sort)]
    removed = [f"      - rule {r.chain}: {r.comment}" for r in sorted(old - new, key=_rule_sort)]
    return removed + added


def _rule_sort(rule: NftRule) -> tuple[str, str]:
    return (rule.chain, rule.comment)


def to_jsonable(obj: KernelObject | None) -> dict[str, Any] | None:
    if obj is None:
        return None
    return {"kind": obj.kind, **dataclasses.asdict(obj)}


def step_json(step: Step) -> dict[str, Any]:
    return {
        "action": step.action.value,
        "symbol": SYMBOLS[step.action],
        "kind": step.obj.kind,
        "title": step.obj.title,
        "key": [k for k in step.obj.key],
        "owner": step.obj.owner,
        "reason": step.reason,
        "changes": [{"field": n, "old": _plain(o), "new": _plain(v)} for n, o, v in step.changes],
        "implied": [to_jsonable(o) for o in step.implied],
        "foreign": list(step.foreign),
        "desired": to_jsonable(step.desired),
        "observed": to_jsonable(step.observed),
    }


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def plan_json(plan: Plan) -> str:
    body = {
        "formatVersion": FORMAT_VERSION,
        "changes": [step_json(s) for s in plan.steps],
        "summary": {a.value: plan.count(a) for a in SUMMARY},
        "notes": list(plan.notes),
    }
    return json.dumps(body, indent=2)


def status_text(rows: list[ObjectStatus], last: dict[str, Any] | None = None, revision: str | None = None,
                notes: tuple[str, ...] = ()) -> str:
    width = max((len(f"{r.obj.kind} {r.obj.title}") for r in rows), default=0)
    lines = [last_reconcile(last), f"manifests revision: {revision or '(not a git checkout)'}", *notes, ""]
    lines += [f"{r.state.value:<8}  {(r.obj.kind + ' ' + r.obj.title):<{width}}  {r.detail}".rstrip() for r in rows]
    counts = {state: sum(1 for r in rows if r.state.value == state) for state in ("in sync", "drifted", "missing", "extra")}
    lines.append("")
    lines.append(", ".join(f"{n} {state}" for state, n in counts.items()))
    return "\n".join(map(line, lines))


def last_reconcile(last: dict[str, Any] | None) -> str:
    """What `status` says of the last reconcile recorded: its line, and the source the watch enforces."""
    if not last:
        return "last reconcile: none recorded on this host"
    error = f": {last['error'].splitlines()[0]}" if last.get("error") else ""
    line = f"last reconcile: {last['result']} at {last['time']} ({last['trigger']}, {last['steps']} step(s)){error}"
    enforcing = f"\nsource: invalid, enforcing revision {last['enforcing']} (the last valid manifests)" if last.get("enforcing") else ""
    return line + enforcing


def status_json(rows: list[ObjectStatus], last: dict[str, Any] | None = None, revision: str | None = None,
                notes: tuple[str, ...] = ()) -> str:
    body = {
        "formatVersion": FORMAT_VERSION,
        "lastReconcile": last,
        "revision": revision,
        "notes": list(notes),
        "objects": [{"state": r.state.value, "kind": r.obj.kind, "title": r.obj.title, "owner": r.obj.owner,
                     "detail": r.detail, "object": to_jsonable(r.obj)} for r in rows],
    }
    return json.dumps(body, indent=2)


def validate_json(m: Manifests) -> str:
    body = {"formatVersion": FORMAT_VERSION, "valid": True, "networks": _names(m.networks),
            "endpoints": _names(m.endpoints), "hosts": _names(m.hosts), "services": _names(m.services),
            "subnets": _subnets(m)}
    return json.dumps(body, indent=2)


def _subnets(m: Manifests) -> list[dict[str, Any]]:
    """Each network's subnets; automatic ones as the manifests alone pick them (no kernel is read:
    `plan` and `status` show this host's choice, which also avoids its routes and keeps what it holds)."""
    return [{"network": n.name, "subnets": [str(s.subnet) for s in n.subnets], "auto": n.auto_subnet}
            for n in assign(m)[0].networks]


class Named(Protocol):
    """What the manifests declare under a name (a Network, an Endpoint, a Host, a Service)."""

    @property
    def name(self) -> str: ...


def _names(objects: Iterable[Named]) -> list[str]:
    return [o.name for o in objects]


def error_json(kind: str, messages: list[str], problems: list[Problem], **extra: Any) -> str:
    """A failed command under -o json: what went wrong, and for invalid manifests each problem located."""
    error = {"type": kind, "messages": messages, "problems": [problem_json(p) for p in problems]}
    return json.dumps({"formatVersion": FORMAT_VERSION, **extra, "error": error}, indent=2)


def problem_json(problem: Problem) -> dict[str, Any]:
    where = problem.where
    return {"file": where.file, "line": where.line or None, "column": where.column or None, "object": problem.subject or None,
            "message": problem.message}
