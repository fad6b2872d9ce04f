"""How apply and destroy report their steps: a line per step, and on a terminal a progress bar too.

When stdout is not a terminal (a pipe, a file, CI) the output is the plain step lines and nothing
else, so logs and scripts see exactly what they always did.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Callable, Iterator

from reconciler.executor import Reporter
from reconciler.plan import Step


def plain(step: Step) -> None:
    print(f"  {step}", flush=True)


@contextmanager
def reporter(count: Callable[[], int]) -> Iterator[Reporter]:
    """The reporter for a run: plain lines, or on a terminal the same lines above a progress bar of
    `count()` steps (called only then: it may cost a read of the kernel)."""
    if not sys.stdout.isatty():
        yield plain
        return
    with _Bar(count()) as bar:
        yield bar.advance


class _Bar:
    """A rich progress bar: steps done out of the total, the step just done, time elapsed. It vanishes
    when the run ends, leaving the step lines and the summary that follows."""

    def __init__(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("steps"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                 TextColumn("{task.fields[step]}", markup=False), console=Console(highlight=False), transient=True)
        self.task = self.progress.add_task("steps", total=total, step="")

    def __enter__(self) -> _Bar:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def advance(self, step: Step) -> None:
        task = self.progress.tasks[0]
        total = max(task.total or 0, task.completed + 1)  # the count was read before the run: it may fall short
        self.progress.update(self.task, advance=1, total=total, step=str(step))
        self.progress.console.print(f"  {step}", markup=False, soft_wrap=True)
