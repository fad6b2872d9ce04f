"""Run the tutorials of docs/tutorials/ as tests: every command they show, against the real kernel.

A tutorial is Markdown (docs/README.md describes the conventions for writers):

- a ```console block holds commands and their expected output. A line `$ COMMAND` runs COMMAND on
  the machine; `NAME$ COMMAND` runs it on the host NAME of a multi-host tutorial. A command line
  ending in `\\` continues on the next line. The lines after a command, up to the next command, are
  its expected output (stdout and stderr together, as a terminal shows them); a last line `[N]` says
  that the command exits N (otherwise it must exit 0).
- in expected output, a line `...` stands for any number of lines (none included), and `...` inside
  a line for any text on that line: for what genuinely varies, as ping's round-trip times.
  Trailing blanks at the end of lines, and blank lines at the end of the output, are not compared.
- a ```yaml block is a file of the tutorial: the line just before it is `` `PATH`: `` (PATH from the
  repository root), and the block must equal that file.

`run_tutorial` runs the commands in order, each with the repository root as its working directory
and `netreconcile` on PATH, inside the sandboxes a test gives it (tests/sandbox.py, tests/cluster.py),
and fails at the first command whose output or exit status differs, with a diff.

With NETRECONCILE_DOCS_TRANSCRIPT=FILE in the environment, a test runs all of a tutorial's commands
even past a difference and appends what they printed to FILE, in the tutorial's notation: a help
for writing one (read it before pasting it), and the test still fails on any difference.
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from sandbox import REPO, Sandbox

FENCE = re.compile(r"^(`{3,})\s*(\S*)")
PROMPT = re.compile(r"^([A-Za-z0-9_-]*)\$ (.*)$")
EXIT = re.compile(r"^\[(\d+)\]$")
FILE_LINE = re.compile(r"^`([^`]+)`:$")
ANY_LINES, ANY_TEXT = "...", "..."


@dataclass(frozen=True)
class Command:
    """One `$ COMMAND` of a console block, what it must print and the status it must exit with."""

    where: str             # FILE:LINE of the command in the Markdown
    host: str              # "" for the machine, else the host of a multi-host tutorial
    line: str
    expected: tuple[str, ...]
    exit_code: int


@dataclass(frozen=True)
class Listing:
    """A ```yaml block and the file it shows."""

    where: str
    path: str
    text: str


@dataclass(frozen=True)
class Tutorial:
    """The commands and the file listings of one Markdown tutorial, in order."""

    path: Path
    commands: tuple[Command, ...]
    listings: tuple[Listing, ...]


@dataclass(frozen=True)
class Block:
    info: str
    start: int             # line number (1-based) of the first line inside the fence
    lines: tuple[str, ...]
    before: str            # the last non-blank line before the fence


def blocks(text: str) -> Iterator[Block]:
    """The fenced blocks of Markdown text, with the line that introduces each."""
    lines = text.splitlines()
    index, before = 0, ""
    while index < len(lines):
        match = FENCE.match(lines[index])
        if not match:
            before = lines[index] if lines[index].strip() else before
            index += 1
            continue
        end = index + 1
        while end < len(lines) and not lines[end].startswith(match.group(1)):
            end += 1
        if end == len(lines):
            raise ValueError(f"line {index + 1}: a fenced block that never closes")
        yield Block(match.group(2), index + 2, tuple(lines[index + 1:end]), before)
        index, before = end + 1, ""


def parse(path: Path) -> Tutorial:
    """Read a tutorial; ValueError (with FILE:LINE) when it breaks the conventions."""
    commands: list[Command] = []
    listings: list[Listing] = []
    name = display(path)
    for block in blocks(path.read_text()):
        if block.info == "console":
            commands += console_commands(name, block)
        elif block.info == "yaml":
            listings.append(listing(name, block))
    return Tutorial(path, tuple(commands), tuple(listings))


def listing(name: str, block: Block) -> Listing:
    match = FILE_LINE.match(block.before.strip())
    if not match:
        raise ValueError(f"{name}:{block.start - 1}: a yaml block must follow a line `PATH`: naming its file")
    return Listing(f"{name}:{block.start - 1}", match.group(1), "\n".join(block.lines) + "\n")


def console_commands(name: str, block: Block) -> Iterator[Command]:
    """Split a console block into commands, each with the output lines that follow it."""
    lines, index = block.lines, 0
    if lines and not PROMPT.match(lines[0]):
        raise ValueError(f"{name}:{block.start}: a console block starts with a `$ ` command")
    while index < len(lines):
        where = f"{name}:{block.start + index}"
        host, line = PROMPT.match(lines[index]).groups()
        while line.endswith("\\") and index + 1 < len(lines):
            index += 1
            line = line[:-1] + "\n" + lines[index]
        index += 1
        output: list[str] = []
        while index < len(lines) and not PROMPT.match(lines[index]):
            output.append(lines[index])
            index += 1
        output, exit_code = exit_status(output)
        yield Command(where, host, line, tuple(output), exit_code)


def exit_status(output: list[str]) -> tuple[list[str], int]:
    """The output without its trailing blank lines and `[N]` line, and N (0 without one)."""
    output = trimmed(output)
    if output and EXIT.match(output[-1]):
        return trimmed(output[:-1]), int(EXIT.match(output[-1]).group(1))
    return output, 0


def trimmed(lines: list[str]) -> list[str]:
    lines = [line.rstrip() for line in lines]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def matches(expected: tuple[str, ...] | list[str], actual: list[str]) -> bool:
    """Whether actual output lines fit the expected ones, `...` placeholders included."""
    pattern = "".join(line_pattern(line) for line in expected)
    return re.fullmatch(pattern, "".join(line + "\n" for line in actual)) is not None


def line_pattern(line: str) -> str:
    if line == ANY_LINES:
        return r"(?:[^\n]*\n)*?"
    return r"[^\n]*?".join(re.escape(part) for part in line.split(ANY_TEXT)) + r"\n"


def listing_problems(tutorial: Tutorial) -> list[str]:
    """Each yaml block that differs from its file (or names none that exists), with a diff."""
    problems = []
    for shown in tutorial.listings:
        file = REPO / shown.path
        if not file.is_file():
            problems.append(f"{shown.where}: shows {shown.path}, which does not exist")
        elif file.read_text() != shown.text:
            diff = difflib.unified_diff(file.read_text().splitlines(True), shown.text.splitlines(True),
                                        shown.path, f"{shown.where} (the Markdown)")
            problems.append("".join(diff))
    return problems


def shim_dir(parent: Path) -> Path:
    """A folder in `parent` holding `netreconcile`, run with this Python on the work tree's code."""
    folder = Path(tempfile.mkdtemp(prefix="bin-", dir=parent))
    shim = folder / "netreconcile"
    shim.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -m reconciler \"$@\"\n")
    shim.chmod(0o755)
    return folder


def execute(machine: Sandbox, command: Command, bindir: Path) -> tuple[list[str], int]:
    """Run one command on `machine` as a reader would type it: its output lines and exit status."""
    script = (f"cd {shlex.quote(str(REPO))} && export PATH={shlex.quote(str(bindir))}:\"$PATH\" "
              f"PYTHONUNBUFFERED=1 COLUMNS=100 && exec 2>&1\n{command.line}")
    result = machine.sh(script, check=False)
    return trimmed(result.stdout.splitlines()), result.returncode


def failure(command: Command, actual: list[str], code: int) -> str:
    diff = "".join(difflib.unified_diff([line + "\n" for line in command.expected], [line + "\n" for line in actual],
                                        "expected (the Markdown)", "actual"))
    return (f"{command.where}: `{command.line}` exited {code} (expected {command.exit_code})"
            f"{' and printed something else' if not matches(command.expected, actual) else ''}\n{diff}")


def run_tutorial(path: Path, machines: Mapping[str, Sandbox], transcript: Path | None = None) -> int:
    """Run every command of the tutorial at `path` on its machine (key "" for `$ `, a host's name for
    `NAME$ `); AssertionError at the first that differs. With a `transcript` (or
    NETRECONCILE_DOCS_TRANSCRIPT), all commands run and what they printed is appended to it, and the
    AssertionError lists every difference. Returns the number of commands run."""
    tutorial = parse(path)
    problems = listing_problems(tutorial)
    assert not problems, "\n".join(problems)
    assert tutorial.commands, f"{display(path)} shows no command"
    bindir = shim_dir(next(iter(machines.values())).workdir)
    transcript = transcript or os.environ.get("NETRECONCILE_DOCS_TRANSCRIPT")
    failures = []
    for command in tutorial.commands:
        assert command.host in machines, f"{command.where}: no machine `{command.host}` in this tutorial's test"
        actual, code = execute(machines[command.host], command, bindir)
        if transcript:
            write_transcript(Path(transcript), command, actual, code)
        if code != command.exit_code or not matches(command.expected, actual):
            failures.append(failure(command, actual, code))
            assert transcript, failures[0]
    assert not failures, "\n".join(failures)
    return len(tutorial.commands)


def write_transcript(path: Path, command: Command, actual: list[str], code: int) -> None:
    with path.open("a") as out:
        print(f"{command.where}\n{command.host}$ {command.line}", *actual, *([f"[{code}]"] if code else []),
              sep="\n", end="\n\n", file=out)


def stop_processes(machine: Sandbox) -> None:
    """Kill what a tutorial left running inside the machine's network namespaces (a server started in
    an endpoint would keep the namespace alive after the sandbox)."""
    machine.sh("for ns in $(ip netns list | cut -d' ' -f1); do ip netns pids \"$ns\" | xargs -r kill -9; done",
               check=False)


def make_lan(machine: Sandbox, router: str, host: str, vlans: Mapping[int, str] = {}) -> None:
    """Hidden setup for the macvlan and ipvlan tutorials: the machine's `eth1` (with the address
    `host`, CIDR) is a veth into a namespace `lan`, whose bridge `lanbr` holds the LAN's router
    (`router`, CIDR), and for each VLAN id in `vlans` a tagged sub-interface with that router address."""
    steps = ["ip netns add lan", "ip -n lan link set lo up", "ip -n lan link add lanbr type bridge",
             f"ip -n lan addr add {router} dev lanbr", "ip -n lan link set lanbr up",
             "ip link add eth1 type veth peer name lan0 netns lan", "ip -n lan link set lan0 master lanbr up",
             f"ip addr add {host} dev eth1", "ip link set eth1 up"]
    for vid, address in vlans.items():
        steps += [f"ip -n lan link add link lanbr name lanbr.{vid} type vlan id {vid}",
                  f"ip -n lan addr add {address} dev lanbr.{vid}", f"ip -n lan link set lanbr.{vid} up"]
    machine.sh(" && ".join(steps))


def display(path: Path) -> str:
    path = path.resolve()
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)
