"""Forgetting conntrack entries: a UDP flow DNATed to a backend that has left would keep going to it
(UDP has no end: its entry is renewed by every datagram); once its entry is gone the next datagram
is balanced afresh. Through the `conntrack` tool (conntrack-tools): deleting by address needs a dump
and a delete per entry over ctnetlink, which the tool does for us."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable


def forget_udp(backends: Iterable[str]) -> None:
    """Delete the UDP entries DNATed to one of `backends` (their reply comes from it), in the calling
    process's network namespace; flows that reach it without DNAT are left alone. Without the tool
    the entries simply expire (30 s idle)."""
    binary = shutil.which("conntrack")
    if binary is None:
        return
    for address in sorted(set(backends)):
        family = "ipv6" if ":" in address else "ipv4"
        # exit status 1 with "0 flow entries have been deleted" when there were none: nothing to do
        subprocess.run([binary, "-D", "-f", family, "-p", "udp", "--reply-src", address, "--dst-nat"],
                       capture_output=True, check=False, timeout=10)
