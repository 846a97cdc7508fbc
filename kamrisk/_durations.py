"""Durations, written one way everywhere: ``90d`` (days), ``12w`` (weeks) or ``3M`` (months).

Recipes (horizon, warm-up, calendar, backtest step), the catalog's windows and the command line all read
durations through :func:`parse_duration`. A window that must be a whole number of days (a horizon, a
feature window) accepts days and weeks (``2w`` is 14 days); a calendar step also accepts months, which
means month starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

__all__ = ["Duration", "parse_duration", "parse_days"]

_SYNTAX = re.compile(r"^\s*([1-9]\d*)\s*([dwM])\s*$")
_UNIT_DAYS = {"d": 1, "w": 7}


@dataclass(frozen=True)
class Duration:
    """A number of days or of months. ``str()`` gives it back in the one syntax (``90d``, ``3M``)."""

    count: int
    unit: str  # "d" or "M"

    @property
    def days(self) -> int:
        """The length in days; a :class:`ValueError` for months, whose length varies."""
        if self.unit == "M":
            raise ValueError(f"{self} is a number of months, not of days")
        return self.count

    @property
    def months(self) -> bool:
        return self.unit == "M"

    def offset(self) -> pd.DateOffset | pd.Timedelta:
        """What to add to a date to move by this duration."""
        return pd.DateOffset(months=self.count) if self.months else pd.Timedelta(days=self.count)

    def __str__(self) -> str:
        return f"{self.count}{self.unit}"


def parse_duration(value: object, field: str = "duration", *, months: bool = True) -> Duration:
    """``"90d"`` -> 90 days, ``"2w"`` -> 14 days, ``"3M"`` -> 3 months (a bare integer is days).

    Parameters
    ----------
    value : str or int
    field : str
        Named in the error message.
    months : bool, default True
        Whether a number of months is acceptable here.

    Raises
    ------
    ValueError
        Naming the field, the value and the syntax expected.

    Examples
    --------
    >>> parse_duration("2w").days
    14
    >>> str(parse_duration("3M"))
    '3M'
    """
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return Duration(value, "d")
    match = _SYNTAX.match(value) if isinstance(value, str) else None
    if match is None or (match.group(2) == "M" and not months):
        allowed = "'90d' (days), '12w' (weeks)" + (" or '3M' (months)" if months else "")
        raise ValueError(f"{field}: expected a duration such as {allowed}, got {value!r}")
    count, unit = int(match.group(1)), match.group(2)
    if unit == "M":
        return Duration(count, "M")
    return Duration(count * _UNIT_DAYS[unit], "d")


def parse_days(value: object, field: str = "duration") -> int:
    """A duration that must be a whole number of days (``90d``, ``12w`` or an integer) -> days."""
    return parse_duration(value, field, months=False).days
