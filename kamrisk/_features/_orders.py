"""Sign kinds read from orders (family ``shrinking_orders``): revenue, order counts, their change and
trend, reorder rhythm, breadth of the range bought, returns and cancellations."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ._base import Context, Timeline
from ._registry import Param, register

__all__ = ["line_column"]

_WINDOW = {"window": Param("window")}
_VERSUS = Param("choice", required=False, default="prior", choices=("prior", "year_before"))
_YEAR = 365


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, NaN where the denominator is not positive.

    Below a millionth (of a currency unit, or of an order) the denominator is cancellation residue of
    window sums (an order and its full return), not a base to compare with.
    """
    out = np.full(len(numerator), np.nan)
    ok = denominator > 1e-6
    out[ok] = numerator[ok] / denominator[ok]
    return out


def _base_window(window: int, versus: str) -> tuple[int, int]:
    """The comparison window as (start, end) offsets before as_of."""
    return (2 * window, window) if versus == "prior" else (_YEAR + window, _YEAR)


@register("revenue", unit="money", params=_WINDOW)
def revenue(ctx: Context, window: int) -> np.ndarray:
    """Net revenue (returns deducted) over ``[as_of - window, as_of)``."""
    return ctx.order_sum("net", window)


@register("order_count", unit="count", params=_WINDOW)
def order_count(ctx: Context, window: int) -> np.ndarray:
    """Orders placed (positive amounts; lines of one ``order_id`` count once) over the window."""
    return ctx.order_sum("orders", window)


@register("revenue_change", unit="change", params={**_WINDOW, "versus": _VERSUS})
def revenue_change(ctx: Context, window: int, versus: str) -> np.ndarray:
    """Net revenue of the window relative to the prior window (or the same window a year before), - 1."""
    base = ctx.order_sum("net", *_base_window(window, versus))
    return _ratio(ctx.order_sum("net", window), base) - 1.0


@register("order_count_change", unit="change", params={**_WINDOW, "versus": _VERSUS})
def order_count_change(ctx: Context, window: int, versus: str) -> np.ndarray:
    """Order count of the window relative to the comparison window, - 1."""
    base = ctx.order_sum("orders", *_base_window(window, versus))
    return _ratio(ctx.order_sum("orders", window), base) - 1.0


@register("revenue_slope", unit="change",
          params={**_WINDOW, "buckets": Param("integer", required=False, default=12)})
def revenue_slope(ctx: Context, window: int, buckets: int) -> np.ndarray:
    """Least-squares slope of revenue per bucket (month) over the window, divided by the mean bucket.

    -0.05 reads "revenue falls by 5% of its average a month".
    """
    edges = np.round(np.arange(buckets + 1) * window / buckets).astype(int)
    # column k: the k-th bucket counted back from as_of, x = -k
    y = np.column_stack([ctx.order_sum("net", edges[k + 1], edges[k]) for k in range(buckets)])
    x = -np.arange(buckets, dtype=float)
    x -= x.mean()
    slope = (y * x).sum(axis=1) / (x**2).sum()
    return _ratio(slope, y.mean(axis=1))


@register("days_since_last_order", unit="days")
def days_since_last_order(ctx: Context) -> np.ndarray:
    """Days from the last order (positive amount) to as_of."""
    return ctx.t - ctx.order_days.last_day(ctx.codes, ctx.t)


def _reorder_gap(ctx: Context, history: int) -> np.ndarray:
    def compute() -> np.ndarray:
        days = ctx.order_days
        n = days.count(ctx.codes, ctx.t - history, ctx.t)
        first = days.first_day(ctx.codes, ctx.t - history, ctx.t)
        last = days.last_day(ctx.codes, ctx.t)
        return _ratio(last - first, n - 1.0)

    return ctx.memo(("reorder_gap", history), compute)


_HISTORY = {"history": Param("window", required=False, default="730d")}


@register("typical_reorder_gap", unit="days", params=_HISTORY)
def typical_reorder_gap(ctx: Context, history: int) -> np.ndarray:
    """Mean days between order days over the history window (NaN with fewer than two order days)."""
    return _reorder_gap(ctx, history)


@register("recency_gap_ratio", unit="ratio", params=_HISTORY)
def recency_gap_ratio(ctx: Context, history: int) -> np.ndarray:
    """Days since the last order divided by the account's own typical reorder gap."""
    return _ratio(days_since_last_order(ctx), _reorder_gap(ctx, history))


@register("average_order_size_change", unit="change", params={**_WINDOW, "versus": _VERSUS})
def average_order_size_change(ctx: Context, window: int, versus: str) -> np.ndarray:
    """Average order size (gross amount per order) of the window relative to the comparison window, - 1."""
    start, end = _base_window(window, versus)
    now = _ratio(ctx.order_sum("gross", window), ctx.order_sum("orders", window))
    before = _ratio(ctx.order_sum("gross", start, end), ctx.order_sum("orders", start, end))
    return _ratio(now, before) - 1.0


def line_column(columns: Iterable[str]) -> str | None:
    """The orders column that names a line: the category when the book has one, else the product.

    Decided by the schema only: whether values are filled in may depend on rows after as_of.
    """
    columns = set(columns)
    return next((c for c in ("category", "product") if c in columns), None)


def _line_column(ctx: Context) -> str | None:
    return line_column(ctx.data.orders.columns)


def _line_pairs(ctx: Context, column: str) -> tuple[Timeline, np.ndarray, np.ndarray, np.ndarray]:
    """Per book: (timeline of the days each (account, line) pair was bought, the account of each pair,
    each account's first day with a known line bought, the timeline's first row of each pair), from the
    line codes encoded once."""
    book = ctx.book

    def compute() -> tuple[Timeline, np.ndarray, np.ndarray, np.ndarray]:
        lines = book.order_lines
        line = book.line_codes(column)
        keep = (lines["amount"] > 0) & (line >= 0)
        code, day = lines["code"][keep], lines["day"][keep]
        n_lines = np.int64(max(int(line.max()) + 1, 1)) if len(line) else np.int64(1)
        pair_key = code * n_lines + line[keep]
        # the stable sort by pair keeps each pair's lines by day: the timeline's own order, found once
        order = np.argsort(pair_key, kind="stable")
        sorted_key = pair_key[order]
        new_pair = np.r_[True, sorted_key[1:] != sorted_key[:-1]] if len(order) else np.zeros(0, dtype=bool)
        pairs = sorted_key[new_pair]
        pair_code = np.cumsum(new_pair) - 1  # the number of each sorted line's pair among the sorted pairs
        first_known = np.full(book.n_accounts, np.inf)
        if len(code):  # lines are sorted by (account, day): an account's first row is its first day
            starts = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
            first_known[code[starts]] = day[starts]
        # built from the lines in the timeline's order: no permutation of its arrays to build
        return Timeline(pair_code, day[order]), pairs // n_lines, first_known, np.flatnonzero(new_pair)

    return book.memo(("line_pairs", column), compute)


def _pair_last_day(ctx: Context, column: str, end: int) -> np.ndarray:
    """Per (account, line) pair, the day it was last bought before ``end`` (NaN when never): what
    ``last_day`` of the pairs' timeline gives, shared by the windows that end on the same day."""

    def compute() -> np.ndarray:
        timeline, _, _, pair_first = _line_pairs(ctx, column)
        last = timeline.position(np.arange(len(pair_first), dtype=np.int64), end) - 1
        return Timeline.take(timeline.days, np.where(last >= pair_first, last, -1))

    return ctx.memo(("pair_last_day", column, end), compute)


def _lines_bought(ctx: Context, window: int, offset: int) -> np.ndarray:
    """Distinct product lines bought in ``[as_of - offset - window, as_of - offset)``."""

    def compute() -> np.ndarray:
        column = _line_column(ctx)
        if column is None:
            return np.full(len(ctx), np.nan)
        _, pair_account, first_known, _ = _line_pairs(ctx, column)
        # NaN for an account without any order of a known line before as_of
        out = np.where(first_known[ctx.codes] < ctx.t, 0.0, np.nan)
        for position, day in enumerate(ctx.as_of_days):  # a loop over as-of dates, vectorised over accounts
            end = int(day - offset)
            last = _pair_last_day(ctx, column, end)
            bought = (last >= end - window).astype(float)
            per_account = np.bincount(pair_account, weights=bought, minlength=ctx.n_accounts)
            rows = ctx.rows_at(position)
            out[rows] += per_account[ctx.codes[rows]]
        return out

    return ctx.memo(("lines_bought", window, offset), compute)


@register("product_lines", unit="count", params=_WINDOW)
def product_lines(ctx: Context, window: int) -> np.ndarray:
    """Distinct categories (or products, without a category column) bought in the window."""
    return _lines_bought(ctx, window, 0)


@register("product_lines_change", unit="difference", params=_WINDOW)
def product_lines_change(ctx: Context, window: int) -> np.ndarray:
    """Distinct lines bought in the window minus those bought in the prior window."""
    return _lines_bought(ctx, window, 0) - _lines_bought(ctx, window, window)


@register("returns_share", unit="share", params=_WINDOW)
def returns_share(ctx: Context, window: int) -> np.ndarray:
    """Returns and cancellations (negative amounts) as a share of gross orders over the window."""
    return _ratio(ctx.order_sum("returns", window), ctx.order_sum("gross", window))
