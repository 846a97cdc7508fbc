"""The registry of sign kinds: each kind is one small vectorised function, declared with its parameters.

A catalog entry names a ``kind`` and gives its ``params``; the catalog loader checks them against the
declaration here, and the builder calls the function with the parameters resolved (windows in days).

A kind function takes the :class:`~kamrisk._features._base.Context` and keyword parameters, and returns
one value per row of ``ctx`` (a float array, or a ``pandas.Categorical`` for a categorical kind).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Param", "Kind", "KINDS", "register", "parse_window", "UNITS", "SOURCES"]

# The units a sign's value comes in, and the placeholders each unit offers to a reason template.
UNITS: dict[str, frozenset[str]] = {
    "money": frozenset({"value", "money"}),
    "count": frozenset({"value", "count"}),
    "days": frozenset({"value", "days", "years"}),
    "change": frozenset({"value", "pct", "trend"}),  # relative change as a fraction: -0.38 is "down 38%"
    "difference": frozenset({"value", "diff", "trend"}),  # a signed difference of counts or scores
    "share": frozenset({"value", "pct"}),  # a fraction in [0, 1]
    "percent": frozenset({"value", "pct"}),  # a value already in percent
    "ratio": frozenset({"value", "ratio"}),
    "score": frozenset({"value", "score"}),
    "flag": frozenset({"value"}),
    "category": frozenset({"value"}),
}
SOURCES = ("orders", "events", "accounts")
_WINDOW = re.compile(r"^([1-9]\d*)d$")


def parse_window(text: object) -> int:
    """``"90d"`` -> 90; raise ``ValueError`` for anything else.

    The one duration syntax (:mod:`kamrisk._durations`), restricted to days: a sign's id names its
    window in days (``orders_90d``), so the window is written the same way."""
    from .._durations import parse_days

    if not (isinstance(text, str) and _WINDOW.match(text)):
        raise ValueError(f"{text!r} is not a window; write a positive number of days such as '90d'")
    return parse_days(text, "window")


@dataclass(frozen=True)
class Param:
    """One parameter of a kind.

    ``type`` is ``window`` ("90d"), ``types`` (a list of canonical event types), ``choice`` (one of
    ``choices``), ``choices`` (a list drawn from ``choices``), ``number`` or ``integer``.
    """

    type: str
    required: bool = True
    default: Any = None
    choices: tuple[str, ...] = ()

    def check(self, value: Any) -> Any:
        """Return the value resolved for the kind function; raise ``ValueError`` when it is invalid."""
        if self.type == "window":
            return parse_window(value)
        if self.type == "types":
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
                raise ValueError(f"expected a non-empty list of event types, got {value!r}")
            return tuple(value)
        if self.type == "choice":
            if value not in self.choices:
                raise ValueError(f"expected one of {list(self.choices)}, got {value!r}")
            return value
        if self.type == "choices":
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not value or any(v not in self.choices for v in value):
                raise ValueError(f"expected a non-empty list drawn from {list(self.choices)}, got {value!r}")
            return tuple(value)
        if self.type in ("number", "integer"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"expected a number, got {value!r}")
            if self.type == "integer" and int(value) != value:
                raise ValueError(f"expected a whole number, got {value!r}")
            return int(value) if self.type == "integer" else float(value)
        raise ValueError(f"unknown parameter type {self.type!r}")  # pragma: no cover - a registry bug


@dataclass(frozen=True)
class Kind:
    """A sign kind: the function computing it, its parameters, its unit and its source table."""

    name: str
    function: Callable[..., Any]
    params: Mapping[str, Param] = field(default_factory=dict)
    unit: str = "count"
    unit_param: str | None = None  # the unit comes from this parameter when given
    source: str = "orders"
    columns: tuple[str, ...] = ()  # optional columns of the source table the kind needs

    def unit_for(self, params: Mapping[str, Any]) -> str:
        if self.unit_param is not None and params.get(self.unit_param) is not None:
            return str(params[self.unit_param])
        return self.unit

    def resolve(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults filled in, values checked and converted (windows to days)."""
        resolved = {}
        for name, spec in self.params.items():
            if name in params:
                resolved[name] = spec.check(params[name])
            elif spec.required:
                raise ValueError(f"parameter {name!r} is required")
            elif spec.default is not None:
                resolved[name] = spec.check(spec.default)
        return resolved

    def compute(self, ctx: Any, params: Mapping[str, Any]) -> Any:
        resolved = self.resolve(params)
        if self.unit_param is not None:
            resolved.pop(self.unit_param, None)
        return self.function(ctx, **resolved)


KINDS: dict[str, Kind] = {}


def register(
    name: str,
    *,
    unit: str = "count",
    source: str = "orders",
    params: Mapping[str, Param] | None = None,
    columns: tuple[str, ...] = (),
    unit_param: str | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare ``function`` as the kind ``name``."""
    if unit not in UNITS or source not in SOURCES:  # pragma: no cover - a registry bug
        raise ValueError(f"kind {name!r}: unknown unit {unit!r} or source {source!r}")

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        if name in KINDS:  # pragma: no cover - a registry bug
            raise ValueError(f"kind {name!r} registered twice")
        KINDS[name] = Kind(name, function, dict(params or {}), unit, unit_param, source, columns)
        return function

    return decorate


def nan_column(n: int) -> np.ndarray:
    return np.full(n, np.nan)
