"""Calendars of as-of dates: month starts (``"1M"``, ``"3M"``) or fixed steps of days (``"7d"``)."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from ._errors import ConfigError

__all__ = ["as_of_calendar"]

_EVERY = re.compile(r"^([1-9]\d*)([Md])$")


def _date(value: Any, name: str) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{name} must be a date such as '2024-01-01', got {value!r}.") from exc
    if pd.isna(stamp):
        raise ConfigError(f"{name} must be a date such as '2024-01-01', got {value!r}.")
    return stamp.tz_localize(None).normalize() if stamp.tz is not None else stamp.normalize()


def as_of_calendar(every: str, start: Any, end: Any) -> pd.DatetimeIndex:
    """As-of dates from ``start`` to ``end`` (both included).

    Parameters
    ----------
    every : str
        ``"<n>M"``: every n-th month start, from the first month start on or after ``start``;
        ``"<n>d"``: every n days from ``start``.
    start, end : date

    Returns
    -------
    DatetimeIndex

    Raises
    ------
    ConfigError
        For a malformed ``every``, a bad date, or ``start`` after ``end``.

    Examples
    --------
    >>> as_of_calendar("1M", "2024-01-15", "2024-04-01").strftime("%Y-%m-%d").tolist()
    ['2024-02-01', '2024-03-01', '2024-04-01']
    """
    match = _EVERY.match(str(every))
    if not match:
        raise ConfigError(f"every must be like '1M' (month starts) or '7d' (days), got {every!r}.")
    step, unit = int(match.group(1)), match.group(2)
    first, last = _date(start, "start"), _date(end, "end")
    if first > last:
        raise ConfigError(f"The calendar starts ({first.date()}) after it ends ({last.date()}).")
    if unit == "M":
        first = first if first.is_month_start else first + pd.offsets.MonthBegin(1)
        dates = pd.date_range(first, last, freq=f"{step}MS")
    else:
        dates = pd.date_range(first, last, freq=f"{step}D")
    return pd.DatetimeIndex(dates, name="as_of").as_unit("ns")
