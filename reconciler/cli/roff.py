"""Text as man(7) source: the escapes, the page header, paragraphs and literal blocks that the two
man pages (netreconcile(8), netreconcile-manifests(5)) are written with."""

from __future__ import annotations

import re

SOURCE = "netreconcile"
# no hyphenation and a ragged right: option names and paths are never broken, a test finds them whole
START = ".nh\n.ad l"


def text(plain: str) -> str:
    """`plain` safe as roff text: backslashes and minus signs escaped, no line read as a request."""
    escaped = plain.replace("\\", "\\e").replace("-", "\\-")
    return re.sub(r"(?m)^([.'])", r"\\&\1", escaped)


def header(name: str, section: int, version: str, manual: str) -> str:
    return f'.TH {name.upper()} {section} "" "{SOURCE} {version}" "{manual}"\n{START}'


def section(title: str) -> str:
    return f".SH {title.upper()}"


def subsection(title: str) -> str:
    return f'.SS "{text(title)}"'


def paragraphs(prose: str) -> str:
    """Blank-line separated paragraphs; one whose lines are indented, or that starts with `example:`,
    is kept line for line as written."""
    out = []
    for block in filter(str.strip, re.split(r"\n\s*\n", prose.strip("\n"))):
        if block.startswith((" ", "example:")) or "\n  " in block:
            out.append(f".PP\n.nf\n{text(block)}\n.fi")
        else:
            out.append(f".PP\n{text(' '.join(block.split()))}")
    return "\n".join(out)


def item(tag: str, body: str) -> str:
    """A tagged paragraph: `tag` in bold, `body` indented below it."""
    return f".TP\n.B {text(tag)}\n{text(' '.join(body.split()))}" if body.strip() else f".TP\n.B {text(tag)}\n.br"
