"""The chart next to the JSON: ms per endpoint (bringing N endpoints up from nothing) against N, one
line per tool, as a small hand-written SVG (no plotting dependency for one picture)."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape

from benchmarks.report import SizeResult

WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 640, 360, 64, 160, 40, 48
SERIES = (("netreconcile apply", "apply_ms_per_endpoint", "#1f77b4"),
          ("CNI bridge ADD", "cni_add_ms_per_endpoint", "#d62728"),
          ("netavark setup", "netavark_setup_ms_per_endpoint", "#2ca02c"),
          ("kernel floor", "floor_ms_per_endpoint", "#7f7f7f"))
Scale = Callable[[float], float]


def write_chart(path: Path, results: list[SizeResult]) -> Path:
    path.write_text(svg(sorted(results, key=lambda r: r.endpoints)))
    return path


def svg(results: list[SizeResult]) -> str:
    sizes = [r.endpoints for r in results]
    values = [v for r in results for _, field, _ in SERIES if (v := getattr(r, field)) is not None]
    top = nice_ceiling(max(values, default=1.0))
    lo, hi = math.log10(min(sizes)), math.log10(max(sizes))

    def x(n: float) -> float:
        return LEFT + (0.5 if hi == lo else (math.log10(n) - lo) / (hi - lo)) * (WIDTH - LEFT - RIGHT)

    def y(v: float) -> float:
        return HEIGHT - BOTTOM - v / top * (HEIGHT - TOP - BOTTOM)

    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" '
              f'font-size="12"><rect width="100%" height="100%" fill="white"/>'),
             f'<text x="{LEFT}" y="20" font-size="14">ms per endpoint, from nothing, against endpoints (log scale)</text>']
    parts += axes(sizes, top, x, y)
    for index, (label, field, colour) in enumerate(SERIES):
        points = [(x(r.endpoints), y(v)) for r in results if (v := getattr(r, field)) is not None]
        if points:
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="'
                         + " ".join(f"{px:.1f},{py:.1f}" for px, py in points) + '"/>')
            parts += [f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{colour}"/>' for px, py in points]
        ly = TOP + 16 + index * 18
        parts.append(f'<rect x="{WIDTH - RIGHT + 16}" y="{ly - 9}" width="12" height="3" fill="{colour}"/>'
                     f'<text x="{WIDTH - RIGHT + 34}" y="{ly - 4}">{escape(label)}</text>')
    return "\n".join([*parts, "</svg>"]) + "\n"


def axes(sizes: list[int], top: float, x: Scale, y: Scale) -> list[str]:
    base = HEIGHT - BOTTOM
    out = [f'<line x1="{LEFT}" y1="{base}" x2="{WIDTH - RIGHT}" y2="{base}" stroke="black"/>',
           f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{base}" stroke="black"/>']
    for n in sizes:
        out.append(f'<text x="{x(n):.1f}" y="{base + 18}" text-anchor="middle">{n}</text>')
    for step in range(5):
        v = top * step / 4
        out.append(f'<line x1="{LEFT}" y1="{y(v):.1f}" x2="{WIDTH - RIGHT}" y2="{y(v):.1f}" stroke="#ddd"/>'
                   f'<text x="{LEFT - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:g}</text>')
    return out


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 5 times a power of ten at or above `value`."""
    power = 10 ** math.floor(math.log10(value)) if value > 0 else 1
    return next(m * power for m in (1, 2, 5, 10) if m * power >= value)
