"""apply and destroy on a terminal show a progress bar; into a pipe, the same plain lines as always."""

from __future__ import annotations

import fcntl
import os
import re
import struct
import subprocess
import sys
import termios

from builders import endpoint, iface, network, write
from sandbox import sandbox_env

ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def in_terminal(sandbox, *args: str, extra: dict[str, str] | None = None) -> tuple[int, str]:
    """Run netreconcile in the sandbox with stdout (and stderr) on a pseudo-terminal of 100 columns
    (NO_COLOR unset, unless in `extra`, more variables of the environment)."""
    controller, terminal = os.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    env = {**sandbox_env(), "TERM": "xterm-256color", "COLUMNS": "100"}
    env.pop("NO_COLOR", None)
    env.update(extra or {})
    argv = ["nsenter", "-t", str(sandbox.holder.pid), "--net", "--mount", sys.executable, "-m", "reconciler", *args]
    process = subprocess.Popen(argv, stdin=terminal, stdout=terminal, stderr=terminal, env=env)
    os.close(terminal)
    output = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the terminal's other end is closed, the process is done
            break
        if not chunk:
            break
        output += chunk
    os.close(controller)
    return process.wait(timeout=60), output.decode()


def plain(text: str) -> str:
    """What a terminal shows in the end, roughly: escape codes out, carriage returns as line breaks."""
    return ESCAPE.sub("", text).replace("\r\n", "\n")


def manifests(sandbox):
    return write(sandbox, network("front", "172.20.0.0/24"),
                 *(endpoint(n, iface("front", f"172.20.0.{10 + i}")) for i, n in enumerate("abcd")))


def test_apply_and_destroy_on_a_terminal_show_a_bar_then_the_same_lines_and_summary(sandbox):
    path = manifests(sandbox)
    piped = sandbox.nr("plan", str(path))
    steps = [line for line in piped.stdout.splitlines() if re.match(r"  (\+|~|-/\+|-) ", line)]
    total = len(steps)
    assert total > 10

    code, shown = in_terminal(sandbox, "apply", str(path))
    assert code == 0, shown
    assert ESCAPE.search(shown), "no terminal control: the bar was not drawn"
    assert re.search(rf"\b\d+/{total}\b", shown), shown  # steps done out of the total
    assert f"{total}/{total}" in plain(shown)
    text = plain(shown)
    for line in steps:
        assert line in text, line
    assert "Apply complete: " in text and text.rstrip().endswith("deleted.")
    assert sandbox.plan_exitcode(path) == 0

    code, shown = in_terminal(sandbox, "destroy", str(path))
    assert code == 0 and ESCAPE.search(shown), shown
    assert re.search(r"\b\d+/\d+\b", shown) and "Destroy complete: " in plain(shown)
    assert sandbox.sh("ip netns list").stdout == ""


def test_into_a_pipe_the_output_is_plain_lines_without_escape_codes(sandbox):
    path = manifests(sandbox)
    applied = sandbox.nr("apply", str(path))
    assert not ESCAPE.search(applied.stdout) and "\x1b" not in applied.stdout + applied.stderr
    lines = applied.stdout.splitlines()
    assert lines[-1].startswith("Apply complete: ") and all(line.startswith("  ") for line in lines[:-1])
    assert len(lines) - 1 == int(re.search(r"(\d+) created", lines[-1]).group(1)) + int(re.search(r"(\d+) updated", lines[-1]).group(1))

    destroyed = sandbox.nr("destroy", str(path))
    assert "\x1b" not in destroyed.stdout + destroyed.stderr
    assert destroyed.stdout.splitlines()[-1].startswith("Destroy complete: ")
