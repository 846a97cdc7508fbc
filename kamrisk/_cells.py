"""Reading the cells of a date or number column, vectorised, without dropping what cannot be read.

Private to :mod:`kamrisk._schema`, which turns what these functions find into messages. Dates are parsed
once per distinct value (a book of millions of order lines has a few thousand distinct dates) and mapped
back to the rows through the codes of :func:`pandas.factorize`; numbers go through one
:func:`pandas.to_numeric` pass. Every cell ends with a status, so the caller can name the rows of each
kind of problem.

The date rules:

- ISO dates and datetimes, year first: ``2024-03-05``, ``2024/03/05``, ``2024-03-05 14:30``,
  ``2024-03-05T14:30:00+08:00``. A time of day is dropped (the date is kept); a UTC offset is not applied:
  the value keeps its local date.
- Day-first or month-first dates (``05/03/2024``) only with an explicit ``date_format``; without it they
  are refused (:data:`NOT_ISO`), since the order of day and month cannot be told from most values.
- Open-ended placeholders (:data:`PLACEHOLDERS`) are flagged apart from real dates.
- Dates before ``earliest`` or after ``latest`` are flagged (:data:`EARLY`, :data:`LATE`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "BAD", "EARLY", "LATE", "MISSING", "NOT_ISO", "OK", "PLACEHOLDER", "PLACEHOLDERS",
    "ParsedDates", "parse_dates", "parse_numbers",
]

# the status of each cell
OK, MISSING, BAD, NOT_ISO, PLACEHOLDER, EARLY, LATE = range(7)
# dates exports write for "no date": .NET/SQL minimum, Excel's day 0, the old default, Unix 0, the far end
PLACEHOLDERS = ("0001-01-01", "1899-12-30", "1900-01-01", "1970-01-01", "9999-12-31")
_PLACEHOLDER_KEYS = np.array([int(p.replace("-", "")) for p in PLACEHOLDERS], dtype=np.int64)

# RE2 patterns (pyarrow), run over distinct values only
_ISO = (
    r"^(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})"
    r"(?:(?:T|\s+)(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,]\d+)?)?)?"
    r"\s*(?P<tz>Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$"
)
_HEAD = r"^(?P<y>\d{4})[-/.](?P<m>\d{2})[-/.](?P<d>\d{2})$"  # the first 10 characters of a padded ISO date
_REST = (  # what may follow a date: a time, an offset
    r"^(?:(?:T|\s+)(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,]\d+)?)?)?"
    r"\s*(?P<tz>Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$"
)
_DAY_MONTH = r"^(?P<a>\d{1,2})(?P<sep>[-/.])(?P<b>\d{1,2})[-/.](?P<y>\d{2}|\d{4})(?:(?:T|\s+).*)?$"


@dataclass
class ParsedDates:
    """One date column, read: the dates and what happened to each cell.

    Attributes
    ----------
    values : ndarray of datetime64[ns]
        The date of each cell at midnight; NaT where the cell is missing or has any status but OK.
    status : ndarray of int8
        OK, MISSING, BAD, NOT_ISO, PLACEHOLDER, EARLY or LATE per cell.
    timed, zoned : ndarray of bool
        Cells read with a time of day that was dropped; cells with a UTC offset kept in their local date.
    suggestion : str
        For NOT_ISO cells, the ``date_format`` that reads them all, or ``""`` when both orders do.
    """

    values: np.ndarray
    status: np.ndarray
    timed: np.ndarray
    zoned: np.ndarray
    suggestion: str = ""

    def examples(self, column: pd.Series, mask: np.ndarray, k: int = 3) -> list[str]:
        """The first ``k`` distinct values of ``column`` where ``mask`` holds, as written."""
        return _examples(column, mask, k)


def _examples(column: pd.Series, mask: np.ndarray, k: int = 3) -> list[str]:
    found: list[str] = []
    for position in np.flatnonzero(mask):  # stops after k distinct values: a few steps, not a pass per row
        text = str(column.iloc[position])
        if text not in found:
            found.append(text)
            if len(found) == k:
                break
    return found


def _key(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    return year.astype(np.int64) * 10000 + month.astype(np.int64) * 100 + day.astype(np.int64)


def _status_of(key: np.ndarray, earliest: pd.Timestamp, latest: pd.Timestamp) -> np.ndarray:
    status = np.full(len(key), OK, dtype=np.int8)
    status[key < _key(np.array(earliest.year), np.array(earliest.month), np.array(earliest.day))] = EARLY
    status[key > _key(np.array(latest.year), np.array(latest.month), np.array(latest.day))] = LATE
    status[np.isin(key, _PLACEHOLDER_KEYS)] = PLACEHOLDER
    return status


def _from_timestamps(stamps: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Key (YYYYMMDD), timed, and the midnight of each timestamp (NaT stays NaT)."""
    key = _key(*(part.to_numpy(dtype=np.float64, na_value=0) for part in (stamps.year, stamps.month, stamps.day)))
    midnight = stamps.normalize()
    timed = np.asarray(stamps != midnight) & np.asarray(stamps.notna())
    return key, timed, np.asarray(midnight)


def _objects(values: np.ndarray) -> tuple[pd.DatetimeIndex, np.ndarray, np.ndarray]:
    """Distinct non-text values of an object column (datetime, date, Timestamp, numbers): timestamps in
    their local time, which of them are dates at all, and which carried a time zone."""
    stamps, ok, zoned = [], np.zeros(len(values), bool), np.zeros(len(values), bool)
    for i, value in enumerate(values):  # distinct values only, and only those that are not text
        if isinstance(value, dt.date | np.datetime64):
            stamp = pd.Timestamp(value)
            if stamp.tzinfo is not None:
                stamp, zoned[i] = stamp.tz_localize(None), True
            stamps.append(stamp)
            ok[i] = stamp is not pd.NaT
        else:
            stamps.append(pd.NaT)
    return pd.DatetimeIndex(stamps, dtype="datetime64[us]"), ok, zoned


@dataclass
class _Read:
    """Per value: status, the date at midnight (datetime64[us]), time dropped, offset ignored."""

    status: np.ndarray
    midnight: np.ndarray
    timed: np.ndarray
    zoned: np.ndarray
    suggestion: str = ""

    @classmethod
    def empty(cls, n: int, status: int = BAD) -> _Read:
        return cls(np.full(n, status, np.int8), np.full(n, np.datetime64("NaT"), "datetime64[us]"),
                   np.zeros(n, bool), np.zeros(n, bool))

    def put(self, where: np.ndarray, other: _Read, codes: np.ndarray | None = None) -> None:
        """Set the values at ``where`` from ``other`` (taken at ``codes`` when given)."""
        take = (lambda a: a) if codes is None else (lambda a: a[codes])
        self.status[where] = take(other.status)
        self.midnight[where] = take(other.midnight)
        self.timed[where] = take(other.timed)
        self.zoned[where] = take(other.zoned)
        self.suggestion = self.suggestion or other.suggestion


def _encode(array: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Codes (-1 for null) and the distinct values, in C++."""
    encoded = pc.dictionary_encode(array)
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, encoded.dictionary


def _ints(parts: pa.StructArray, name: str) -> np.ndarray:
    field = pc.fill_null(parts.field(name), "0")
    field = pc.if_else(pc.equal(field, ""), "0", field)
    return pc.cast(field, pa.int64()).to_numpy(zero_copy_only=False)


def _dates(y: np.ndarray, m: np.ndarray, d: np.ndarray, matched: np.ndarray, earliest: pd.Timestamp,
           latest: pd.Timestamp) -> _Read:
    """Year, month, day numbers (where ``matched``) as dates with their status."""
    read = _Read.empty(len(y))
    if matched.any():
        stamps = pd.to_datetime(pd.DataFrame({"year": y[matched], "month": m[matched], "day": d[matched]}),
                                errors="coerce")
        valid = stamps.notna().to_numpy()
        where = np.flatnonzero(matched)
        read.midnight[where] = stamps.to_numpy(dtype="datetime64[us]")
        read.status[where] = np.where(valid, _status_of(_key(y, m, d)[matched], earliest, latest), BAD)
    return read


def _clock(parts: pa.StructArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Matched, carries a time other than midnight, carries an offset: per value of an ISO time part."""
    matched = np.asarray(parts.is_valid(), bool)
    timed = (_ints(parts, "H") + _ints(parts, "M") + _ints(parts, "S")) > 0
    zoned = np.asarray(pc.fill_null(pc.not_equal(parts.field("tz"), ""), False), bool)
    return matched, timed & matched, zoned & matched


def _parse_text(text: pa.Array, date_format: str | None, earliest: pd.Timestamp, latest: pd.Timestamp) -> _Read:
    """Read text dates. The common case (a padded ISO date, maybe a time) is split into its first 10
    characters and the rest, each parsed once per distinct value; anything else is parsed per distinct
    whole value."""
    n = len(text)
    text = pc.utf8_trim_whitespace(text)
    length = pc.fill_null(pc.utf8_length(text), 0).to_numpy(zero_copy_only=False)
    read = _Read.empty(n)
    read.status[length == 0] = MISSING
    head_codes, heads = _encode(pc.utf8_slice_codeunits(text, 0, 10))
    head_parts = pc.extract_regex(heads, _HEAD)
    head = _dates(_ints(head_parts, "y"), _ints(head_parts, "m"), _ints(head_parts, "d"),
                  np.asarray(head_parts.is_valid(), bool), earliest, latest)
    fast = (head_codes >= 0) & (length > 0)
    fast[fast] = head.status[head_codes[fast]] != BAD
    rest_codes = rest_ok = rest_timed = rest_zoned = None
    if (length > 10).any():
        rest_codes, rests = _encode(pc.utf8_slice_codeunits(text, 10))
        rest_ok, rest_timed, rest_zoned = _clock(pc.extract_regex(rests, _REST))
        fast[fast] = rest_ok[rest_codes[fast]]
    at = np.flatnonzero(fast)
    read.put(at, head, head_codes[at])
    if rest_codes is not None:
        read.timed[at] = rest_timed[rest_codes[at]]
        read.zoned[at] = rest_zoned[rest_codes[at]]
    slow = np.flatnonzero(~fast & (length > 0))
    if len(slow):
        codes, values = _encode(text.take(pa.array(slow)))
        read.put(slow, _parse_whole(values, date_format, earliest, latest), codes)
    return read


def _parse_whole(values: pa.Array, date_format: str | None, earliest: pd.Timestamp, latest: pd.Timestamp) -> _Read:
    """Distinct text values that are not a padded ISO date: with ``date_format``, or ISO in any form, or
    the day-month forms that need a date_format."""
    read = _Read.empty(len(values))
    rest = np.arange(len(values))
    if date_format:
        try:
            stamps = pd.DatetimeIndex(pd.to_datetime(values.to_pandas(), format=date_format, errors="coerce"))
        except (ValueError, TypeError):  # e.g. mixed UTC offsets under %z: not readable with this format
            stamps = pd.DatetimeIndex([pd.NaT] * len(values), dtype="datetime64[us]")
        if stamps.tz is not None:
            stamps, read.zoned[:] = stamps.tz_localize(None), True
        key, read.timed, read.midnight = _from_timestamps(stamps.as_unit("us"))
        found = np.asarray(stamps.notna())
        read.status[found] = _status_of(key[found], earliest, latest)
        rest = np.flatnonzero(~found)
        values = values.take(pa.array(rest))
    parts = pc.extract_regex(values, _ISO)
    iso = np.asarray(parts.is_valid(), bool)
    read.put(rest, _dates(_ints(parts, "y"), _ints(parts, "m"), _ints(parts, "d"), iso, earliest, latest))
    _, read.timed[rest], read.zoned[rest] = _clock(parts)
    if not date_format and not iso.all():
        fields = pc.extract_regex(values.filter(pa.array(~iso)), _DAY_MONTH)
        looks = np.asarray(fields.is_valid(), bool)
        read.status[rest[~iso][looks]] = NOT_ISO
        if looks.any():
            read.suggestion = _suggest(pd.DataFrame({name: fields.field(name).to_pandas() for name in
                                                     ("a", "sep", "b", "y")}).loc[looks])
    return read


def parse_dates(
    column: pd.Series, *, date_format: str | None, earliest: pd.Timestamp, latest: pd.Timestamp
) -> ParsedDates:
    """Read one date column; see the module docstring for the rules.

    Parameters
    ----------
    column : Series
        Text (a CSV), datetimes (a parquet file, naive or time-zone aware), or Python objects.
    date_format : str or None
        A :func:`~datetime.datetime.strptime` format for values that are not ISO, e.g. ``"%d/%m/%Y"``.
    earliest, latest : Timestamp
        Dates before ``earliest`` are EARLY, dates after ``latest`` LATE.
    """
    n = len(column)
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        zoned = isinstance(column.dtype, pd.DatetimeTZDtype)
        if zoned:
            column = column.dt.tz_localize(None)  # the local wall time: the date the export shows
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
        stamps = pd.DatetimeIndex(uniques).as_unit("us")
        key, timed, midnight = _from_timestamps(stamps)
        unique = _Read(_status_of(key, earliest, latest), midnight, timed, np.full(len(stamps), zoned))
        read = _Read.empty(n, MISSING)
        read.put(np.flatnonzero(codes >= 0), unique, codes[codes >= 0])
    else:
        try:
            text = pa.array(column, type=pa.string(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # not all text: datetimes or numbers among the values
            text = None
        if text is not None:
            if isinstance(text, pa.ChunkedArray):
                text = text.combine_chunks()
            read = _parse_text(text, date_format, earliest, latest)
        else:
            codes, uniques = pd.factorize(column, use_na_sentinel=True)
            values = np.asarray(uniques, dtype=object)
            is_text = np.fromiter((isinstance(v, str) for v in values), bool, len(values))
            unique = _Read.empty(len(values))
            if is_text.any():
                unique.put(np.flatnonzero(is_text), _parse_text(pa.array(values[is_text], type=pa.string()),
                                                                date_format, earliest, latest))
            if (~is_text).any():
                stamps, ok, obj_zoned = _objects(values[~is_text])
                key, timed, midnight = _from_timestamps(stamps)
                status = np.where(ok, _status_of(key, earliest, latest), BAD).astype(np.int8)
                unique.put(np.flatnonzero(~is_text), _Read(status, midnight, timed, obj_zoned))
            read = _Read.empty(n, MISSING)
            read.put(np.flatnonzero(codes >= 0), unique, codes[codes >= 0])
    ok = read.status == OK
    values = np.where(ok, read.midnight, np.datetime64("NaT")).astype("datetime64[ns]")
    return ParsedDates(values, read.status, read.timed & ok, read.zoned & ok, read.suggestion)


def _suggest(fields: pd.DataFrame) -> str:
    """The date_format that reads every day-month value, or "" when day-first and month-first both could."""
    first, second = fields["a"].astype(int), fields["b"].astype(int)
    sep = fields["sep"].iloc[0]
    year = "%Y" if len(fields["y"].iloc[0]) == 4 else "%y"
    day_first = bool((second <= 12).all())
    month_first = bool((first <= 12).all())
    if day_first and not month_first:
        return f"%d{sep}%m{sep}{year}"
    if month_first and not day_first:
        return f"%m{sep}%d{sep}{year}"
    return ""


def parse_numbers(column: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read one number column.

    Returns
    -------
    values : ndarray of float64
        NaN where the cell is empty or not a number.
    missing, bad : ndarray of bool
        Empty cells; cells that hold something that is not a number.
    """
    if pd.api.types.is_numeric_dtype(column.dtype):
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        return values, np.isnan(values), np.zeros(len(values), bool)
    given = column.notna().to_numpy()
    fast = _arrow_floats(column)
    if fast is not None:  # every cell a plain number: one C++ pass
        return fast, np.isnan(fast), np.zeros(len(fast), bool)
    text = column.astype("str").str.strip().str.lower()
    empty = (text.isin(["", "nan"])).to_numpy() & given  # blank, or the literal NaN some tools write
    values = pd.to_numeric(column.where(~empty, None), errors="coerce")
    values = np.asarray(values, dtype=np.float64) if values.dtype != object else values.astype(float).to_numpy()
    bad = np.isnan(values) & given & ~empty
    return values, ~given | empty, bad


def _arrow_floats(column: pd.Series) -> np.ndarray | None:
    """The column as floats when it is Arrow-backed text that casts without a single failure, else None."""
    if not isinstance(column.array, pd.arrays.ArrowStringArray):
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        floats = pc.cast(pa.array(column.array), pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return floats.to_numpy(zero_copy_only=False).astype(np.float64)
