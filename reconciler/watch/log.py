"""The watch's log: one line per event on stdout, text for people or one JSON object per line."""

from __future__ import annotations

import json
import sys
import time
from typing import TextIO

from reconciler.terminal import line
from reconciler.watch.reconcile import Outcome
from reconciler.watch.triggers import Trigger


class Log:
    """One line per event on stdout: text for people, or one JSON object per line."""

    def __init__(self, fmt: str = "text", stream: TextIO | None = None) -> None:
        self.json = fmt == "json"
        self.stream = stream or sys.stdout

    def event(self, event: str, message: str, details: tuple[str, ...] = (), **fields: object) -> None:
        now = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        if self.json:
            body = {"time": now, "event": event, **fields, "message": message}
            lines = [json.dumps(body | ({"errors": list(details)} if details else {}))]
        else:
            lines = [f"{now} {line(message)}", *(f"  {line(d)}" for d in details)]
        self.stream.write("".join(text + "\n" for text in lines))
        self.stream.flush()

    def reconciled(self, trigger: Trigger, outcome: Outcome, seconds: float) -> None:
        ms = round(seconds * 1000, 1)
        self.event("reconcile", f"reconcile after {trigger}: {outcome} [{ms:g} ms]", outcome.errors,
                   trigger=trigger.kind, detail=trigger.detail, result=outcome.result, steps=outcome.steps,
                   duration_ms=ms, **_enforcing(outcome), **_repairs(outcome))


def _enforcing(outcome: Outcome) -> dict[str, object]:
    return {"enforcing": outcome.enforcing, "enforced": outcome.enforced} if outcome.enforcing else {}


def _repairs(outcome: Outcome) -> dict[str, object]:
    return {"repairs": dict(outcome.repairs)} if outcome.repairs else {}
