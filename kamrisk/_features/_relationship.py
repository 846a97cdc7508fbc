"""Sign kinds of a cooling relationship (family ``relationship``): visits against the account's own
rhythm, the level met, and the latest satisfaction score and its change."""

from __future__ import annotations

import numpy as np

from ._base import Context, Timeline
from ._registry import Param, register

__all__: list[str] = []

_TYPES = Param("types")


@register("event_count_vs_norm", unit="ratio", source="events",
          params={"types": _TYPES, "window": Param("window"), "norm": Param("window")})
def event_count_vs_norm(ctx: Context, types: tuple[str, ...], window: int, norm: int) -> np.ndarray:
    """Events in the window divided by the account's own norm: the events of the ``norm`` days before
    the window, scaled to the window's length (NaN when the norm is 0)."""
    timeline = ctx.event_timeline(types)
    recent = timeline.count(ctx.codes, ctx.t - window, ctx.t)
    before = timeline.count(ctx.codes, ctx.t - window - norm, ctx.t - window) * window / norm
    out = np.full(len(ctx), np.nan)
    np.divide(recent, before, out=out, where=before > 0)
    return out


@register("level_share", unit="share", source="events", columns=("level",),
          params={"types": _TYPES, "level": Param("choice", choices=("executive", "manager", "operational")),
                  "window": Param("window")})
def level_share(ctx: Context, types: tuple[str, ...], level: str, window: int) -> np.ndarray:
    """Share of events of ``types`` in the window held at ``level`` (NaN when there were none)."""
    timeline = ctx.event_timeline(types)
    name = f"level:{level}"
    if not timeline.has(name):
        timeline.add(name, (ctx.events_of(types)["level"] == level).to_numpy(dtype=float))
    at_level = timeline.sum(name, ctx.codes, ctx.t - window, ctx.t)
    count = timeline.count(ctx.codes, ctx.t - window, ctx.t)
    out = np.full(len(ctx), np.nan)
    np.divide(at_level, count, out=out, where=count > 0)
    return out


def _latest_value(ctx: Context, types: tuple[str, ...], nth: int) -> np.ndarray:
    timeline: Timeline = ctx.event_timeline(types, with_value=True)
    values = ctx.book.memo(
        ("sorted_values", types),
        lambda: timeline.sorted(ctx.events_of(types, with_value=True)["value"].to_numpy(dtype=float)),
    )
    return Timeline.take(values, timeline.last(ctx.codes, ctx.t, nth))


@register("last_value", unit="score", unit_param="unit", source="events", columns=("value",),
          params={"types": _TYPES,
                  "unit": Param("choice", required=False, default="score",
                                choices=("score", "count", "days", "money", "percent"))})
def last_value(ctx: Context, types: tuple[str, ...]) -> np.ndarray:
    """``value`` of the latest event of ``types`` that carries one (NaN when none does)."""
    return _latest_value(ctx, types, 1)


@register("value_change", unit="difference", source="events", columns=("value",), params={"types": _TYPES})
def value_change(ctx: Context, types: tuple[str, ...]) -> np.ndarray:
    """Latest ``value`` minus the one before it (NaN with fewer than two)."""
    return _latest_value(ctx, types, 1) - _latest_value(ctx, types, 2)
