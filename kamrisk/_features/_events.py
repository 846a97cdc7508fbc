"""Generic sign kinds over the event log: how many events of some types fell in a window, how long ago
the last one was, and the sum or mean of their values. Families ``procurement_change``,
``strategy_shift``, ``competitor_pressure`` and parts of ``channel_conflict`` and ``relationship`` are
built from these by naming event types in the catalog."""

from __future__ import annotations

import numpy as np

from ._base import Context
from ._registry import Param, register

__all__: list[str] = []

_TYPES = Param("types")
_WINDOW = Param("window")
_VALUE_UNIT = Param("choice", required=False, default="count",
                    choices=("count", "days", "money", "percent", "score", "ratio"))


@register("event_count", unit="count", source="events", params={"types": _TYPES, "window": _WINDOW})
def event_count(ctx: Context, types: tuple[str, ...], window: int) -> np.ndarray:
    """Events of ``types`` dated in ``[as_of - window, as_of)``."""
    return ctx.event_timeline(types).count(ctx.codes, ctx.t - window, ctx.t)


@register("days_since_event", unit="days", source="events", params={"types": _TYPES})
def days_since_event(ctx: Context, types: tuple[str, ...]) -> np.ndarray:
    """Days from the last event of ``types`` to as_of (NaN when there was none)."""
    return ctx.t - ctx.event_timeline(types).last_day(ctx.codes, ctx.t)


@register("event_value_sum", unit="count", unit_param="unit", source="events", columns=("value",),
          params={"types": _TYPES, "window": _WINDOW, "unit": _VALUE_UNIT})
def event_value_sum(ctx: Context, types: tuple[str, ...], window: int) -> np.ndarray:
    """Sum of ``value`` over events of ``types`` in the window (0 when there were none)."""
    return ctx.event_timeline(types, with_value=True).sum("value", ctx.codes, ctx.t - window, ctx.t)


@register("event_value_mean", unit="count", unit_param="unit", source="events", columns=("value",),
          params={"types": _TYPES, "window": _WINDOW, "unit": _VALUE_UNIT})
def event_value_mean(ctx: Context, types: tuple[str, ...], window: int) -> np.ndarray:
    """Mean ``value`` of events of ``types`` in the window that carry one (NaN when none does)."""
    timeline = ctx.event_timeline(types, with_value=True)
    total = timeline.sum("value", ctx.codes, ctx.t - window, ctx.t)
    count = timeline.count(ctx.codes, ctx.t - window, ctx.t)
    out = np.full(len(ctx), np.nan)
    np.divide(total, count, out=out, where=count > 0)
    return out
