"""The values of options that are numbers: durations, shares, timeouts. Each raises what argparse
turns into `error: argument ...: invalid ... value` (exit 1)."""

from __future__ import annotations

import argparse
import math
import re

MAX_CONFIRM_TIMEOUT = 86400.0  # a day: a change waiting longer for its confirmation was forgotten
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


def timeout(text: str) -> float:
    """Seconds above 0, at most a day (--confirm-timeout)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= MAX_CONFIRM_TIMEOUT:  # NaN fails this too
        raise argparse.ArgumentTypeError(f"{text!r}: a number of seconds above 0 and at most {MAX_CONFIRM_TIMEOUT:g} (a day)")
    return value
