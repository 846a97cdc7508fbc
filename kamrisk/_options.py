"""The options every entry point shares, checked in one place: language, reasons mode and as_of dates.

Each raises :class:`~kamrisk.OptionError` naming the option, what was given and what is accepted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ._errors import OptionError

__all__ = ["LANGUAGES", "REASON_MODES", "check_lang", "check_reasons", "parse_as_of"]

LANGUAGES = ("en", "zh")
REASON_MODES = ("all", "at_risk", "none")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def check_lang(lang: Any) -> str:
    """``"en"`` or ``"zh"``."""
    if lang not in LANGUAGES:
        raise OptionError(f"lang must be one of {list(LANGUAGES)}, got {lang!r}.")
    return str(lang)


def check_reasons(reasons: Any) -> str:
    """``"all"`` (explain every row), ``"at_risk"`` (high and medium band rows) or ``"none"``."""
    if reasons not in REASON_MODES:
        raise OptionError(f"reasons must be one of {list(REASON_MODES)}, got {reasons!r}.")
    return str(reasons)


def _one_date(value: Any, name: str) -> Any:
    import pandas as pd

    if isinstance(value, str):
        text = value.strip()
        if not _ISO_DATE.match(text):
            raise OptionError(
                f"{name} must be an ISO date YYYY-MM-DD (e.g. 2025-06-01), got {value!r}: other forms such as "
                "01/12/2025 are ambiguous between day-first and month-first."
            )
        try:
            return pd.Timestamp(text)
        except ValueError as exc:
            raise OptionError(f"{name}: {value!r} is not a calendar date ({exc}).") from None
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise OptionError(f"{name} must be a date such as 2025-06-01, got {value!r}.") from exc
    if pd.isna(stamp):
        raise OptionError(f"{name} must be a date such as 2025-06-01, got {value!r}.")
    if stamp.tz is not None:
        stamp = stamp.tz_localize(None)
    if stamp != stamp.normalize():
        raise OptionError(f"{name} must be a day, without a time of day; got {value!r}.")
    return stamp


def parse_as_of(as_of: Any, name: str = "as_of") -> Any:
    """One date or several, as a sorted ``DatetimeIndex`` named ``as_of`` without duplicates.

    Text must be ISO (``YYYY-MM-DD``); dates, timestamps at midnight and ``datetime64`` are accepted as
    they are. A time of day, an ambiguous form or an empty list is an :class:`~kamrisk.OptionError`.
    """
    import pandas as pd

    if isinstance(as_of, pd.DatetimeIndex):
        values: Iterable[Any] = list(as_of)
    elif isinstance(as_of, str) or not isinstance(as_of, Iterable):
        values = [as_of]
    else:
        values = list(as_of)
    dates = [_one_date(v, name) for v in values]
    if not dates:
        raise OptionError(f"{name}: give at least one date.")
    index = pd.DatetimeIndex(sorted(set(dates)), name="as_of").as_unit("ns")
    return index
