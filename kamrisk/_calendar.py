"""Calendars of as-of dates: month starts (``"1M"``, ``"3M"``) or fixed steps (``"7d"``, ``"2w"``)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ._durations import parse_duration
from ._errors import OptionError

__all__ = ["as_of_calendar"]


def _date(value: Any, name: str) -> pd.Timestamp:
    from ._options import parse_as_of

    return parse_as_of(value, name)[0]


def as_of_calendar(every: str, start: Any, end: Any) -> pd.DatetimeIndex:
    """As-of dates from ``start`` to ``end`` (both included).

    Parameters
    ----------
    every : str
        ``"<n>M"``: every n-th month start, from the first month start on or after ``start``;
        ``"<n>d"`` or ``"<n>w"``: every n days or weeks from ``start``.
    start, end : date

    Returns
    -------
    DatetimeIndex

    Raises
    ------
    OptionError
        For a malformed ``every``, a bad date, or ``start`` after ``end``.

    Examples
    --------
    >>> as_of_calendar("1M", "2024-01-15", "2024-04-01").strftime("%Y-%m-%d").tolist()
    ['2024-02-01', '2024-03-01', '2024-04-01']
    """
    try:
        step = parse_duration(every, "every")
    except ValueError as exc:
        raise OptionError(f"{exc}.") from None
    first, last = _date(start, "start"), _date(end, "end")
    if first > last:
        raise OptionError(f"The calendar starts ({first.date()}) after it ends ({last.date()}).")
    if step.months:
        first = first if first.is_month_start else first + pd.offsets.MonthBegin(1)
        dates = pd.date_range(first, last, freq=f"{step.count}MS")
    else:
        dates = pd.date_range(first, last, freq=f"{step.days}D")
    return pd.DatetimeIndex(dates, name="as_of").as_unit("ns")
