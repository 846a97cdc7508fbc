"""Progress for long work, and quiet third parties.

- :func:`progress`: a rich progress bar on stderr, shown whenever stderr is a terminal.
- :func:`reporter`: turns an ``on_step`` callback into one that also logs each step to the ``kamrisk``
  logger (``logging.basicConfig(level=logging.INFO)`` shows a Python caller the progress of ``train``).
- :func:`quiet_third_parties`: MLflow's INFO and WARNING log lines, its artifact progress bar and its
  warnings (advice to add type hints, with raw colour codes; integer columns in an inferred schema) are
  noise to a user of kamrisk. Inside it its log lines below ERROR are held back and its warnings go to
  the ``kamrisk`` logger at DEBUG; ``KAMRISK_VERBOSE=1`` (which the CLI's ``--verbose`` can set) leaves
  MLflow as it is.
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["progress", "console", "reporter", "quiet_third_parties", "verbose", "step_text"]

log = logging.getLogger("kamrisk")

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_PROGRESS_BAR = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"
_THIRD_PARTIES = ("mlflow", "alembic")

# the steps a progress bar names, in Chinese for a zh run (an unknown step is shown as given)
_STEPS_ZH = {
    "Simulating a book of key accounts": "模拟大客户数据",
    "Validating the data": "校验数据",
    "Building features and labels": "构建特征与标签",
    "Backtesting": "回测",
    "Fitting the final model": "训练最终模型",
    "Logging to MLflow": "记录到 MLflow",
    "Scoring the latest as_of": "为最新评估日评分",
    "Writing the reports": "生成报告",
    "Scoring": "评分",
    "Training": "训练",
    "Reviewing the lost accounts": "复盘流失客户",
}


def step_text(name: str, lang: str = "en") -> str:
    """A progress step's description in ``lang``."""
    return _STEPS_ZH.get(name, name) if lang == "zh" else name


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


def reporter(on_step: Callable[[str], None] | None) -> Callable[[str], None]:
    """A step callback that logs each step to the ``kamrisk`` logger (INFO) and then calls ``on_step``."""

    def step(name: str) -> None:
        log.info("%s", name)
        if on_step is not None:
            on_step(name)

    return step


def verbose() -> bool:
    """Whether third parties may speak: ``KAMRISK_VERBOSE`` set to anything but empty, 0, false or no."""
    return os.environ.get("KAMRISK_VERBOSE", "").strip().lower() not in ("", "0", "false", "no")


def _from_third_party(filename: str) -> bool:
    parts = re.split(r"[\\/]", filename or "")
    return any(name in parts for name in _THIRD_PARTIES)


@contextmanager
def quiet_third_parties() -> Iterator[None]:
    """Run MLflow calls without their INFO logs, artifact progress bars and warnings on the terminal.

    MLflow's warnings are recorded and logged to ``kamrisk`` at DEBUG, colour codes removed; any other
    warning raised inside is re-issued as it was, so the caller's filters still apply. A filter of our
    own cannot do this: MLflow wraps some calls in ``simplefilter("once", UserWarning)``, which wins over
    any ``ignore`` set outside. Also a decorator (``@quiet_third_parties()``).
    """
    if verbose():
        yield
        return
    import mlflow  # noqa: F401 - importing it configures its loggers; lowered below, not after

    loggers = [logging.getLogger(name) for name in _THIRD_PARTIES]
    levels = [logger.level for logger in loggers]
    bar = os.environ.get(_PROGRESS_BAR)
    os.environ[_PROGRESS_BAR] = "false"
    for logger in loggers:
        logger.setLevel(max(logger.level, logging.ERROR))
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.filterwarnings("always", module=r"(mlflow|alembic)(\.|$)")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
        if bar is None:
            os.environ.pop(_PROGRESS_BAR, None)
        else:
            os.environ[_PROGRESS_BAR] = bar
    for w in caught:
        if _from_third_party(w.filename):
            log.debug("%s from %s:%s: %s", w.category.__name__, w.filename, w.lineno,
                      _ANSI.sub("", str(w.message)))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
