"""netreconcile(8): the man page of the command, made from its argparse parser (the same walk as the
completion scripts, reconciler/cli/walk.py), so that every command and option is in it with the help
--help shows. Built into the wheel's data files (setup.py) as share/man/man8/netreconcile.8."""

from __future__ import annotations

import argparse
import re

import reconciler.cli.roff as roff
from reconciler.cli.main import EXIT_CODES, build_parser
from reconciler.cli.version import version
from reconciler.cli.walk import commands

NAME = "netreconcile"
ENVIRONMENT = {
    "NO_COLOR": "when set and not empty, plans are never coloured (as --no-color); they are coloured only on a terminal",
    "NETRECONCILE_RUN_DIR": "the folder of the lock and of the records status reads (default /run/netreconcile)",
}
FILES = {
    "/etc/netreconcile/manifests": "the manifests the systemd units apply and watch (netreconcile-manifests(5))",
    "/run/netreconcile": "the lock of apply, destroy and watch, the last reconcile's record, a pending confirmation",
}
SEE_ALSO = r"\fBnetreconcile\-manifests\fR(5), \fBip\fR(8), \fBip\-netns\fR(8), \fBnft\fR(8), \fBsystemctl\fR(1)"


def page() -> str:
    parser = build_parser()
    parts = [roff.header(NAME, 8, version(), "System Administration"),
             roff.section("name"), roff.text(f"{NAME} - {parser.description}"),
             roff.section("synopsis"), _synopsis(parser),
             roff.section("options"), _options(parser),
             roff.section("commands")]
    for name, sub in commands(parser).items():
        parts += [roff.subsection(f"{NAME} {name}"), _synopsis(sub), roff.paragraphs(sub.description or ""),
                  _options(sub), roff.paragraphs(sub.epilog or "")]
    parts += [roff.section("exit status"), _exit_status(),
              roff.section("environment"), *(roff.item(k, v) for k, v in ENVIRONMENT.items()),
              roff.section("files"), *(roff.item(k, v) for k, v in FILES.items()),
              roff.section("see also"), SEE_ALSO]
    return "\n".join(filter(None, parts)) + "\n"


def _synopsis(parser: argparse.ArgumentParser) -> str:
    usage = " ".join(parser.format_usage().removeprefix("usage: ").split())
    return f".PP\n{roff.text(usage)}"


def _options(parser: argparse.ArgumentParser) -> str:
    formatter = parser._get_formatter()
    items = [roff.item(formatter._format_action_invocation(a), formatter._expand_help(a) if a.help else "")
             for a in parser._actions
             if a.help != argparse.SUPPRESS and not isinstance(a, argparse._SubParsersAction)]
    return "\n".join(items)


def _exit_status() -> str:
    """EXIT_CODES, as --help shows it: each `  N  meaning` line a tagged paragraph, the rest prose."""
    codes, prose = [], []
    for row in EXIT_CODES.split("\n")[1:]:
        if match := re.match(r"\s+(\d+)\s+(.*)", row):
            codes.append(roff.item(match[1], match[2]))
        else:
            prose.append(row)
    return "\n".join([*codes, roff.paragraphs("\n".join(prose))])
