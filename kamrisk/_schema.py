"""The input data contract: ``accounts``, ``orders`` and ``events``, validated once at the boundary.

Every problem is collected and reported at once, naming the table's file, the column, the first few rows
(counted from 1, header excluded), examples, the accounts involved and the fix. Errors stop the load with a
:class:`~kamrisk.DataError`; warnings are repaired or tolerated, kept in :attr:`AccountData.report`, and
issued as :class:`~kamrisk.DataWarning`; notes (``info``) are only kept in the report. Nothing is dropped
silently: a cell that cannot be read is an error (or a counted warning where documented), every dropped
row is counted, and every account that appears in any table is carried with its id exactly as given.

Cells are read by :mod:`kamrisk._cells` (the date rules are stated there), files by :mod:`kamrisk._files`.
The README's "Your data" section lists every case and what happens to it.
"""

from __future__ import annotations

import warnings
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._cells import BAD, EARLY, LATE, MISSING, NOT_ISO, PLACEHOLDER, PLACEHOLDERS, _examples, parse_dates, parse_numbers
from ._errors import DataError, DataWarning
from ._files import find_tables, read_mapping, read_table
from ._vocabulary import load_vocabulary

__all__ = ["AccountData", "ValidationReport", "Problem", "load_data", "TABLES", "REQUIRED_COLUMNS", "DATE_COLUMNS",
           "NUMBER_COLUMNS", "TEXT_COLUMNS", "IGNORE", "apply_mapping"]

TABLES = ("accounts", "orders", "events")
REQUIRED_COLUMNS = {
    "accounts": ("account_id",),
    "orders": ("account_id", "order_date", "amount"),
    "events": ("account_id", "event_date", "event_type"),
}
DATE_COLUMNS = {"accounts": ("since",), "orders": ("order_date",), "events": ("event_date", "resolved_date")}
NUMBER_COLUMNS = {"accounts": (), "orders": ("amount", "quantity", "margin"), "events": ("value",)}
TEXT_COLUMNS = {
    "accounts": ("name", "segment", "region", "channel", "tier", "owner"),
    "orders": ("order_id", "product", "category"),
    "events": ("event_type", "level", "note"),
}
IGNORE = "ignore"
_SETTINGS = ("encoding", "delimiter", "date_format")  # how to read the files, per table or for all
_SECTIONS = ("columns", "event_types", *_SETTINGS)
_SHOW = 5  # rows and accounts named in a message before "and N more"
_EARLIEST = {"since": pd.Timestamp("1900-01-01")}  # a relationship may be old; every other date is recent
_EARLIEST_FACT = pd.Timestamp("1970-01-01")


def _latest() -> pd.Timestamp:
    """The last date any table may hold: a year after today (a later date is a typo or a placeholder)."""
    return pd.Timestamp.today().normalize() + pd.DateOffset(years=1)


@dataclass(frozen=True)
class Problem:
    """One finding of the validation: an error (load stops) or a warning (load goes on)."""

    severity: str
    table: str
    column: str | None
    message: str
    count: int = 0
    rows: tuple[int, ...] = ()
    accounts: tuple[str, ...] = ()
    source: str = ""
    fix: str = ""

    def __str__(self) -> str:
        where = self.source or self.table
        if self.column:
            where += f", column {self.column!r}"
        text = f"{where}: {self.message}"
        if self.rows:
            text += f" (rows {_listing(self.rows, self.count)})"
        if self.accounts:
            text += f" (accounts {_listing(self.accounts, None)})"
        if self.fix:
            text += f". {self.fix}"
        return text


def _listing(items: Iterable[Any], total: int | None) -> str:
    items = list(items)
    total = len(items) if total is None else total
    shown = ", ".join(str(i) if str(i) == str(i).strip() else repr(i) for i in items[:_SHOW])  # spaces visible
    return shown + (f" and {total - _SHOW} more" if total > _SHOW else "")


@dataclass
class ValidationReport:
    """Everything the validation found, and what it did about it."""

    problems: list[Problem] = field(default_factory=list)
    rows_in: dict[str, int] = field(default_factory=dict)
    rows_dropped: dict[str, int] = field(default_factory=dict)
    accounts: int = 0

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_frame(self) -> pd.DataFrame:
        """One row per problem: severity, table, column, count, message."""
        return pd.DataFrame(
            [
                {
                    "severity": p.severity,
                    "table": p.table,
                    "column": p.column or "",
                    "count": p.count,
                    "message": str(p),
                }
                for p in self.problems
            ],
            columns=["severity", "table", "column", "count", "message"],
        )

    def __str__(self) -> str:
        lines = [
            f"{self.accounts} accounts; rows read: "
            + ", ".join(f"{t} {n}" for t, n in self.rows_in.items())
            + "; rows dropped: "
            + (", ".join(f"{t} {n}" for t, n in self.rows_dropped.items() if n) or "none")
        ]
        lines += [f"{p.severity.upper()}: {p}" for p in self.problems]
        return "\n".join(lines)


def _rows_of(mask: pd.Series) -> tuple[tuple[int, ...], int]:
    positions = np.flatnonzero(np.asarray(mask))
    return tuple(int(i) + 1 for i in positions[:_SHOW]), int(len(positions))


def _shared_ids(ids: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """For an account_id column of text (pandas ``str``: parquet and csv): (blank rows, a code per row, the
    distinct ids as Python strings, in code order); None for any other column, read cell by cell.

    Each distinct id is checked once, and the rows of one account can share one string object: ten million
    order lines hold a hundred thousand strings, not ten million, and later passes hash each id once.
    """
    if ids.dtype != "str":
        return None
    codes, uniques = pd.factorize(ids, use_na_sentinel=True)
    distinct = pd.Series(uniques, dtype=ids.dtype)
    blank_id = (distinct.str.strip() == "").to_numpy(dtype=bool)
    blank = (codes < 0) | blank_id[np.maximum(codes, 0)] if len(blank_id) else codes < 0
    return blank, codes.astype(np.int64), distinct.to_numpy(dtype=object)


def _duplicated(frame: pd.DataFrame, id_codes: np.ndarray | None) -> np.ndarray:
    """``frame.duplicated(keep="first")``, comparing every column only on the rows that already agree on the
    cheap ones (numbers, dates and the account): an exact copy agrees on those too, and keeps its order."""
    cheap = [_hashable(frame[c]) for c in frame.columns]
    cheap = [column for column in cheap if column is not None]
    if id_codes is not None:
        cheap.append(id_codes)
    if not cheap:
        return frame.duplicated(keep="first").to_numpy()
    # one 64-bit hash per row: rows equal on the cheap columns hash equal (a collision only adds a candidate)
    row_hash = np.zeros(len(frame), dtype=np.uint64)
    for column in cheap:
        row_hash = row_hash * np.uint64(1000003) ^ pd.util.hash_array(column, categorize=False)
    ordered = np.sort(row_hash)  # a sort, then a lookup in the few repeated hashes: cheaper than a hash table
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    candidate = pd.Series(row_hash).isin(repeated).to_numpy()
    out = np.zeros(len(frame), dtype=bool)
    if candidate.any():
        out[candidate] = frame.loc[candidate].duplicated(keep="first").to_numpy()
    return out


def _hashable(column: pd.Series) -> np.ndarray | None:
    """A number or date column as an array whose bits are equal wherever pandas counts the values equal
    (0.0 and -0.0, every NaN, every NaT); None for any other column."""
    kind = column.dtype
    if pd.api.types.is_datetime64_dtype(kind) and not isinstance(kind, pd.DatetimeTZDtype):
        return column.to_numpy().view(np.int64)
    if isinstance(kind, np.dtype) and kind.kind in "iu":
        return column.to_numpy()
    if isinstance(kind, np.dtype) and kind.kind == "f":
        values = column.to_numpy().astype(np.float64) + 0.0  # -0.0 + 0.0 is 0.0
        return np.where(np.isnan(values), np.nan, values)
    return None


def _accounts_of(frame: pd.DataFrame, mask: pd.Series) -> tuple[str, ...]:
    if "account_id" not in frame:
        return ()
    ids = frame.loc[np.asarray(mask), "account_id"].dropna().astype(str).unique()
    return tuple(ids)  # all of them: the message shows the first few and how many more


def _setting(mapping: Mapping[str, Any] | None, key: str, table: str) -> str | None:
    """A reading setting of mapping.yaml (``encoding``, ``delimiter``, ``date_format``) for one table: one
    value for all tables, or one per table."""
    value = (mapping or {}).get(key)
    if isinstance(value, Mapping):
        value = value.get(table)
    return None if value is None else str(value)


def _check_mapping(mapping: Mapping[str, Any] | None, source: str = "mapping.yaml") -> dict[str, Any]:
    """The mapping with its shape checked and ``delimiter`` spelled out; a DataError names what is wrong."""
    import codecs

    mapping = dict(mapping or {})
    unknown = set(mapping) - set(_SECTIONS)
    if unknown:
        raise DataError(f"{source}: unknown section(s) {sorted(unknown)}; expected {list(_SECTIONS)}.")
    columns = mapping.get("columns") or {}
    if not isinstance(columns, Mapping):
        raise DataError(f"{source}: 'columns' must map your column names to canonical ones.")
    nested = [k for k, v in columns.items() if isinstance(v, Mapping)]
    if nested and (len(nested) < len(columns) or not set(nested) <= set(TABLES)):
        raise DataError(f"{source}: 'columns' is either one mapping for all tables or one per table; "
                        f"{sorted(map(str, set(nested) - set(TABLES))) or sorted(map(str, set(columns) - set(nested)))}"
                        f" does not fit. Tables are {list(TABLES)}.")
    if not isinstance(mapping.get("event_types") or {}, Mapping):
        raise DataError(f"{source}: 'event_types' must map your event names to canonical ones (or to {IGNORE!r}).")
    for key in _SETTINGS:
        value = mapping.get(key)
        if value is None:
            continue
        per_table = dict(value) if isinstance(value, Mapping) else {t: value for t in TABLES}
        if not set(per_table) <= set(TABLES) or not all(isinstance(v, str) for v in per_table.values()):
            raise DataError(f"{source}: {key!r} must be a text, or one text per table ({list(TABLES)}); "
                            f"got {value!r}.")
        for table, text in per_table.items():
            if key == "encoding":
                try:
                    codecs.lookup(text)
                except LookupError:
                    raise DataError(f"{source}: encoding {text!r} is not an encoding Python knows; use e.g. "
                                    "utf-8, gb18030 or cp1252.") from None
            elif key == "delimiter":
                text = "\t" if text.strip().lower() in ("tab", "\\t") else text
                if len(text) != 1:
                    raise DataError(f"{source}: delimiter {text!r} must be one character, e.g. ';' or 'tab'.")
            elif "%" not in text:
                raise DataError(f"{source}: date_format {text!r} has no %-codes; write it like '%d/%m/%Y' "
                                "(day/month/year) or '%d.%m.%Y %H:%M'.")
            per_table[table] = text
        mapping[key] = per_table
    return mapping


def _map_columns(
    tables: dict[str, pd.DataFrame], mapping: Mapping[str, Any], source: str, sources: Mapping[str, str]
) -> tuple[dict[str, pd.DataFrame], dict[str, str], list[Problem]]:
    """Rename a company's own columns to the canonical ones; find the collisions and the unused keys."""
    columns = mapping.get("columns") or {}
    per_table = bool(columns) and all(isinstance(v, Mapping) for v in columns.values())
    problems: list[Problem] = []
    out = {}
    used: set[str] = set()
    for name, frame in tables.items():
        renames = {str(k): str(v) for k, v in (columns.get(name, {}) if per_table else columns).items()}
        given = [str(c) for c in frame.columns]
        final = [renames.get(c, c) for c in given]
        used |= set(renames) & set(given)
        if per_table:
            for key in sorted(set(renames) - set(given)):
                problems.append(Problem(
                    "warning", name, key, f"columns.{name} maps {key!r}, which matched no column of the table "
                    f"(its columns: {given})", source=source,
                    fix="Correct the name (spelling, spaces and case count) or remove the line."))
        for target in pd.Index(final)[pd.Index(final).duplicated()].unique():
            origins = [g for g, f in zip(given, final, strict=True) if f == target]
            places = [i + 1 for i, f in enumerate(final) if f == target]
            if len(set(origins)) == 1:
                text = f"the header {target!r} appears {len(origins)} times (columns {places})"
                fix = "Keep one of them, or give each its own name."
            else:
                text = (f"columns {sorted(set(origins))} all become {target!r} (columns {places}), "
                        "through the mapping in mapping.yaml")
                fix = f"Map only one column onto {target!r}, or drop the other from the export."
            problems.append(Problem("error", name, target, text, source=sources.get(name, name), fix=fix))
        out[name] = frame.set_axis(final, axis=1)
    if columns and not per_table:
        for key in sorted(set(map(str, columns)) - used):
            problems.append(Problem(
                "warning", "all", key, f"columns maps {key!r}, which matched no column of any table",
                source=source, fix="Correct the name (spelling, spaces and case count) or remove the line."))
    if per_table:
        for name in sorted(set(columns) - set(tables)):
            problems.append(Problem("warning", name, None, f"columns.{name} is given, but there is no {name} "
                                    "table", source=source))
    event_types = {str(k): str(v) for k, v in (mapping.get("event_types") or {}).items()}
    return out, event_types, problems


def apply_mapping(
    tables: dict[str, pd.DataFrame], mapping: Mapping[str, Any] | None
) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Rename a company's own columns and event names to the canonical ones (a DataError on a collision)."""
    checked = _check_mapping(mapping)
    out, event_types, problems = _map_columns(tables, checked, "mapping.yaml", {})
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise DataError("The mapping breaks the contract:\n" + "\n".join(f"- {p}" for p in errors))
    return out, event_types


class AccountData:
    """A validated book of key accounts: ``orders`` (required), ``events`` and ``accounts``.

    Parameters
    ----------
    orders : DataFrame
        ``account_id, order_date, amount`` and optional ``order_id, quantity, product, category, margin``.
        Negative amounts are returns or cancellations.
    events : DataFrame, optional
        ``account_id, event_date, event_type`` and optional ``value, resolved_date, level, note``.
    accounts : DataFrame, optional
        ``account_id`` and optional ``name, segment, region, channel, tier, since, owner``.
    mapping : dict, optional
        ``{"columns": {...}, "event_types": {...}}`` translating a company's own names (as in
        ``mapping.yaml``). Columns may be given per table (``{"orders": {"Kunde": "account_id"}}``) or
        for all tables at once. An event type mapped to ``ignore`` is dropped and counted.
    sources : dict, optional
        File name of each table, used in messages.
    vocabulary : dict, optional
        ``{event_type: family}``: the event types ``events`` may hold. The shipped vocabulary by default;
        ``catalog.vocabulary`` for a catalog with your own signs.

    Raises
    ------
    DataError
        With every error found, at once.

    Examples
    --------
    >>> import pandas as pd, kamrisk
    >>> orders = pd.DataFrame({"account_id": ["A"], "order_date": ["2024-01-05"], "amount": [1200.0]})
    >>> kamrisk.AccountData(orders=orders).accounts.account_id.tolist()
    ['A']
    """

    def __init__(
        self,
        orders: pd.DataFrame,
        events: pd.DataFrame | None = None,
        accounts: pd.DataFrame | None = None,
        *,
        mapping: Mapping[str, Any] | None = None,
        sources: Mapping[str, str] | None = None,
        vocabulary: Mapping[str, str] | None = None,
    ) -> None:
        self.sources = {t: (sources or {}).get(t, t) for t in TABLES}
        self._vocabulary = dict(vocabulary) if vocabulary is not None else None
        mapping_source = (sources or {}).get("mapping", "mapping.yaml")
        raw = {"orders": orders, "events": events, "accounts": accounts}
        for name, frame in raw.items():
            if frame is not None and not isinstance(frame, pd.DataFrame):
                raise DataError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}.")
        given = {k: v.reset_index(drop=True) for k, v in raw.items() if v is not None}
        mapping = _check_mapping(mapping, mapping_source)
        given, event_map, found = _map_columns(given, mapping, mapping_source, self.sources)
        report = ValidationReport(problems=found, rows_in={k: len(v) for k, v in given.items()})
        self.report = report
        self._ids: dict[str, Any] = {}  # table -> (its frame, account code per row, distinct ids), see account_codes
        tables = {name: self._check_table(name, frame, report, _setting(mapping, "date_format", name))
                  for name, frame in given.items()}
        if "events" in tables and tables["events"] is not None:
            tables["events"] = self._check_event_types(tables["events"], event_map, report, mapping_source)
        if report.ok:
            self._check_dates(tables, report)
            self._check_id_spelling(tables, report)
        if not report.ok:
            raise DataError(
                f"The data breaks the contract ({len(report.errors)} error(s)); fix these and load again:\n"
                + "\n".join(f"- {p}" for p in report.errors)
            )
        self.orders: pd.DataFrame = tables["orders"]
        self.events: pd.DataFrame | None = tables.get("events")
        self.accounts: pd.DataFrame = self._complete_accounts(tables.get("accounts"), report)
        report.accounts = len(self.accounts)
        # kept while the table is: a table replaced later is read again
        self._ids = {name: (weakref.ref(frame), codes, texts) for name, (frame, codes, texts) in self._ids.items()
                     if name != "accounts" and frame is getattr(self, name)}
        for problem in report.warnings:
            warnings.warn(str(problem), DataWarning, stacklevel=2)

    @classmethod
    def from_validated(cls, orders: pd.DataFrame, events: pd.DataFrame | None = None,
                       accounts: pd.DataFrame | None = None, *,
                       account_codes: dict[str, tuple[np.ndarray, np.ndarray]] | None = None) -> AccountData:
        """A book from tables that already meet the contract, typed as validation leaves them, without
        checking them again: for pieces of a book validated as a whole (Spark's account groups).

        Every account id of ``orders`` and ``events`` must be in ``accounts`` (completed with unknown
        attributes otherwise); nothing else is checked, so give only tables kamrisk validated.
        ``account_codes`` may give, for ``orders`` and ``events``, (a code per row, the distinct ids as
        strings in code order) of their ``account_id``, as validation reads them: the book then reuses them.
        """
        data = cls.__new__(cls)
        data._ids = {}
        data.sources = {t: t for t in TABLES}
        data._vocabulary = None
        data.report = ValidationReport()
        data.orders, data.events = orders, events
        tables = {"orders": orders, **({"events": events} if events is not None else {})}
        seen = []
        for name, frame in tables.items():
            if account_codes and name in account_codes:
                codes, texts = account_codes[name]
                data._ids[name] = (weakref.ref(frame), codes, texts)
                seen.append(texts[np.bincount(codes[codes >= 0], minlength=len(texts)) > 0])
            else:
                seen.append(pd.unique(frame["account_id"].astype(object).to_numpy()))
        accounts = accounts if accounts is not None else pd.DataFrame({"account_id": pd.Series(dtype=object)})
        extra = pd.Index(pd.unique(np.concatenate(seen))).difference(pd.Index(accounts["account_id"]))
        if len(extra):  # accounts with orders or events but no master data: attributes unknown
            accounts = pd.concat([accounts, pd.DataFrame({"account_id": list(extra)})], ignore_index=True)
        data.accounts = accounts.sort_values("account_id", kind="stable").reset_index(drop=True)
        return data

    # -- table-level checks -------------------------------------------------------------------------
    def _check_table(
        self, name: str, frame: pd.DataFrame, report: ValidationReport, date_format: str | None
    ) -> pd.DataFrame | None:
        source = self.sources[name]
        if frame.columns.duplicated().any():
            return None  # reported with the mapping: a column read twice cannot be checked
        missing = [c for c in REQUIRED_COLUMNS[name] if c not in frame.columns]
        if missing:
            near = {c: [f for f in map(str, frame.columns) if f.strip().casefold() == c] for c in missing}
            hints = "; ".join(f"{f[0]!r} differs from {c!r} only by spaces or case" for c, f in near.items() if f)
            report.problems.append(
                Problem(
                    "error",
                    name,
                    ", ".join(missing),
                    f"required column(s) {missing} missing; found {list(map(str, frame.columns))}"
                    + (f" ({hints})" if hints else ""),
                    source=source,
                    fix="Rename your columns in mapping.yaml under 'columns'.",
                )
            )
            return None
        if name == "orders" and frame.empty:
            report.problems.append(
                Problem("error", name, None, "the orders table is empty: kamrisk needs order history.",
                        source=source)
            )
            return None
        errors_before = len(report.errors)
        frame = frame.copy(deep=False)  # columns are replaced, never changed in place: the caller's frame stays
        ids = frame["account_id"]
        shared = _shared_ids(ids)
        if shared is not None:  # one string object per account, each id checked once
            blank, codes, texts = shared
        else:
            blank = (ids.isna() | (ids.astype(str).str.strip() == "")).to_numpy()
        if blank.any():
            rows, count = _rows_of(blank)
            report.problems.append(
                Problem("error", name, "account_id", f"{count} row(s) without an account_id", count, rows,
                        source=source)
            )
        if shared is not None and not blank.any():
            frame["account_id"] = pd.Series(texts[codes], index=frame.index, dtype=object)  # exactly as given
        else:
            shared = None
            frame["account_id"] = ids.where(blank, ids.astype(str)).astype(object)  # exactly as given
        for col in DATE_COLUMNS[name]:
            if col in frame:
                frame[col] = self._read_dates(name, frame, col, report, date_format)
        for col in NUMBER_COLUMNS[name]:
            if col in frame:
                frame[col] = self._read_numbers(name, frame, col, report)
        if len(report.errors) > errors_before:
            return None
        for col in TEXT_COLUMNS[name]:
            if col in frame and frame[col].dtype != "str":  # text already (parquet, csv): nothing to cast
                frame[col] = frame[col].where(frame[col].isna(), frame[col].astype(str))
        before = len(frame)
        duplicated = _duplicated(frame, None if shared is None else shared[1])
        if duplicated.any():
            rows, count = _rows_of(duplicated)
            report.problems.append(
                Problem("warning", name, None, f"{count} exact duplicate row(s); one copy of each kept",
                        count, rows, _accounts_of(frame, duplicated), source=source)
            )
            frame = frame.loc[~duplicated].reset_index(drop=True)
            if shared is not None:
                shared = (shared[0], shared[1][~duplicated], shared[2])
        if name == "accounts":
            repeated = frame["account_id"].duplicated(keep="first")
            if repeated.any():
                rows, count = _rows_of(repeated)
                report.problems.append(
                    Problem("error", name, "account_id",
                            f"{count} account(s) listed more than once with different attributes", count,
                            rows, _accounts_of(frame, repeated), source=source)
                )
        report.rows_dropped[name] = report.rows_dropped.get(name, 0) + before - len(frame)
        if shared is not None:
            self._ids[name] = (frame, shared[1], shared[2])
        return frame

    def _add(self, report: ValidationReport, severity: str, name: str, col: str, frame: pd.DataFrame,
             mask: np.ndarray, message: str, fix: str = "") -> None:
        """One problem of a column, with its rows, accounts and fix."""
        rows, count = _rows_of(mask)
        report.problems.append(Problem(severity, name, col, message.replace("{count}", str(count)), count, rows,
                                       _accounts_of(frame, mask), self.sources[name], fix))

    def _read_dates(self, name: str, frame: pd.DataFrame, col: str, report: ValidationReport,
                    date_format: str | None) -> np.ndarray:
        """The column as datetime64[ns] dates; every cell that is not a date is named in the report."""
        column = frame[col]
        earliest, latest = _EARLIEST.get(col, _EARLIEST_FACT), _latest()
        parsed = parse_dates(column, date_format=date_format, earliest=earliest, latest=latest)
        status = parsed.status
        required = col in REQUIRED_COLUMNS[name]
        might_be_empty = "an empty cell" if not required else "the real date"

        def add(severity: str, mask: np.ndarray, message: str, fix: str = "") -> None:
            if mask.any():
                examples = parsed.examples(column, mask)
                self._add(report, severity, name, col, frame, mask, message.replace("{examples}", str(examples)),
                          fix)

        if required:
            add("error", status == MISSING, "{count} value(s) missing", f"Every row of {name} needs its {col}.")
        hint = ""
        if not date_format:
            hint = " (or set date_format in mapping.yaml for another format, e.g. date_format: '%d.%m.%Y')"
        bad = status == BAD
        numeric = bad.any() and pd.api.types.is_numeric_dtype(pd.Series(column[bad].tolist()[:3]).dtype)
        add("error", bad, "{count} value(s) not a date, e.g. {examples}",
            (f"Read with date_format {date_format!r}, or " if date_format else "Write them ")
            + "as ISO dates YYYY-MM-DD (a time of day and a UTC offset may follow)"
            + ("" if date_format else hint) + "."
            + (" Numbers such as 45292 are Excel day counts: format the column as dates." if numeric else ""))
        if parsed.suggestion:
            reading = f"They all read as date_format: '{parsed.suggestion}'"
        else:
            reading = "Both day-first and month-first could read them"
        add("error", status == NOT_ISO,
            "{count} value(s) are not ISO dates (YYYY-MM-DD), and kamrisk does not guess whether the day or "
            "the month comes first, e.g. {examples}",
            f"Set date_format in mapping.yaml: '%d/%m/%Y' for day first, '%m/%d/%Y' for month first (use your "
            f"separator, and add ' %H:%M' if the values carry a time). {reading}.")
        add("warning" if not required else "error", status == PLACEHOLDER,
            "{count} value(s) are placeholders for 'no date' (one of " + ", ".join(PLACEHOLDERS) + "), e.g. "
            "{examples}" + ("; read as empty" if not required else ""),
            ("An open complaint or conflict has an empty resolved_date."
             if col == "resolved_date" else "An unknown start is an empty since." if col == "since"
             else f"Give {might_be_empty}, or remove the rows."))
        add("error", status == EARLY,
            f"{{count}} date(s) before {earliest.date()}, e.g. {{examples}}",
            "Dates this early are typos or placeholders: correct them"
            + (", or leave them empty." if not required else "."))
        if col == "since":
            add("warning", status == LATE,
                f"{{count}} date(s) after {latest.date()} (a year from today), e.g. {{examples}}; read as empty: "
                "no as_of reaches them, so the tenure counts from the first order",
                "Correct them if they are typos.")
        else:
            add("error", status == LATE,
                f"{{count}} date(s) after {latest.date()} (more than a year from today), e.g. {{examples}}",
                "Correct them; a date that is still open (an unresolved complaint) is an empty cell.")
        if parsed.timed.any():
            add("info", parsed.timed, "{count} value(s) carry a time of day, e.g. {examples}; read as their date")
        if parsed.zoned.any():
            add("info", parsed.zoned,
                "{count} value(s) carry a UTC offset, e.g. {examples}; read as their local date, without "
                "converting to UTC")
        return parsed.values

    def _read_numbers(self, name: str, frame: pd.DataFrame, col: str, report: ValidationReport) -> np.ndarray:
        """The column as float64; every cell that is not a finite number is named in the report."""
        column = frame[col]
        values, missing, bad = parse_numbers(column)
        if col in REQUIRED_COLUMNS[name] and missing.any():
            self._add(report, "error", name, col, frame, missing, "{count} value(s) missing",
                      f"Every row of {name} needs its {col}.")
        if bad.any():
            self._add(report, "error", name, col, frame, bad,
                      f"{{count}} value(s) not a number, e.g. {_examples(column, bad)}",
                      "Write plain numbers: '.' as the decimal point, no thousands separators or currency signs.")
        infinite = np.isinf(values)
        if infinite.any():
            self._add(report, "error", name, col, frame, infinite,
                      f"{{count}} value(s) infinite, e.g. {_examples(column, infinite)}",
                      "Give the real figure" + ("." if col in REQUIRED_COLUMNS[name] else ", or leave the cell empty."))
        return values

    def _check_event_types(
        self, events: pd.DataFrame, event_map: dict[str, str], report: ValidationReport, mapping_source: str
    ) -> pd.DataFrame:
        vocabulary = self._vocabulary if self._vocabulary is not None else load_vocabulary()
        bad_targets = {k: v for k, v in event_map.items() if v not in vocabulary and v != IGNORE}
        if bad_targets:
            report.problems.append(
                Problem("error", "events", "event_type",
                        f"mapping.yaml maps to unknown canonical event types {bad_targets}; "
                        f"use one of {sorted(vocabulary)} or {IGNORE!r}", source=mapping_source)
            )
        types = events["event_type"].astype(str).str.strip()
        unused = sorted(set(event_map) - set(types.unique()))
        if unused:
            report.problems.append(
                Problem("warning", "events", "event_type",
                        f"event_types maps {len(unused)} name(s) that no event has: {unused}", len(unused),
                        source=mapping_source,
                        fix="Correct the names (spelling, spaces and case count), or remove the lines.")
            )
        types = types.map(lambda t: event_map.get(t, t)) if event_map else types
        ignored = types == IGNORE
        unknown = ~types.isin(list(vocabulary)) & ~ignored
        if unknown.any():
            counts = types[unknown].value_counts()
            rows, count = _rows_of(unknown)
            names = ", ".join(f"{k!r} ({v})" for k, v in counts.items())
            report.problems.append(
                Problem("error", "events", "event_type",
                        f"{count} event(s) of unknown type: {names}. Map each to a canonical type "
                        f"(or to {IGNORE!r}) under 'event_types' in mapping.yaml; canonical types: "
                        f"{sorted(vocabulary)}", count, rows, _accounts_of(events, unknown),
                        source=self.sources["events"])
            )
        shared = self._ids.get("events")
        events = events.assign(event_type=types)
        if ignored.any():
            report.problems.append(
                Problem("info", "events", "event_type",
                        f"{int(ignored.sum())} event(s) mapped to {IGNORE!r} dropped", int(ignored.sum()),
                        source=self.sources["events"])
            )
            report.rows_dropped["events"] = report.rows_dropped.get("events", 0) + int(ignored.sum())
            events = events.loc[~ignored].reset_index(drop=True)
            if shared is not None:
                shared = (None, shared[1][~ignored.to_numpy()], shared[2])
        if shared is not None:
            self._ids["events"] = (events, shared[1], shared[2])
        return events

    def _check_dates(self, tables: dict[str, pd.DataFrame | None], report: ValidationReport) -> None:
        end = tables["orders"]["order_date"].max()
        events = tables.get("events")
        if events is None or events.empty:
            return
        for col in ("event_date", "resolved_date"):
            if col not in events:
                continue
            late = events[col] > end
            if late.any():
                rows, count = _rows_of(late)
                report.problems.append(
                    Problem("warning", "events", col,
                            f"{count} date(s) after the data's end (the last order, {end.date()}); kept, "
                            "and only seen by as_of dates after them", count, rows,
                            _accounts_of(events, late), source=self.sources["events"])
                )
        if "resolved_date" in events:
            backwards = events["resolved_date"] < events["event_date"]
            if backwards.any():
                rows, count = _rows_of(backwards)
                report.problems.append(
                    Problem("warning", "events", "resolved_date",
                            f"{count} event(s) resolved before they happened; kept as resolved on their own "
                            "date", count, rows, _accounts_of(events, backwards), source=self.sources["events"])
                )
                events.loc[backwards, "resolved_date"] = events.loc[backwards, "event_date"]

    def _check_id_spelling(self, tables: dict[str, pd.DataFrame | None], report: ValidationReport) -> None:
        """Ids are kept exactly as given; name those that differ only by spaces or case (one account?)."""
        ids = pd.Index(np.concatenate([self._distinct_ids(name, t) for name, t in tables.items()
                                       if t is not None])).unique()
        folded = ids.str.strip().str.casefold()
        alike = folded.duplicated(keep=False)
        if not alike.any():
            return
        groups = pd.Series(ids[alike], index=folded[alike]).groupby(level=0, sort=True).agg(sorted)
        shown = [" / ".join(repr(i) for i in group) for group in groups]
        report.problems.append(
            Problem("warning", "all", "account_id",
                    f"{len(groups)} account id(s) are written in more than one way, differing only by spaces or "
                    f"case; each spelling is kept as its own account: {_listing(shown, None)}", len(groups),
                    source="account_id in orders, events and accounts",
                    fix="If they are one account, write its id the same way in every table.")
        )

    def _complete_accounts(self, accounts: pd.DataFrame | None, report: ValidationReport) -> pd.DataFrame:
        """Carry every account that appears anywhere; attributes unknown where accounts lacks it."""
        seen = pd.Index(self._distinct_ids("orders", self.orders))
        if self.events is not None:
            seen = seen.union(pd.Index(self._distinct_ids("events", self.events)))
        if accounts is None:
            accounts = pd.DataFrame({"account_id": pd.Series([], dtype=object)})
        else:
            absent = seen.difference(pd.Index(accounts["account_id"]))
            if len(absent):
                report.problems.append(
                    Problem("warning", "accounts", "account_id",
                            f"{len(absent)} account(s) have orders or events but are not in accounts; "
                            "carried with unknown segment, region and channel", len(absent),
                            accounts=tuple(sorted(map(str, absent))),
                            source=self.sources["accounts"])
                )
        extra = seen.difference(pd.Index(accounts["account_id"]))
        if len(extra):
            accounts = pd.concat([accounts, pd.DataFrame({"account_id": list(extra)})], ignore_index=True)
        return accounts.sort_values("account_id", kind="stable").reset_index(drop=True)

    def _distinct_ids(self, name: str, frame: pd.DataFrame) -> np.ndarray:
        """The distinct account ids of a table being validated (object array, any order)."""
        shared = self._ids.get(name)
        if shared is not None and shared[0] is frame:
            codes, texts = shared[1], shared[2]
            return texts[np.bincount(codes, minlength=len(texts)) > 0]
        return pd.unique(frame["account_id"].to_numpy(dtype=object))

    def _account_codes(self, name: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(a code per row, the distinct ids) of the account_id of table ``name`` as validation read it, while
        that table is still ``self.<name>``; None otherwise. Saves the features a pass over the ids."""
        shared = self._ids.get(name)
        if shared is None or shared[0]() is not getattr(self, name):
            return None
        return shared[1], shared[2]

    # -- conveniences -------------------------------------------------------------------------------
    @property
    def end(self) -> pd.Timestamp:
        """The data's end: the day after the last order."""
        return self.orders["order_date"].max().normalize() + pd.Timedelta(days=1)

    @property
    def start(self) -> pd.Timestamp:
        """The first order date."""
        return self.orders["order_date"].min().normalize()

    @property
    def account_ids(self) -> pd.Index:
        """Every account that appears in any table."""
        return pd.Index(self.accounts["account_id"])

    def __repr__(self) -> str:
        events = 0 if self.events is None else len(self.events)
        return (
            f"AccountData({len(self.accounts)} accounts, {len(self.orders)} orders, {events} events, "
            f"{self.start.date()} to {self.end.date()})"
        )


def load_data(path: str | Path, *, vocabulary: Mapping[str, str] | None = None) -> AccountData:
    """Load and validate a data folder.

    The folder holds ``orders`` (required), ``events`` and ``accounts`` as ``.parquet``, ``.csv`` or ``.xlsx``
    (first sheet; suffixes in any case), and an optional ``mapping.yaml`` with ``columns`` and
    ``event_types`` sections and the reading settings ``encoding``, ``delimiter`` and ``date_format`` (one
    value for all tables, or one per table).

    ``vocabulary`` (``{event_type: family}``) is the canonical event vocabulary the events are checked
    against; the shipped one by default. A catalog with your own signs carries its merged vocabulary:
    ``load_data(folder, vocabulary=catalog.vocabulary)``.

    Raises
    ------
    DataError
        When the folder or a table is missing, unreadable, in a format kamrisk does not read or given twice,
        or the data breaks the contract.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise DataError(f"{folder}: no such data folder. Give a folder holding orders.parquet or orders.csv.")
    files, mapping_file = find_tables(folder, TABLES)
    if "orders" not in files:
        raise DataError(f"{folder}: no orders.parquet or orders.csv (or orders.xlsx); the orders table is required.")
    mapping = None
    sources: dict[str, str] = {}
    if mapping_file is not None:
        sources["mapping"] = str(mapping_file)
        mapping = _check_mapping(read_mapping(mapping_file), str(mapping_file))
    tables: dict[str, pd.DataFrame] = {}
    notes: list[Problem] = []
    for name, file in files.items():
        tables[name], found = read_table(file, encoding=_setting(mapping, "encoding", name),
                                         delimiter=_setting(mapping, "delimiter", name))
        sources[name] = str(file)
        notes += [Problem("warning", name, None, note, source=str(file)) for note in found]
    for note in notes:
        warnings.warn(str(note), DataWarning, stacklevel=2)
    book = AccountData(
        orders=tables["orders"],
        events=tables.get("events"),
        accounts=tables.get("accounts"),
        mapping=mapping,
        sources=sources,
        vocabulary=vocabulary,
    )
    book.report.problems[:0] = notes
    return book
