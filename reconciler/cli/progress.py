"""How apply and destroy report their steps: a line per step, and on a terminal a progress bar too.

When stdout is not a terminal (a pipe, a file, CI) the output is the plain step lines and nothing
else, so logs and scripts see exactly what they always did.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from reconciler.cli.render import Paint, plain, step_line, with_it
from reconciler.planning.plan import Plan, Step
from reconciler.terminal import line

if TYPE_CHECKING:
    from rich.progress import TaskID


class Plain:
    """The step lines alone (stdout is not a terminal)."""

    def planned(self, plan: Plan) -> None:
        pass

    def __call__(self, step: Step) -> None:
        print("\n".join(lines(step)), flush=True)


def lines(step: Step, paint: Paint = plain) -> list[str]:
    """A step done (coloured as in the plan); one that took along what was not ours names it, as the plan did."""
    return [step_line(step, paint), *(line(text) for text in (with_it(step) if step.foreign else []))]


@contextmanager
def reporter(paint: Paint = plain) -> Iterator[Plain | _Bar]:
    """The reporter for a run, told of the plan before its first step (`planned`) and of each step
    done: plain lines, or on a terminal the same lines (in colour unless `paint` is plain) above a
    progress bar."""
    if not sys.stdout.isatty():
        yield Plain()
        return
    bar = _Bar(paint)
    try:
        yield bar
    finally:
        bar.stop()


class _Bar:
    """A rich progress bar: steps done out of the plan's, the step just done, time elapsed. It shows
    once the plan is known and vanishes when the run ends, leaving the step lines and the summary."""

    def __init__(self, paint: Paint) -> None:
        # rich only on a terminal: a pipe, a file or CI start without it
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(TextColumn("steps"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                 TextColumn("{task.fields[step]}", markup=False),
                                 console=Console(highlight=False, no_color=paint is plain), transient=True)
        self.task: TaskID | None = None
        self.paint = paint

    def planned(self, plan: Plan) -> None:
        if plan.steps and self.task is None:
            self.task = self.progress.add_task("steps", total=len(plan.steps), step="")
            self.progress.start()

    def stop(self) -> None:
        if self.task is not None:
            self.progress.stop()

    def __call__(self, step: Step) -> None:
        if self.task is not None:
            self.progress.update(self.task, advance=1, step=line(str(step)))
        from rich.text import Text  # rich only on a terminal, as in __init__

        text = "\n".join(lines(step, self.paint))
        # the colours as rich styles: raw escape codes would count as columns and could be cut
        self.progress.console.print(Text.from_ansi(text) if self.paint is not plain else text, markup=False, soft_wrap=True)
