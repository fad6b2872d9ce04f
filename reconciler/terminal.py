"""Text bound for a terminal or a log, with control characters shown as escapes, never sent raw.

A name, a line of a file or a string from the kernel may hold ESC, BEL, CR and other control
characters (a link or a hosts file made by hand) that would move the cursor, erase a line of a plan
or forge one. Each of them (C0 but tab, DEL, C1) is printed as \\xNN instead.
"""

from __future__ import annotations

import re

CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def line(text: str) -> str:
    """`text` as one line: every control character escaped, line breaks included."""
    return CONTROL.sub(_escape, text)


def lines(text: str) -> str:
    """`text` with its line breaks kept and every other control character escaped."""
    return "\n".join(line(part) for part in text.split("\n"))


def _escape(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"
