"""The values of options that are numbers: durations, shares, timeouts. Each raises what argparse
turns into `error: argument ...: invalid ... value` (exit 1)."""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable

MAX_CONFIRM_TIMEOUT = 86400.0  # a day: a change waiting longer for its confirmation was forgotten
MAX_RESYNC = 86400.0  # a day: beyond it, 0 (never) says what is meant
MAX_DEBOUNCE = 60.0  # a minute of quiet: longer would leave a change unapplied for minutes
DURATION = "a duration (30s, 5m, 1h, 250ms, or seconds)"
UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}


def duration(text: str) -> float:
    """Seconds from '30s', '5m', '1h', '250ms' or a plain number of seconds (--resync, --debounce)."""
    match = re.fullmatch(r"([0-9]*\.?[0-9]+)(ms|s|m|h)?", text.strip())
    if not match:
        raise ValueError(text)
    return float(match[1]) * UNITS[match[2]]


def share(text: str) -> float:
    """A share from 0 to 1, or a percentage (--max-delete)."""
    value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("a share from 0 to 1, or a percentage (50%)")
    return value


def seconds(maximum: float, what: str = "a number of seconds", parse: Callable[[str], float] = float,
            zero: str = "") -> Callable[[str], float]:
    """An argparse type: a finite number of seconds above 0 (or 0 itself, meaning `zero`) and at most
    `maximum`. NaN, infinities (a run of hundreds of 9s reads as one) and anything unreadable are usage
    errors, which argparse reports naming the flag."""

    def parsed(text: str) -> float:
        try:
            value = parse(text)
        except ValueError:
            value = math.nan
        if not (0 < value <= maximum or (zero and value == 0)):  # NaN fails this too
            bounds = f"from 0 ({zero}) to {maximum:g}" if zero else f"above 0 and at most {maximum:g}"
            raise argparse.ArgumentTypeError(f"{text!r}: {what} {bounds} ({_span(maximum)})")
        return value

    return parsed


def _span(limit: float) -> str:
    return {86400.0: "a day", 60.0: "a minute"}.get(limit, f"{limit:g} s")


timeout = seconds(MAX_CONFIRM_TIMEOUT)  # --confirm-timeout
resync = seconds(MAX_RESYNC, DURATION, duration, zero="never")  # --resync
debounce = seconds(MAX_DEBOUNCE, DURATION, duration, zero="at once")  # --debounce
