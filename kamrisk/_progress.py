"""Rich progress bars for long work, off automatically when output is not a terminal."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["progress", "console"]


def console():
    from rich.console import Console

    return Console(stderr=True)


@contextmanager
def progress(enabled: bool | None = None) -> Iterator[object]:
    """Yield a started ``rich.progress.Progress``; disabled when stderr is not a terminal.

    Use ``task = bar.add_task("Building features", total=n)`` and ``bar.advance(task)``.
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    out = console()
    show = out.is_terminal if enabled is None else enabled
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=out, disable=not show,
        transient=False,
    ) as bar:
        yield bar
