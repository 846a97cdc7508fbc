"""Sign kinds of account context (family ``account_context``): tenure, revenue rank within the book at
as_of, and the account's master attributes (segment, region, channel, tier) as categories."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._base import NEVER, Context, to_days
from ._registry import Param, register

__all__: list[str] = []

_WINDOW = {"window": Param("window", required=False, default="365d")}


@register("tenure_days", unit="days", source="accounts")
def tenure_days(ctx: Context) -> np.ndarray:
    """Days since the relationship began (``since``; the first order when unknown or not yet begun)."""
    start = ctx.book.first_order_day()
    accounts = ctx.data.accounts
    if "since" in accounts:
        since = to_days(accounts["since"]).astype(float)
        since[since >= NEVER] = np.nan
        row_since = since[ctx.codes]
        begun = row_since < ctx.t  # a relationship dated after as_of is not known yet at as_of
        return ctx.t - np.where(begun, row_since, start[ctx.codes])
    return ctx.t - start[ctx.codes]


def _rank(ctx: Context, window: int) -> np.ndarray:
    def compute() -> np.ndarray:
        revenue = pd.Series(ctx.order_sum("net", window))
        return revenue.groupby(ctx.as_of_position).rank(pct=True, method="average").to_numpy(dtype=float)

    return ctx.memo(("revenue_rank", window), compute)


@register("revenue_rank", unit="share", source="orders", params=_WINDOW)
def revenue_rank(ctx: Context, window: int) -> np.ndarray:
    """Percentile rank (0-1, 1 = largest) of net revenue over the window among accounts active at as_of."""
    return _rank(ctx, window)


@register("revenue_top_flag", unit="flag", source="orders",
          params={**_WINDOW, "top": Param("number", required=False, default=0.2)})
def revenue_top_flag(ctx: Context, window: int, top: float) -> np.ndarray:
    """1 when the account is among the top ``top`` share of active accounts by revenue, else 0.

    An account is in the top 20% when at most 20% of the active accounts (itself included) have at
    least its revenue: 1 of 5 accounts, 2 of 10.
    """
    revenue = pd.Series(ctx.order_sum("net", window))
    from_top = revenue.groupby(ctx.as_of_position).rank(ascending=False, method="min")
    size = revenue.groupby(ctx.as_of_position).transform("size")
    return (from_top / size <= top + 1e-12).to_numpy(dtype=float)


@register("account_attribute", unit="category", source="accounts",
          params={"column": Param("choice", choices=("segment", "region", "channel", "tier"))})
def account_attribute(ctx: Context, column: str) -> pd.Categorical:
    """The account's ``column`` from the accounts table, as a category (unknown -> missing)."""
    accounts = ctx.data.accounts
    if column not in accounts:
        return pd.Categorical([np.nan] * len(ctx), categories=pd.Index([], dtype="str"))
    values = accounts[column].astype(object)
    categories = pd.Index(sorted(str(v) for v in values.dropna().unique()), dtype="str")
    per_account = pd.Categorical(values.where(values.isna(), values.astype(str)), categories=categories)
    return per_account[ctx.codes]
