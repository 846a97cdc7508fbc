"""The machinery every sign kind shares: day numbers, timelines and the (account, as_of) grid.

A :class:`Timeline` holds one table's facts sorted by (account, day). Any window ``[start, end)`` for
any number of (account, as_of) rows is then two ``searchsorted`` calls and a difference of per-account
cumulative sums: vectorised over all accounts and all as-of dates at once, with no loop per account.
Cumulative sums restart at each account, so facts of one account (or facts dated after a window) never
change another window's sum, not even in the last bit: appending future rows leaves every feature equal.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from weakref import WeakKeyDictionary

import numpy as np
import pandas as pd

from .._schema import AccountData

__all__ = ["Timeline", "Book", "book_of", "Context", "to_days", "as_of_index", "NEVER"]

_SPAN = np.int64(1 << 24)  # key = code * _SPAN + day + _OFFSET: one account's days never reach the next's
_OFFSET = np.int64(1 << 23)
NEVER = 1 << 22  # the day number of "not yet": an unresolved complaint
_PER_DAY = {"D": 1, "h": 24, "m": 1440, "s": 86_400, "ms": 86_400_000, "us": 86_400_000_000,
            "ns": 86_400_000_000_000}  # ticks of a datetime64 unit in a day


def to_days(values: Any) -> np.ndarray:
    """Datetimes -> whole days since 1970-01-01 (int64); NaT -> :data:`NEVER`."""
    if isinstance(values, pd.Series) and isinstance(values.dtype, np.dtype) and values.dtype.kind == "M":
        array = values.to_numpy()  # validated dates: no parsing, no copy
    else:
        array = np.asarray(pd.to_datetime(pd.Series(values)).to_numpy(), dtype="datetime64[ns]")
    unit, count = np.datetime_data(array.dtype)
    if unit not in _PER_DAY or count != 1:
        array = array.astype("datetime64[D]")
        unit = "D"
    missing = np.isnat(array)
    # floor division of the ticks (ns, us, ...): what casting to datetime64[D] gives, in one new array
    out = array.view(np.int64) // np.int64(_PER_DAY[unit])
    if missing.any():
        out[missing] = NEVER
    return out


def as_of_index(as_of: Any) -> pd.DatetimeIndex:
    """Unique, sorted as-of days (``datetime64[ns]``), read by :func:`kamrisk._options.parse_as_of`: the one
    place as_of dates are parsed (ISO text, or dates and timestamps at midnight)."""
    from .._options import parse_as_of

    return parse_as_of(as_of)


class Timeline:
    """Facts of one table, sorted by (code, day), with per-code cumulative sums of named values.

    ``codes`` identify the series (usually accounts); ``days`` are day numbers. Rows keep their given
    order within a (code, day), so callers sort them deterministically first. ``order`` is the sort of the
    given rows, None when they came sorted (no permutation to hold).
    """

    def __init__(self, codes: np.ndarray, days: np.ndarray, order: np.ndarray | None = None) -> None:
        codes = np.asarray(codes, dtype=np.int64)
        days = np.asarray(days, dtype=np.int64)
        key = codes * _SPAN + days + _OFFSET
        if order is None and (len(key) < 2 or bool((key[1:] >= key[:-1]).all())):
            # already sorted (the book's tables are): the stable sort keeps every row where it is
            self.order, self.key, self.codes, self.days = None, key, codes, days
        else:
            # ``order``: the stable sort by (code, day), when the caller has it already
            self.order = np.argsort(key, kind="stable") if order is None else order
            self.key = key[self.order]
            self.codes = codes[self.order]
            self.days = days[self.order]
        self._sums: dict[str, np.ndarray] = {}
        # the last lookups, by identity of the arrays asked about (never changed in place)
        self._first_of: tuple[np.ndarray, np.ndarray] | None = None
        self._positions: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def __len__(self) -> int:
        return len(self.key)

    def position(self, codes: np.ndarray, days: np.ndarray | int) -> np.ndarray:
        """Index of the first fact of ``codes`` dated on or after ``days``."""
        for asked_codes, asked_days, found in self._positions:  # e.g. the window end ctx.t, asked again
            if asked_codes is codes and asked_days is days:
                return found
        found = np.searchsorted(self.key, np.asarray(codes, np.int64) * _SPAN + days + _OFFSET, side="left")
        if isinstance(days, np.ndarray):
            self._positions = [(codes, days, found), *self._positions[:1]]
        return found

    def _first(self, codes: np.ndarray) -> np.ndarray:
        if self._first_of is not None and self._first_of[0] is codes:  # the same rows again (ctx.codes)
            return self._first_of[1]
        first = np.searchsorted(self.key, np.asarray(codes, np.int64) * _SPAN, side="left")
        self._first_of = (codes, first)
        return first

    def count(self, codes: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Number of facts dated in ``[start, end)``, as float."""
        return (self.position(codes, end) - self.position(codes, start)).astype(float)

    def add(self, name: str, values: np.ndarray) -> None:
        """Register ``values`` (in the constructor's row order) for :meth:`sum`."""
        self.add_many({name: values})

    def add_many(self, values: dict[str, np.ndarray]) -> None:
        """Register several named values at once (one grouping pass for all of them)."""
        # one block per value (copy=False): no copy of them all into one 2-d block first
        frame = pd.DataFrame({name: self.sorted(np.asarray(v, dtype=float)) for name, v in values.items()},
                             copy=False)
        if len(frame):
            # a per-code running sum (sequential within each code, compensated by pandas): exact, whatever
            # other codes hold. Codes that are positions group as a categorical: no hashing of the rows, and
            # (sorted, every category kept) the codes are the group numbers as they are, not renumbered by
            # appearance; a running sum gives each row its own value, so unobserved codes add no row.
            codes: Any = self.codes
            grouping: dict[str, bool] = {"sort": False, "observed": True}
            if codes[0] >= 0 and codes[-1] < 1 << 31:  # sorted: the first is the least, the last the largest
                codes = pd.Categorical.from_codes(codes.astype(np.int32), categories=pd.RangeIndex(int(codes[-1]) + 1))
                grouping = {"sort": True, "observed": False}
            frame = frame.groupby(codes, **grouping).cumsum()
        for name in values:
            self._sums[name] = frame[name].to_numpy(dtype=float)

    def has(self, name: str) -> bool:
        return name in self._sums

    def sorted(self, values: np.ndarray) -> np.ndarray:
        """``values`` (in the constructor's row order) in the timeline's sorted order."""
        return np.asarray(values) if self.order is None else np.asarray(values)[self.order]

    def sum(self, name: str, codes: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Sum of the value ``name`` over facts dated in ``[start, end)``."""
        return self.sum_between(name, self.position(codes, start), self.position(codes, end), self._first(codes))

    def sum_between(self, name: str, lo: np.ndarray, hi: np.ndarray, first: np.ndarray) -> np.ndarray:
        """:meth:`sum` from the positions of the window's start and end and of the code's first fact."""
        cumulative = self._sums[name]
        if not len(cumulative):
            return np.zeros(len(lo))
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


class Book:
    """What the sign kinds need from one validated book, computed once and shared by every call.

    Accounts, order lines and event types are encoded as integer codes; orders are sorted by (account,
    day) and summed per day; events are sorted deterministically. None of this depends on as_of, so
    :func:`book_of` keeps one ``Book`` per :class:`~kamrisk.AccountData` and ``build_features`` at
    another date (or ``make_labels`` after it) starts from the sorted arrays. Results derived from the
    book alone (event timelines, line pairs) are memoised in :meth:`memo`.

    The book is rebuilt when a table of the ``AccountData`` is replaced; the tables are treated as
    read-only once validated (changing a frame in place is not detected).
    """

    def __init__(self, data: AccountData) -> None:
        self.tables = (data.orders, data.events, data.accounts)
        self.account_ids = pd.Index(data.accounts["account_id"].astype(str))
        self.n_accounts = len(self.account_ids)
        self._memo: dict[Hashable, Any] = {}
        # the account codes validation read (arrays only: a reference to ``data`` would keep it alive from
        # the book cache, which holds the book while ``data`` lives)
        read = getattr(data, "_account_codes", lambda name: None)
        self._read = {name: read(name) for name in ("orders", "events")}
        self._prepare_orders()

    def memo(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def account_codes(self, ids: pd.Series, table: str | None = None) -> np.ndarray:
        """Position in ``accounts`` of each id (-1 when absent); one hash pass, ids cast once per distinct value.

        For a table validation read (``table``, unchanged since), its codes are reused: no pass over the rows.
        """
        read = self._read.get(table) if table is not None else None
        if read is not None:
            codes, uniques = read
        else:
            codes, uniques = pd.factorize(ids, use_na_sentinel=True)
        positions = self.account_ids.get_indexer(pd.Index(uniques).astype(str)).astype(np.int64)
        # a missing id (code -1) reads the -1 appended last: one pass, one new array
        return np.append(positions, np.int64(-1))[codes]

    # -- orders ------------------------------------------------------------------------------------
    def _prepare_orders(self) -> None:
        orders = self.tables[0]
        # the order ids are encoded, then the events sorted, on the second core (Arrow and numpy release the
        # GIL) while this one sorts and sums the order lines
        pool = ThreadPoolExecutor(max_workers=1)
        order_ids = pool.submit(_codes, orders["order_id"]) if "order_id" in orders else None
        events = pool.submit(self._prepare_events)
        try:
            self._prepare_order_lines(orders, order_ids)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        if not events.cancelled() and events.exception() is None:  # else read (and raise) on first use
            self._memo["events"] = events.result()

    def _prepare_order_lines(self, orders: pd.DataFrame, order_ids: Future[np.ndarray] | None) -> None:
        code = self.account_codes(orders["account_id"], "orders")
        day = to_days(orders["order_date"])
        amount = orders["amount"].to_numpy(dtype=float)
        key = code * _SPAN + day + _OFFSET  # (account, day) in one int64: sorts like the pair
        order = _sort_order(key, amount)  # deterministic whatever the input row order
        key, amount = key[order], amount[order]
        del code, day  # read back from the sorted key: a pass in order instead of two gathers at random
        code, day = key // _SPAN, key % _SPAN - _OFFSET
        positive = amount > 0
        counted = positive.copy()
        if order_ids is not None:
            # lines of one order count once, on the order's first day
            ids = order_ids.result()[order]
            known = np.flatnonzero((ids >= 0) & positive)
            counted[known[_repeated_pairs(code[known], ids[known])]] = False
            del ids, known
        self.order = order
        self.order_lines = {"code": code, "day": day, "amount": amount}  # sorted by (account, day, amount)
        # summed per (account, day), rows within a day in the order above
        values = {
            "net": amount,
            "gross": np.where(positive, amount, 0.0),
            "returns": np.where(positive, 0.0, -amount),
            "orders": counted.astype(float),
        }
        daily_key, sums = _sum_by_key(key, values)
        del key, counted, positive
        daily = {"code": daily_key // _SPAN, "day": daily_key % _SPAN - _OFFSET, **sums}
        self.daily_orders = daily
        self.orders = Timeline(daily["code"], daily["day"])
        self.orders.add_many({name: daily[name] for name in ("net", "gross", "returns", "orders")})
        buying = daily["gross"] > 0
        self.order_days = Timeline(daily["code"][buying], daily["day"][buying])

    def first_order_day(self) -> np.ndarray:
        """Day of each account's first order line (any amount), NaN for an account without orders."""

        def compute() -> np.ndarray:
            out = np.full(self.n_accounts, np.nan)
            lines = self.order_lines
            code = lines["code"]
            if len(code):
                starts = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])  # sorted by (account, day)
                out[code[starts]] = lines["day"][starts]
            return out

        return self.memo("first_order_day", compute)

    def forget_lookups(self) -> None:
        """Drop the lookups the timelines remember for the rows of one call (see :meth:`Timeline.position`)."""
        for value in [self.orders, self.order_days, *self._memo.values()]:
            for item in value if isinstance(value, tuple) else (value,):
                if isinstance(item, Timeline):
                    item._positions, item._first_of = [], None

    def first_buying_day(self) -> np.ndarray:
        """Day of each account's first order with a positive amount (float), NaN for an account without one."""

        def compute() -> np.ndarray:
            out = np.full(self.n_accounts, np.nan)
            code, days = self.order_days.codes, self.order_days.days
            if len(code):
                starts = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])  # sorted by (account, day)
                known = code[starts] >= 0
                out[code[starts][known]] = days[starts][known]
            return out

        return self.memo("first_buying_day", compute)

    def line_codes(self, column: str) -> np.ndarray:
        """Code of ``column`` (category or product) for each sorted order line; -1 when unknown."""

        def compute() -> np.ndarray:
            return _codes(self.tables[0][column])[self.order]

        return self.memo(("line_codes", column), compute)

    # -- events ------------------------------------------------------------------------------------
    @property
    def events(self) -> pd.DataFrame | None:
        return self.memo("events", self._prepare_events)

    def _prepare_events(self) -> pd.DataFrame | None:
        events = self.tables[1]
        if events is None:
            return None
        n = len(events)
        code = self.account_codes(events["account_id"], "events")
        day = to_days(events["event_date"])
        type_codes, types = _sorted_codes(events["event_type"], str)
        value = events["value"].to_numpy(dtype=float) if "value" in events else np.full(n, np.nan)
        resolved = to_days(events["resolved_date"]) if "resolved_date" in events else np.full(n, NEVER)
        if "level" in events:
            level_codes, levels = _sorted_codes(events["level"], lambda v: str(v).lower(), missing="")
        else:
            levels, level_codes = np.array([""], dtype=object), np.zeros(n, dtype=np.int64)
        # deterministic whatever the input row order: ties on a day are broken by content (NaN values last)
        order = _stable_sort(code, day, type_codes, value, resolved, level_codes)
        return pd.DataFrame(
            {
                "code": code[order],
                "day": day[order],
                "type": pd.Categorical.from_codes(type_codes[order], categories=pd.Index(types, dtype=object)),
                "value": value[order],
                "resolved": resolved[order],
                "level": pd.Categorical.from_codes(level_codes[order], categories=pd.Index(levels, dtype=object)),
            }
        )

    def events_of(self, types: Sequence[str], *, with_value: bool = False) -> pd.DataFrame:
        """Events of the given types (and with a value, when asked), deterministic order."""
        frame = self.events
        if frame is None:  # pragma: no cover - kinds reading events are skipped when the book has none
            raise ValueError("events_of needs the events table; the book has none")

        def select() -> pd.DataFrame:
            wanted = frame["type"].cat.categories.get_indexer(list(types))
            mask = np.isin(frame["type"].cat.codes.to_numpy(), wanted[wanted >= 0])
            if with_value:
                mask = mask & ~np.isnan(frame["value"].to_numpy())
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


def _stable_sort(*keys: np.ndarray) -> np.ndarray:
    """The stable sort of the rows by ``keys`` (the first the most significant, NaN after every number):
    ``np.lexsort(keys[::-1])``, computed by Arrow in a fraction of the time."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not len(keys[0]):
        return np.zeros(0, dtype=np.intp)
    table = pa.table({f"k{i}": pa.array(np.asarray(k)) for i, k in enumerate(keys)})
    order = pc.sort_indices(table, sort_keys=[(f"k{i}", "ascending") for i in range(len(keys))]).to_numpy()
    return order.view(np.intp) if order.dtype.itemsize == np.dtype(np.intp).itemsize else order.astype(np.intp)


def _sort_order(key: np.ndarray, amount: np.ndarray) -> np.ndarray:
    """Order lines by (account and day ``key``, ``amount``): day sums then add up in a fixed order."""
    return _stable_sort(key, amount)


def _sum_by_key(key: np.ndarray, values: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The distinct values of the sorted ``key`` and the sum of each of ``values`` over its rows.

    Sums run left to right through each run of equal keys (``np.add.reduceat``: what ``groupby(key).sum()``
    computes on sorted keys); with a NaN among the values, pandas' groupby (which skips NaN) sums them.
    """
    if not len(key):
        return key, {name: np.zeros(0) for name in values}
    if any(np.isnan(v).any() for v in values.values()):
        summed = pd.DataFrame(values).groupby(key, sort=False).sum()
        return summed.index.to_numpy(dtype=np.int64), {name: summed[name].to_numpy() for name in values}
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    return key[starts], {name: np.add.reduceat(np.ascontiguousarray(v, dtype=float), starts)
                         for name, v in values.items()}


def _codes(values: pd.Series) -> np.ndarray:
    """``pd.factorize(values)[0]`` as int64 (-1 for missing); Arrow-backed text is encoded by Arrow directly."""
    array = getattr(values.array, "_pa_array", None)
    if array is not None and values.dtype == "str":
        import pyarrow as pa
        import pyarrow.compute as pc

        combined = array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
        encoded = pc.dictionary_encode(combined)
        return pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    codes, _ = pd.factorize(values, use_na_sentinel=True)
    return codes.astype(np.int64)


def _repeated_pairs(code: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Rows whose (``code``, ``ids``) pair appeared on an earlier row: ``duplicated()`` of the pairs.

    The usual book gives each order id to one account: then the pair is the id, and its first row is found
    with one pass over the rows, without a hash table of the pairs.
    """
    if not len(ids):
        return np.zeros(0, dtype=bool)
    position = np.arange(len(ids))
    first = np.full(int(ids.max()) + 1, len(ids), dtype=np.int64)
    np.minimum.at(first, ids, position)
    first_row = first[ids]
    if np.array_equal(code[first_row], code):  # every order id belongs to one account
        return first_row != position
    pair = code * np.int64(int(ids.max()) + 1) + ids
    return pd.Series(pair).duplicated().to_numpy()


def _sorted_codes(values: pd.Series, text: Callable[[Any], str], missing: str | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Codes of ``text(value)`` (``missing`` for a missing value) numbered in the sort order of the texts.

    ``text`` runs once per distinct value, not per row; sorting by the codes sorts by the texts.
    """
    raw, distinct = pd.factorize(values, use_na_sentinel=True)
    fill = text(np.nan) if missing is None else missing
    texts = np.array([text(v) for v in distinct] + [fill], dtype=object)
    names, position = np.unique(texts, return_inverse=True)
    return position[np.where(raw >= 0, raw, len(distinct))].astype(np.int64), names


_BOOKS: WeakKeyDictionary[AccountData, Book] = WeakKeyDictionary()


def book_of(data: AccountData) -> Book:
    """The :class:`Book` of ``data``, built on first use and kept while ``data`` lives."""
    book = _BOOKS.get(data)
    tables = (data.orders, data.events, data.accounts)
    if book is None or any(a is not b for a, b in zip(book.tables, tables, strict=True)):
        book = _BOOKS[data] = Book(data)
    return book


class Context:
    """Everything the sign kinds need for one call of ``build_features``.

    Rows are the active (account, as_of) pairs, ordered by account then as_of: ``codes`` (account code:
    position in ``data.accounts``), ``t`` (as-of day number). ``all_codes``/``all_t`` cover every account
    at every as-of date (for peer groups and ranks). Intermediate results are memoised in :meth:`memo`;
    what depends on the book alone lives in ``book`` (a :class:`Book`, shared between calls).
    """

    def __init__(self, data: AccountData, as_of: pd.DatetimeIndex, active_days: int = 365) -> None:
        self.data = data
        self.book = book_of(data)
        self.book.forget_lookups()  # those of an earlier call: never reused, only memory
        self.as_of = as_of
        self.account_ids = self.book.account_ids
        self.n_accounts = self.book.n_accounts
        self.as_of_days = to_days(as_of)
        self._memo: dict[Hashable, Any] = {}
        self.order_lines = self.book.order_lines
        self.daily_orders = self.book.daily_orders
        self.orders = self.book.orders
        self.order_days = self.book.order_days
        n, m = self.n_accounts, len(self.as_of_days)
        self.all_codes = np.repeat(np.arange(n, dtype=np.int64), m)
        self.all_t = np.tile(self.as_of_days, n)
        active = self.order_days.count(self.all_codes, self.all_t - active_days, self.all_t) > 0
        self.active_all = active
        self.codes = self.all_codes[active]
        self.t = self.all_t[active]
        self.as_of_position = np.tile(np.arange(m), n)[active]
        self.events = self.book.events

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
        return self.book.account_codes(ids)

    def order_sum(self, measure: str, start: int, end: int = 0, *, everyone: bool = False) -> np.ndarray:
        """Sum of ``measure`` (net, gross, returns, orders) over ``[as_of - start, as_of - end)``."""
        codes, t = (self.all_codes, self.all_t) if everyone else (self.codes, self.t)

        def position(offset: int) -> np.ndarray:  # window bounds shared by every measure and window
            return self.memo(("order_position", offset, everyone), lambda: self.orders.position(codes, t - offset))

        def compute() -> np.ndarray:
            first = self.memo(("order_first", everyone), lambda: self.orders._first(codes))
            return self.orders.sum_between(measure, position(start), position(end), first)

        return self.memo(("order_sum", measure, start, end, everyone), compute)

    # -- events ------------------------------------------------------------------------------------
    def has_event_columns(self, columns: Sequence[str]) -> bool:
        events = self.data.events
        return events is not None and all(c in events.columns for c in columns)

    def events_of(self, types: Sequence[str], *, with_value: bool = False) -> pd.DataFrame:
        """Events of the given types (and with a value, when asked), deterministic order."""
        return self.book.events_of(types, with_value=with_value)

    def event_timeline(self, types: Sequence[str], *, with_value: bool = False) -> Timeline:
        """Timeline of the events of ``types`` by event day, with the sum ``value`` when ``with_value``."""
        return self.book.event_timeline(types, with_value=with_value)

    def rows_at(self, position: int) -> np.ndarray:
        """Row numbers of the as-of date at ``position``."""
        return np.flatnonzero(self.as_of_position == position)
