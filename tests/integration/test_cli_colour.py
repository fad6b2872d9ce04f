"""Plans in colour on a terminal, as Terraform's (`+` green, `-` red, `~` yellow, `-/+` magenta,
reasons dim), through a real pseudo-terminal; none into a pipe, with NO_COLOR or with --no-color."""

from __future__ import annotations

import re

from builders import endpoint, iface, network, write
from test_cli_progress import ESCAPE, in_terminal, plain

SGR = re.compile(r"\x1b\[[0-9;]*m")
COLOUR = re.compile(r"\x1b\[[0-9;]*(3[0-9]|9[0-7])m")
GREEN, RED, YELLOW, MAGENTA, DIM = "\x1b[32m", "\x1b[31m", "\x1b[33m", "\x1b[35m", "\x1b[2m"


def changed(sandbox):
    """Manifests applied, then changed so that the plan holds each action: a network created, one
    updated (its MTU), an interface replaced (renamed, with a reason), an endpoint deleted."""
    first = write(sandbox, network("front", "172.20.0.0/24", mtu=1500), network("old", "172.21.0.0/24"),
                  endpoint("a", iface("front", "172.20.0.10", name="net0")),
                  endpoint("b", iface("front", "172.20.0.11")), endpoint("gone", iface("old", "172.21.0.10")))
    sandbox.nr("apply", str(first))
    return write(sandbox, network("front", "172.20.0.0/24", mtu=1400), network("back", "172.22.0.0/24"),
                 endpoint("a", iface("front", "172.20.0.10")), endpoint("b", iface("back", "172.22.0.11")))


def coloured_lines(shown: str, colour: str) -> list[str]:
    return [row for row in shown.replace("\r\n", "\n").splitlines() if row.startswith("  " + colour)]


def test_plan_on_a_terminal_is_coloured_and_otherwise_the_same_text(sandbox):
    path = changed(sandbox)
    piped = sandbox.nr("plan", str(path)).stdout
    assert "\x1b" not in piped
    code, shown = in_terminal(sandbox, "plan", str(path))
    assert code == 0, shown
    assert SGR.sub("", shown).replace("\r\n", "\n") == piped
    assert coloured_lines(shown, GREEN + "+ ") and coloured_lines(shown, RED + "- ")
    assert coloured_lines(shown, YELLOW + "~ ") and coloured_lines(shown, MAGENTA + "-/+ ")
    replaced = coloured_lines(shown, MAGENTA)[0]
    assert re.search(r"\x1b\[0m\x1b\[2m \(.+\)\x1b\[0m$", replaced), replaced  # the reason, dim
    summary = [row for row in shown.splitlines() if row.startswith("Plan: ")]
    assert summary and "\x1b" not in summary[0]


def test_no_color_and_the_flag_keep_a_terminal_plain(sandbox):
    path = changed(sandbox)
    piped = sandbox.nr("plan", str(path)).stdout
    for extra, flags in (({"NO_COLOR": "1"}, ()), ({}, ("--no-color",))):
        code, shown = in_terminal(sandbox, "plan", str(path), *flags, extra=extra)
        assert code == 0 and "\x1b" not in shown, (extra, flags, shown)
        assert shown.replace("\r\n", "\n") == piped
    code, shown = in_terminal(sandbox, "plan", str(path), extra={"NO_COLOR": ""})  # empty: not set (no-color.org)
    assert GREEN in shown


def test_apply_and_destroy_colour_their_steps_on_a_terminal_only(sandbox):
    path = changed(sandbox)
    code, shown = in_terminal(sandbox, "apply", str(path))
    assert code == 0, shown
    text = plain(shown)
    assert "Apply complete: " in text
    assert re.search(r"\x1b\[32m\+ netns back", shown) or re.search(r"\x1b\[32m\+ bridge", shown), shown
    assert re.search(r"\x1b\[31m- ", shown), shown

    code, shown = in_terminal(sandbox, "destroy", str(path), "--no-color")
    assert code == 0 and ESCAPE.search(shown), shown  # the bar still drawn, without a colour
    assert not COLOUR.search(shown), shown
    assert "Destroy complete: " in plain(shown)


def test_apply_into_a_pipe_stays_plain(sandbox):
    path = changed(sandbox)
    applied = sandbox.nr("apply", str(path))
    assert "\x1b" not in applied.stdout + applied.stderr
