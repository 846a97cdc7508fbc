"""Defection labels from orders: did the account's revenue in ``[as_of, as_of + horizon)`` collapse
against what its trailing 12 months predict?

- ``expected``: net revenue of the 365 days before as_of x horizon / 365.
- ``actual``: net revenue in ``[as_of, as_of + horizon)``.
- ``full`` defection: actual < ``full_threshold`` x expected (the account has all but gone).
- ``partial`` defection: actual < ``partial_threshold`` x expected (it moved a large share of its wallet
  elsewhere); every full defection is also partial.

With a ``lead`` (early warning), the window judged is ``[as_of + lead, as_of + horizon)`` and a row whose
orders already stopped in the lead is censored: the question becomes "still buying now, gone later".

A row whose horizon runs past the end of the data (``data.end``, the day after the last order) is
censored: ``label`` and ``actual`` are NaN, never 0 or 1. So is a row whose trailing revenue is not
positive (nothing to lose).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._durations import parse_days
from ._errors import ConfigError
from ._features._base import Context, as_of_index, to_days
from ._recipe import LABEL_KINDS
from ._schema import AccountData

__all__ = ["make_labels", "parse_horizon", "LABEL_KINDS"]

_TRAILING = 365


def parse_horizon(horizon: str | int) -> int:
    """``"180d"``, ``"26w"`` (or 180) -> days; :class:`~kamrisk.ConfigError` otherwise."""
    try:
        return parse_days(horizon, "horizon")
    except ValueError as exc:
        raise ConfigError(f"{exc}.") from None


def _threshold(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise ConfigError(f"{name} must be a number in (0, 1], got {value!r}.")
    return float(value)


def make_labels(
    data: AccountData,
    as_of: Any,
    horizon: str | int = "180d",
    kind: str = "full",
    full_threshold: float = 0.1,
    partial_threshold: float = 0.5,
    *,
    active_days: int = 365,
    lead: str | int = 0,
) -> pd.DataFrame:
    """Label each active (account, as_of) as defected (1), retained (0) or censored (NaN).

    Parameters
    ----------
    data : AccountData
    as_of : date or list-like of dates
    horizon : str, default "180d"
        Look-ahead window, ``"<n>d"``.
    kind : {"full", "partial"}
    full_threshold, partial_threshold : float
        Share of the expected revenue below which the account counts as defected.
    active_days : int, default 365
        The same activity rule as :func:`~kamrisk.build_features`: rows match its index.
    lead : str or int, default 0
        Early warning: judge the window ``[as_of + lead, as_of + horizon)`` instead, so that a positive is
        an account still buying at its pace in the lead and gone after it; a row whose orders already
        stopped in the lead (below the threshold there too) is censored (NaN): nothing is left to warn of.

    Returns
    -------
    DataFrame
        Indexed by (``account_id``, ``as_of``); columns ``label`` (1.0, 0.0 or NaN), ``expected`` and
        ``actual`` revenue. ``attrs`` record the definition.

    Raises
    ------
    ConfigError
        For a bad horizon, kind or threshold.

    Examples
    --------
    >>> labels = kamrisk.make_labels(book, ["2024-01-01"], horizon="180d", kind="partial")  # doctest: +SKIP
    """
    days = parse_horizon(horizon)
    lead_days = parse_days(lead, "lead") if lead not in (0, None, "0d") else 0
    if lead_days >= days:
        raise ConfigError(f"lead ({lead_days} days) must be shorter than the horizon ({days} days).")
    if kind not in LABEL_KINDS:
        raise ConfigError(f"kind must be one of {list(LABEL_KINDS)}, got {kind!r}.")
    threshold = _threshold(full_threshold if kind == "full" else partial_threshold,
                           f"{kind}_threshold")
    if isinstance(active_days, bool) or not isinstance(active_days, int) or active_days < 1:
        raise ConfigError(f"active_days must be a positive number of days, got {active_days!r}.")
    ctx = Context(data, as_of_index(as_of), active_days)
    trailing = ctx.orders.sum("net", ctx.codes, ctx.t - _TRAILING, ctx.t)
    # the window judged: [as_of + lead, as_of + horizon)
    expected = trailing * (days - lead_days) / _TRAILING
    actual = ctx.orders.sum("net", ctx.codes, ctx.t + lead_days, ctx.t + days)
    observed = ctx.t + days <= to_days(pd.Series([data.end]))[0]
    label = np.where(actual < threshold * expected, 1.0, 0.0)
    label = np.where(observed & (expected > 0), label, np.nan)
    if lead_days:  # gone already in the lead: nothing left to warn of
        soon = ctx.orders.sum("net", ctx.codes, ctx.t, ctx.t + lead_days)
        label = np.where((label == 1.0) & (soon < threshold * trailing * lead_days / _TRAILING), np.nan, label)
    frame = pd.DataFrame(
        {"label": label, "expected": expected, "actual": np.where(observed, actual, np.nan)}, index=ctx.index
    )
    frame.attrs.update({"horizon": f"{days}d", "kind": kind, "threshold": threshold,
                        "active_days": active_days, "lead": f"{lead_days}d"})
    return frame
