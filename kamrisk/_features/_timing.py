"""Sign kinds that carry the signs' timing: how recent the events are, when their effect peaks, how the
account's own rate and scores move against its own norm, and how long what is still open has waited.

A count in a window treats an event of yesterday like one of eleven months ago. Here:

- ``event_decay`` weighs each event by ``0.5 ** (age / half_life)``: a recency-weighted intensity;
- ``event_kernel`` weighs it by ``(age / peak) * exp(1 - age / peak)``: 0 on the day, 1 at ``peak`` days,
  fading after, for events whose effect on orders comes months later (a re-tender notice bites when the
  tender is decided, not when it is announced);
- ``event_rate_change`` and ``value_vs_norm`` compare the last window with the account's own past;
- ``open_age_load`` sums the ages of the events still open at as_of (an open complaint gets worse with
  age);
- ``days_since_level`` counts the days since the last event held at a given level.

The weighted sums loop over as-of dates, vectorised over accounts; each as-of date only reads the events
dated strictly before it, summed in a fixed (content-sorted) order, so appending later facts or shuffling
the input rows leaves every value equal to the last bit.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._base import NEVER, Context, Timeline
from ._registry import Param, register

__all__: list[str] = []

_TYPES = Param("types")
_LEVEL = Param("choice", choices=("executive", "manager", "operational"))


def _by_day(ctx: Context, types: tuple[str, ...]) -> tuple[np.ndarray, ...]:
    """(code, day, resolved, value) of the events of ``types``, ordered by day, then by content."""

    def build() -> tuple[np.ndarray, ...]:
        frame = ctx.events_of(types)  # sorted by (code, day, content): a stable sort by day keeps it per day
        order = np.argsort(frame["day"].to_numpy(), kind="stable")
        return tuple(frame[c].to_numpy()[order] for c in ("code", "day", "resolved", "value"))

    return ctx.book.memo(("timing_by_day", types), build)  # the book alone: shared between calls


def _weighted_sum(ctx: Context, types: tuple[str, ...],
                  weight: Callable[[np.ndarray, np.ndarray, np.ndarray, int], np.ndarray]) -> np.ndarray:
    """Per row, the sum over the account's events of ``types`` dated before as_of of
    ``weight(age, resolved, value, as_of)``, ``age`` in days (at least 1)."""
    codes, days, resolved, values = _by_day(ctx, types)
    out = np.zeros(len(ctx))
    for position, t in enumerate(ctx.as_of_days):  # a loop over as-of dates, vectorised over accounts
        before = int(np.searchsorted(days, t, side="left"))
        w = weight((t - days[:before]).astype(float), resolved[:before], values[:before], int(t))
        per_account = np.bincount(codes[:before], weights=w, minlength=ctx.n_accounts)
        rows = ctx.rows_at(position)
        out[rows] = per_account[ctx.codes[rows]]
    return out


@register("event_decay", unit="score", source="events",
          params={"types": _TYPES, "half_life": Param("window")})
def event_decay(ctx: Context, types: tuple[str, ...], half_life: int) -> np.ndarray:
    """Recency-weighted count of the events of ``types`` before as_of: each weighs
    ``0.5 ** (age / half_life)`` (1 when fresh, 0.5 after one half-life)."""
    return _weighted_sum(ctx, types, lambda age, *_: np.exp2(-age / half_life))


@register("event_kernel", unit="score", source="events", params={"types": _TYPES, "peak": Param("window")})
def event_kernel(ctx: Context, types: tuple[str, ...], peak: int) -> np.ndarray:
    """Delayed-response weight of the events of ``types`` before as_of: each weighs
    ``(age / peak) * exp(1 - age / peak)``, rising from 0 to 1 at ``peak`` days after the event and
    fading after (0.74 at twice the peak, 0.14 at five times)."""

    def weight(age: np.ndarray, *_: object) -> np.ndarray:
        scaled = age / peak
        return scaled * np.exp(1.0 - scaled)

    return _weighted_sum(ctx, types, weight)


@register("open_age_load", unit="days", source="events", columns=("resolved_date",),
          params={"types": _TYPES, "cap": Param("window", required=False, default="365d")})
def open_age_load(ctx: Context, types: tuple[str, ...], cap: int) -> np.ndarray:
    """Sum of the ages in days (each capped at ``cap``) of the events of ``types`` still open at as_of:
    raised before as_of and resolved at or after as_of, or never (0 when none is open)."""
    return _weighted_sum(ctx, types, lambda age, resolved, _, t: np.where(resolved >= t, np.minimum(age, cap), 0.0))


def _history_start(ctx: Context) -> np.ndarray:
    """Per row, the first day the account shows in the data before as_of: its first order or first event,
    whichever is earlier (the as-of day itself when there is neither)."""

    def compute() -> np.ndarray:
        first = ctx.order_days.first_day(ctx.codes, ctx.t - NEVER, ctx.t)
        if ctx.events is not None and len(ctx.events):
            events = ctx.book.memo(("timing_all_events",), lambda: Timeline(ctx.events["code"].to_numpy(),
                                                                            ctx.events["day"].to_numpy()))
            first = np.fmin(first, events.first_day(ctx.codes, ctx.t - NEVER, ctx.t))
        return np.where(np.isnan(first), ctx.t, first)

    return ctx.memo(("timing_history_start",), compute)


def _norm_days(ctx: Context, window: int, norm: int) -> np.ndarray:
    """Days of the norm period ``[as_of - window - norm, as_of - window)`` the account's history covers."""
    start = np.maximum(ctx.t - window - norm, _history_start(ctx))
    return np.maximum((ctx.t - window) - start, 0.0)


@register("event_rate_change", unit="difference", source="events",
          params={"types": _TYPES, "window": Param("window"), "norm": Param("window")})
def event_rate_change(ctx: Context, types: tuple[str, ...], window: int, norm: int) -> np.ndarray:
    """Events of ``types`` per year over the window minus the account's own rate per year over the
    ``norm`` days before the window (as far as its history reaches: its first order or event).

    NaN when the account's history covers less than ``window`` days of the norm period.
    """
    timeline = ctx.event_timeline(types)
    covered = _norm_days(ctx, window, norm)
    recent = timeline.count(ctx.codes, ctx.t - window, ctx.t) * 365.0 / window
    before = timeline.count(ctx.codes, ctx.t - window - norm, ctx.t - window)
    out = np.full(len(ctx), np.nan)
    ok = covered >= window
    out[ok] = recent[ok] - before[ok] * 365.0 / covered[ok]
    return out


@register("value_vs_norm", unit="difference", source="events", columns=("value",),
          params={"types": _TYPES, "window": Param("window"), "norm": Param("window")})
def value_vs_norm(ctx: Context, types: tuple[str, ...], window: int, norm: int) -> np.ndarray:
    """Mean ``value`` of the events of ``types`` in the window minus their mean over the ``norm`` days
    before it: a score against the account's own baseline (NaN when either period has none)."""
    timeline = ctx.event_timeline(types, with_value=True)

    def mean(start: np.ndarray, end: np.ndarray) -> np.ndarray:
        total = timeline.sum("value", ctx.codes, start, end)
        count = timeline.count(ctx.codes, start, end)
        out = np.full(len(ctx), np.nan)
        np.divide(total, count, out=out, where=count > 0)
        return out

    return mean(ctx.t - window, ctx.t) - mean(ctx.t - window - norm, ctx.t - window)


@register("days_since_level", unit="days", source="events", columns=("level",),
          params={"types": _TYPES, "level": _LEVEL})
def days_since_level(ctx: Context, types: tuple[str, ...], level: str) -> np.ndarray:
    """Days from the last event of ``types`` held at ``level`` to as_of; when there was none, the days
    since the account's history began (its first order or event), so "never" reads as long ago."""

    def build() -> Timeline:
        frame = ctx.events_of(types)
        frame = frame.loc[(frame["level"] == level).to_numpy()]
        return Timeline(frame["code"].to_numpy(), frame["day"].to_numpy())

    timeline = ctx.book.memo(("timing_level", types, level), build)
    last = timeline.last_day(ctx.codes, ctx.t)
    return ctx.t - np.where(np.isnan(last), _history_start(ctx), last)


@register("value_decay_mean", unit="score", unit_param="unit", source="events", columns=("value",),
          params={"types": _TYPES, "half_life": Param("window"),
                  "unit": Param("choice", required=False, default="score",
                                choices=("score", "count", "days", "money", "percent"))})
def value_decay_mean(ctx: Context, types: tuple[str, ...], half_life: int) -> np.ndarray:
    """Recency-weighted mean ``value`` of the events of ``types`` before as_of that carry one, each
    weighing ``0.5 ** (age / half_life)``: the account's recent level, steadier than its latest value
    (NaN when none carries a value)."""
    def weight(age: np.ndarray, _: object, value: np.ndarray, __: int) -> np.ndarray:
        return np.where(np.isnan(value), 0.0, np.exp2(-age / half_life))

    def weighted_value(age: np.ndarray, _: object, value: np.ndarray, __: int) -> np.ndarray:
        return np.where(np.isnan(value), 0.0, np.exp2(-age / half_life) * np.nan_to_num(value))

    total = _weighted_sum(ctx, types, weighted_value)
    weights = _weighted_sum(ctx, types, weight)
    out = np.full(len(ctx), np.nan)
    np.divide(total, weights, out=out, where=weights > 0)
    return out
