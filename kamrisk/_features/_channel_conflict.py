"""Sign kinds of unsettled conflict (family ``channel_conflict``): complaints open at as_of and the age
of the oldest, time to resolve, and stock-outs in the account's own peak season.

An event resolved at or after as_of is open at as_of: the resolution had not happened yet.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._base import NEVER, Context, Timeline
from ._registry import Param, register

__all__: list[str] = []

_TYPES = Param("types")


def _resolved_timeline(ctx: Context, types: tuple[str, ...]) -> Timeline:
    """Events of ``types`` that have a resolution, by resolution day, with their days to resolve."""

    def build() -> Timeline:
        frame = ctx.events_of(types)
        frame = frame.loc[frame["resolved"] != NEVER]
        timeline = Timeline(frame["code"].to_numpy(), frame["resolved"].to_numpy())
        timeline.add("days_to_resolve", (frame["resolved"] - frame["day"]).to_numpy(dtype=float))
        return timeline

    return ctx.book.memo(("resolved_timeline", types), build)


@register("open_events", unit="count", source="events", columns=("resolved_date",), params={"types": _TYPES})
def open_events(ctx: Context, types: tuple[str, ...]) -> np.ndarray:
    """Events of ``types`` raised before as_of and not resolved before as_of."""
    raised = ctx.event_timeline(types).count(ctx.codes, ctx.t - NEVER, ctx.t)
    # resolved_date >= event_date (the loader repairs the rest), so a resolution before as_of closes an
    # event raised before as_of
    resolved = _resolved_timeline(ctx, types).count(ctx.codes, ctx.t - NEVER, ctx.t)
    return raised - resolved


@register("oldest_open_days", unit="days", source="events", columns=("resolved_date",),
          params={"types": _TYPES})
def oldest_open_days(ctx: Context, types: tuple[str, ...]) -> np.ndarray:
    """Age in days at as_of of the oldest event of ``types`` still open (NaN when none is open)."""
    frame = ctx.events_of(types)
    codes, days, resolved = (frame[c].to_numpy() for c in ("code", "day", "resolved"))
    out = np.full(len(ctx), np.nan)
    for position, t in enumerate(ctx.as_of_days):  # a loop over as-of dates, vectorised over accounts
        is_open = (days < t) & (resolved >= t)
        oldest = pd.Series(days[is_open]).groupby(codes[is_open]).min()
        rows = ctx.rows_at(position)
        first_day = oldest.reindex(ctx.codes[rows]).to_numpy(dtype=float)
        out[rows] = t - first_day
    return out


@register("mean_resolution_days", unit="days", source="events", columns=("resolved_date",),
          params={"types": _TYPES, "window": Param("window")})
def mean_resolution_days(ctx: Context, types: tuple[str, ...], window: int) -> np.ndarray:
    """Mean days from raised to resolved, over events of ``types`` resolved in the window."""
    timeline = _resolved_timeline(ctx, types)
    total = timeline.sum("days_to_resolve", ctx.codes, ctx.t - window, ctx.t)
    count = timeline.count(ctx.codes, ctx.t - window, ctx.t)
    out = np.full(len(ctx), np.nan)
    np.divide(total, count, out=out, where=count > 0)
    return out


def _month_index(days: np.ndarray) -> np.ndarray:
    """Months since 1970-01 of day numbers; a book's days span a few years, read from a table of them."""
    days = np.asarray(days, dtype=np.int64)
    if not len(days):
        return np.zeros(0, dtype=np.int64)
    low, high = int(days.min()), int(days.max())
    if high - low < max(len(days), 1024):
        table = np.arange(low, high + 1).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
        return table[days - low]
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def _month_of(days: np.ndarray) -> np.ndarray:
    """Calendar month (0-11) of day numbers."""
    return _month_index(days) % 12


class _MonthlyOrders:
    """The daily orders by (account, calendar month, day): a timeline of the gross amounts, and where each
    (account, month) series starts in it and how many days it holds in each month of each year, so that a
    window's bounds are found from the calendar instead of 24 searches of the timeline."""

    def __init__(self, ctx: Context) -> None:
        daily = ctx.daily_orders
        code, day = daily["code"], daily["day"]
        month = _month_index(day)
        self.timeline = Timeline(code * 12 + month % 12, day)
        self.timeline.add("gross", daily["gross"])
        n = ctx.n_accounts
        known = code >= 0  # rows of no account (code -1) sort before every series
        self.first_month = int(month.min()) if len(month) else 0
        self.years = (int(month.max()) - self.first_month) // 12 + 1 if len(month) else 1
        per_series = np.bincount(code[known] * 12 + month[known] % 12, minlength=n * 12)
        self.first = int((~known).sum()) + np.cumsum(per_series) - per_series  # first row of each series
        # per account and column of the calendar (year, month from the first month): days with orders
        # so far in this column and in the same column of the years before
        column = month[known] - self.first_month
        counts = np.bincount(code[known] * (12 * self.years) + column, minlength=n * 12 * self.years)
        self.so_far = counts.reshape(n, self.years, 12).cumsum(axis=1, dtype=np.int64)

    def positions(self, ctx: Context, days: np.ndarray) -> np.ndarray:
        """Per row and calendar month (rows x 12), the timeline position of the first fact of the row's
        account in that month dated on or after ``days``: what ``timeline.position`` gives."""
        codes = ctx.codes
        column = _month_index(days) - self.first_month  # the calendar column of each row's day
        month = np.arange(12)
        residue = (month - self.first_month) % 12  # the column (within a year) of each calendar month
        # the whole years before: the columns of the month earlier than the day's column
        year = np.minimum((column[:, None] - residue - 1) // 12, self.years - 1)
        before = np.where(year >= 0, self.so_far[codes[:, None], np.maximum(year, 0), residue], 0)
        # and, in the day's own month, that account's days in it before the day
        month_start = (column + self.first_month).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
        partial = ctx.orders.position(codes, days) - ctx.orders.position(codes, month_start)
        in_data = (column >= 0) & (column < 12 * self.years)
        own = (month == (column + self.first_month)[:, None] % 12) & in_data[:, None]
        return self.first[codes[:, None] * 12 + month] + before + np.where(own, partial[:, None], 0)


def peak_month(ctx: Context, history: int) -> np.ndarray:
    """The calendar month (0-11) with the most gross orders over ``[as_of - history, as_of)``."""

    def compute() -> np.ndarray:
        monthly = ctx.book.memo("orders_by_month", lambda: _MonthlyOrders(ctx))
        start, end = monthly.positions(ctx, ctx.t - history), monthly.positions(ctx, ctx.t)
        first = monthly.first[ctx.codes[:, None] * 12 + np.arange(12)]
        by_month = np.column_stack(
            [monthly.timeline.sum_between("gross", start[:, m], end[:, m], first[:, m]) for m in range(12)]
        )
        return np.where(by_month.max(axis=1) > 0, by_month.argmax(axis=1), -1)

    return ctx.memo(("peak_month", history), compute)


@register("peak_season_events", unit="count", source="events",
          params={"types": _TYPES, "window": Param("window"),
                  "history": Param("window", required=False, default="730d"),
                  "season": Param("integer", required=False, default=1)})
def peak_season_events(ctx: Context, types: tuple[str, ...], window: int, history: int,
                       season: int) -> np.ndarray:
    """Events of ``types`` in the window that fell in the account's peak season.

    The peak season is the peak month (most orders over ``history`` before as_of) and ``season`` months
    either side of it.
    """
    timeline = ctx.event_timeline(types)
    peak = peak_month(ctx, history)
    # every (row, event in the row's window) pair at once: one look-up per window end, then the events'
    # months against the row's peak season, counted per row
    lo, hi = timeline.position(ctx.codes, ctx.t - window), timeline.position(ctx.codes, ctx.t)
    n = hi - lo
    rows = np.repeat(np.arange(len(ctx)), n)
    event = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n) + np.repeat(lo, n)
    row_peak = peak[rows]
    distance = np.abs(_month_of(timeline.days[event]) - row_peak)
    in_season = (np.minimum(distance, 12 - distance) <= season) & (row_peak >= 0)
    out = np.bincount(rows, weights=in_season.astype(float), minlength=len(ctx))
    return np.where(peak >= 0, out, np.nan)
