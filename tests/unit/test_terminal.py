"""Nothing a name, a file or the kernel holds reaches the terminal raw: control characters are escaped
in plans, status, step lines, error messages and the watch's log, so none can erase or forge a line."""

from __future__ import annotations

import argparse
import io

from reconciler.cli import failure, progress, render
from reconciler.engine import ObjectStatus, State
from reconciler.model import Bridge, HostsFile
from reconciler.planning.plan import Action, Plan, Step
from reconciler.terminal import line, lines
from reconciler.watch.log import Log

FORGED = "x\x1b[2K\rPlan: 0 to create\x07\x9b\x7f"  # ESC erase-line, CR, BEL, C1 CSI, DEL
SHOWN = "x\\x1b[2K\\x0dPlan: 0 to create\\x07\\x9b\\x7f"


def raw(text: str) -> bool:
    return any(ord(c) < 32 and c not in "\t\n" or 0x7f <= ord(c) <= 0x9f for c in text)


def test_every_control_character_is_escaped_but_tab():
    assert line(FORGED) == SHOWN
    assert line("a\tb\nc") == "a\tb\\x0ac"
    assert lines("one\ntwo\x1b") == "one\ntwo\\x1b"
    assert line("plain ünïcode") == "plain ünïcode"


def test_a_plan_shows_names_and_file_lines_escaped():
    hosts = "# managed\n10.0.0.1\tweb\n"
    plan = Plan((Step(Action.DELETE, None, Bridge(FORGED)),
                 Step(Action.UPDATE, HostsFile("ep1", hosts), HostsFile("ep1", hosts + f"10.9.9.9\t{FORGED}\n"),
                      changes=(("content", hosts + f"10.9.9.9\t{FORGED}\n", hosts),))))
    shown = render.plan_text(plan)
    assert not raw(shown) and f"- bridge {SHOWN}" in shown and f"- 10.9.9.9\t{SHOWN}" in shown


def test_status_and_step_lines_are_escaped(capsys):
    shown = render.status_text([ObjectStatus(Bridge(FORGED), State.EXTRA)], {"result": "failed", "time": "t",
                               "trigger": "apply", "steps": 0, "error": f"{FORGED}\nmore"})
    assert not raw(shown) and "failed at t (apply, 0 step(s)): x\\x1b[2K\n" in shown and f"bridge {SHOWN}" in shown
    progress.Plain()(Step(Action.DELETE, None, Bridge(FORGED)))
    assert capsys.readouterr().out == f"  - bridge {SHOWN}\n"


def test_error_messages_keep_their_lines_and_escape_the_rest(capsys):
    failure.fail(argparse.Namespace(), failure.Failure("error", [f"step {FORGED} failed\nRolled back 1 step(s)"]))
    assert capsys.readouterr().err == f"error: step {SHOWN} failed\nRolled back 1 step(s)\n"


def test_the_watch_log_escapes_its_text_lines():
    stream = io.StringIO()
    Log("text", stream).event("reconcile", f"kernel event (link {FORGED})", (FORGED,))
    text = stream.getvalue()
    assert not raw(text) and text.endswith(f"kernel event (link {SHOWN})\n  {SHOWN}\n")
