"""The machinery every sign kind shares: day numbers, timelines and the (account, as_of) grid.

A :class:`Timeline` holds one table's facts sorted by (account, day). Any window ``[start, end)`` for
any number of (account, as_of) rows is then two ``searchsorted`` calls and a difference of per-account
cumulative sums: vectorised over all accounts and all as-of dates at once, with no loop per account.
Cumulative sums restart at each account, so facts of one account (or facts dated after a window) never
change another window's sum, not even in the last bit: appending future rows leaves every feature equal.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._schema import AccountData

__all__ = ["Timeline", "Context", "to_days", "as_of_index", "NEVER"]

_SPAN = np.int64(1 << 24)  # key = code * _SPAN + day + _OFFSET: one account's days never reach the next's
_OFFSET = np.int64(1 << 23)
NEVER = 1 << 22  # the day number of "not yet": an unresolved complaint


def to_days(values: Any) -> np.ndarray:
    """Datetimes -> whole days since 1970-01-01 (int64); NaT -> :data:`NEVER`."""
    array = np.asarray(pd.to_datetime(pd.Series(values)).to_numpy(), dtype="datetime64[ns]")
    days = array.astype("datetime64[D]")
    out = days.astype(np.int64)
    return np.where(np.isnat(days), NEVER, out)


def as_of_index(as_of: Any) -> pd.DatetimeIndex:
    """Unique, sorted, day-normalised as-of dates (``datetime64[ns]``)."""
    from .._errors import ConfigError

    if isinstance(as_of, str | pd.Timestamp) or not hasattr(as_of, "__iter__"):
        as_of = [as_of]
    try:
        index = pd.DatetimeIndex(pd.to_datetime(list(as_of)))
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"as_of must be dates such as '2024-07-01': {exc}") from exc
    if len(index) == 0:
        raise ConfigError("as_of is empty: give at least one date.")
    if index.isna().any():
        raise ConfigError("as_of holds a missing date (NaT); give real dates such as '2024-07-01'.")
    if index.tz is not None:
        index = index.tz_localize(None)
    return pd.DatetimeIndex(index.normalize().unique().sort_values()).as_unit("ns")


class Timeline:
    """Facts of one table, sorted by (code, day), with per-code cumulative sums of named values.

    ``codes`` identify the series (usually accounts); ``days`` are day numbers. Rows keep their given
    order within a (code, day), so callers sort them deterministically first.
    """

    def __init__(self, codes: np.ndarray, days: np.ndarray) -> None:
        codes = np.asarray(codes, dtype=np.int64)
        days = np.asarray(days, dtype=np.int64)
        key = codes * _SPAN + days + _OFFSET
        self.order = np.argsort(key, kind="stable")
        self.key = key[self.order]
        self.codes = codes[self.order]
        self.days = days[self.order]
        self._sums: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.key)

    def position(self, codes: np.ndarray, days: np.ndarray | int) -> np.ndarray:
        """Index of the first fact of ``codes`` dated on or after ``days``."""
        return np.searchsorted(self.key, np.asarray(codes, np.int64) * _SPAN + days + _OFFSET, side="left")

    def _first(self, codes: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.key, np.asarray(codes, np.int64) * _SPAN, side="left")

    def count(self, codes: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Number of facts dated in ``[start, end)``, as float."""
        return (self.position(codes, end) - self.position(codes, start)).astype(float)

    def add(self, name: str, values: np.ndarray) -> None:
        """Register ``values`` (in the constructor's row order) for :meth:`sum`."""
        sorted_values = np.asarray(values, dtype=float)[self.order]
        if len(sorted_values):
            # a per-code running sum (sequential within each code): exact, whatever other codes hold
            sorted_values = pd.Series(sorted_values).groupby(self.codes, sort=False).cumsum().to_numpy()
        self._sums[name] = sorted_values

    def has(self, name: str) -> bool:
        return name in self._sums

    def sorted(self, values: np.ndarray) -> np.ndarray:
        """``values`` (in the constructor's row order) in the timeline's sorted order."""
        return np.asarray(values)[self.order]

    def sum(self, name: str, codes: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Sum of the value ``name`` over facts dated in ``[start, end)``."""
        cumulative = self._sums[name]
        lo, hi = self.position(codes, start), self.position(codes, end)
        if not len(cumulative):
            return np.zeros(len(lo))
        first = self._first(codes)
        upper = np.where(hi > first, cumulative[np.maximum(hi - 1, 0)], 0.0)
        lower = np.where(lo > first, cumulative[np.maximum(lo - 1, 0)], 0.0)
        return np.where(hi > lo, upper - lower, 0.0)

    def last(self, codes: np.ndarray, before: np.ndarray, nth: int = 1) -> np.ndarray:
        """Sorted index of the ``nth`` latest fact dated before ``before``; -1 when there is none."""
        index = self.position(codes, before) - nth
        return np.where(index >= self._first(codes), index, -1)

    def last_day(self, codes: np.ndarray, before: np.ndarray, nth: int = 1) -> np.ndarray:
        """Day of the ``nth`` latest fact before ``before`` (float; NaN when there is none)."""
        index = self.last(codes, before, nth)
        return self.take(self.days, index)

    def first_day(self, codes: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Day of the first fact dated in ``[start, end)`` (NaN when there is none)."""
        lo, hi = self.position(codes, start), self.position(codes, end)
        return self.take(self.days, np.where(hi > lo, lo, -1))

    @staticmethod
    def take(values: np.ndarray, index: np.ndarray) -> np.ndarray:
        """``values[index]`` as float, NaN where ``index`` is -1."""
        if not len(values):
            return np.full(len(index), np.nan)
        return np.where(index >= 0, np.asarray(values, dtype=float)[np.maximum(index, 0)], np.nan)


class Context:
    """Everything the sign kinds need for one call of ``build_features``.

    Rows are the active (account, as_of) pairs, ordered by account then as_of: ``codes`` (account code:
    position in ``data.accounts``), ``t`` (as-of day number). ``all_codes``/``all_t`` cover every account
    at every as-of date (for peer groups and ranks). Intermediate results are memoised in :meth:`memo`.
    """

    def __init__(self, data: AccountData, as_of: pd.DatetimeIndex, active_days: int = 365) -> None:
        self.data = data
        self.as_of = as_of
        self.account_ids = pd.Index(data.accounts["account_id"].astype(str))
        self.n_accounts = len(self.account_ids)
        self.as_of_days = to_days(as_of)
        self._memo: dict[Hashable, Any] = {}
        self._prepare_orders()
        n, m = self.n_accounts, len(self.as_of_days)
        self.all_codes = np.repeat(np.arange(n, dtype=np.int64), m)
        self.all_t = np.tile(self.as_of_days, n)
        active = self.order_days.count(self.all_codes, self.all_t - active_days, self.all_t) > 0
        self.active_all = active
        self.codes = self.all_codes[active]
        self.t = self.all_t[active]
        self.as_of_position = np.tile(np.arange(m), n)[active]
        self.events = self._prepare_events()

    def __len__(self) -> int:
        return len(self.codes)

    @property
    def index(self) -> pd.MultiIndex:
        return pd.MultiIndex.from_arrays(
            [self.account_ids[self.codes], self.as_of[self.as_of_position]], names=["account_id", "as_of"]
        )

    def memo(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def account_codes(self, ids: pd.Series) -> np.ndarray:
        return self.account_ids.get_indexer(ids.astype(str)).astype(np.int64)

    # -- orders ------------------------------------------------------------------------------------
    def _prepare_orders(self) -> None:
        orders = self.data.orders
        code = self.account_codes(orders["account_id"])
        day = to_days(orders["order_date"])
        amount = orders["amount"].to_numpy(dtype=float)
        order = np.lexsort((amount, day, code))  # deterministic whatever the input row order
        code, day, amount = code[order], day[order], amount[order]
        positive = amount > 0
        counted = positive.copy()
        if "order_id" in orders:
            # lines of one order count once, on the order's first day
            ids = orders["order_id"].to_numpy(dtype=object)[order]
            known = pd.notna(ids) & positive
            repeated = pd.DataFrame({"c": code[known], "o": ids[known].astype(str)}).duplicated().to_numpy()
            counted[np.flatnonzero(known)[repeated]] = False
        self.order_lines = pd.DataFrame({"code": code, "day": day, "amount": amount, "row": order})
        daily = pd.DataFrame(
            {
                "code": code,
                "day": day,
                "net": amount,
                "gross": np.where(positive, amount, 0.0),
                "returns": np.where(positive, 0.0, -amount),
                "orders": counted.astype(float),
            }
        ).groupby(["code", "day"], sort=True).sum().reset_index()
        self.daily_orders = daily
        self.orders = Timeline(daily["code"].to_numpy(), daily["day"].to_numpy())
        for name in ("net", "gross", "returns", "orders"):
            self.orders.add(name, daily[name].to_numpy())
        buying = daily.loc[daily["gross"] > 0]
        self.order_days = Timeline(buying["code"].to_numpy(), buying["day"].to_numpy())

    def order_sum(self, measure: str, start: int, end: int = 0, *, everyone: bool = False) -> np.ndarray:
        """Sum of ``measure`` (net, gross, returns, orders) over ``[as_of - start, as_of - end)``."""
        codes, t = (self.all_codes, self.all_t) if everyone else (self.codes, self.t)
        return self.memo(
            ("order_sum", measure, start, end, everyone),
            lambda: self.orders.sum(measure, codes, t - start, t - end),
        )

    # -- events ------------------------------------------------------------------------------------
    def _prepare_events(self) -> pd.DataFrame | None:
        events = self.data.events
        if events is None:
            return None
        frame = pd.DataFrame(
            {
                "code": self.account_codes(events["account_id"]),
                "day": to_days(events["event_date"]),
                "type": events["event_type"].astype(str).to_numpy(dtype=object),
                "value": events["value"].to_numpy(dtype=float) if "value" in events else np.nan,
                "resolved": to_days(events["resolved_date"]) if "resolved_date" in events else NEVER,
                "level": (
                    events["level"].astype(object).where(events["level"].notna(), "").astype(str).str.lower()
                    if "level" in events else ""
                ),
            }
        )
        # deterministic whatever the input row order: ties on a day are broken by content
        return frame.sort_values(["code", "day", "type", "value", "resolved", "level"],
                                 na_position="last", kind="stable").reset_index(drop=True)

    def has_event_columns(self, columns: Sequence[str]) -> bool:
        events = self.data.events
        return events is not None and all(c in events.columns for c in columns)

    def events_of(self, types: Sequence[str], *, with_value: bool = False) -> pd.DataFrame:
        """Events of the given types (and with a value, when asked), deterministic order."""
        assert self.events is not None

        def select() -> pd.DataFrame:
            frame = self.events
            mask = frame["type"].isin(list(types)).to_numpy()
            if with_value:
                mask = mask & frame["value"].notna().to_numpy()
            return frame.loc[mask].reset_index(drop=True)

        return self.memo(("events", tuple(types), with_value), select)

    def event_timeline(self, types: Sequence[str], *, with_value: bool = False) -> Timeline:
        """Timeline of the events of ``types`` by event day, with the sum ``value`` when ``with_value``."""

        def build() -> Timeline:
            frame = self.events_of(types, with_value=with_value)
            timeline = Timeline(frame["code"].to_numpy(), frame["day"].to_numpy())
            if with_value:
                timeline.add("value", frame["value"].to_numpy())
            return timeline

        return self.memo(("event_timeline", tuple(types), with_value), build)

    def rows_at(self, position: int) -> np.ndarray:
        """Row numbers of the as-of date at ``position``."""
        return np.flatnonzero(self.as_of_position == position)
