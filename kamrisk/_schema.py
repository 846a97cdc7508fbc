"""The input data contract: ``accounts``, ``orders`` and ``events``, validated once at the boundary.

Every problem is collected (pandera, lazily) and reported at once, naming the table's file, the column,
the first few rows (counted from 1, header excluded) and the accounts involved. Errors stop the load with
a :class:`~kamrisk.DataError`; warnings are repaired or tolerated, kept in :attr:`AccountData.report`, and
issued as :class:`~kamrisk.DataWarning`. Nothing is dropped silently: every dropped row is counted in the
report, and every account that appears in any table is carried.

| check                                                   | severity | what happens                    |
|---------------------------------------------------------|----------|---------------------------------|
| orders table missing or empty                           | error    |                                 |
| required column missing                                 | error    |                                 |
| missing account_id                                      | error    |                                 |
| unparseable date                                        | error    |                                 |
| non-numeric amount / value                              | error    |                                 |
| event_type neither canonical nor mapped                 | error    | names listed with counts        |
| exact duplicate rows                                    | warning  | one copy kept, count reported   |
| dates after the data's end (last order date)            | warning  | rows kept                       |
| resolved_date before event_date                         | warning  | rows kept                       |
| accounts in orders/events absent from accounts          | warning  | added with unknown attributes   |
| event_type mapped to ``ignore`` in mapping.yaml         | info     | rows dropped, count reported    |
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._errors import DataError, DataWarning
from ._vocabulary import load_vocabulary

__all__ = ["AccountData", "ValidationReport", "Problem", "load_data", "TABLES"]

TABLES = ("accounts", "orders", "events")
_REQUIRED = {
    "accounts": ("account_id",),
    "orders": ("account_id", "order_date", "amount"),
    "events": ("account_id", "event_date", "event_type"),
}
_DATES = {"accounts": ("since",), "orders": ("order_date",), "events": ("event_date", "resolved_date")}
_NUMBERS = {"accounts": (), "orders": ("amount", "quantity", "margin"), "events": ("value",)}
_TEXTS = {
    "accounts": ("name", "segment", "region", "channel", "tier", "owner"),
    "orders": ("order_id", "product", "category"),
    "events": ("event_type", "level", "note"),
}
IGNORE = "ignore"
_SHOW = 5  # rows and accounts named in a message before "and N more"


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

    def __str__(self) -> str:
        where = self.source or self.table
        if self.column:
            where += f", column {self.column!r}"
        text = f"{where}: {self.message}"
        if self.rows:
            text += f" (rows {_listing(self.rows, self.count)})"
        if self.accounts:
            text += f" (accounts {_listing(self.accounts, None)})"
        return text


def _listing(items: Iterable[Any], total: int | None) -> str:
    items = list(items)
    total = len(items) if total is None else total
    shown = ", ".join(str(i) for i in items[:_SHOW])
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


def _accounts_of(frame: pd.DataFrame, mask: pd.Series) -> tuple[str, ...]:
    if "account_id" not in frame:
        return ()
    ids = frame.loc[np.asarray(mask), "account_id"].dropna().astype(str).unique()
    return tuple(ids)  # all of them: the message shows the first few and how many more


def _apply_mapping(
    tables: dict[str, pd.DataFrame], mapping: Mapping[str, Any] | None
) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Rename a company's own columns and event names to the canonical ones."""
    mapping = dict(mapping or {})
    unknown = set(mapping) - {"columns", "event_types"}
    if unknown:
        raise DataError(
            f"mapping.yaml: unknown section(s) {sorted(unknown)}; expected 'columns' and 'event_types'."
        )
    columns = mapping.get("columns") or {}
    if not isinstance(columns, Mapping):
        raise DataError("mapping.yaml: 'columns' must map your column names to canonical ones.")
    per_table = all(isinstance(v, Mapping) for v in columns.values()) and set(columns) <= set(TABLES)
    out = {}
    for name, frame in tables.items():
        renames = columns.get(name, {}) if per_table and columns else ({} if per_table else columns)
        out[name] = frame.rename(columns={str(k): str(v) for k, v in renames.items()})
    event_types = {str(k): str(v) for k, v in (mapping.get("event_types") or {}).items()}
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
    ) -> None:
        self.sources = {t: (sources or {}).get(t, t) for t in TABLES}
        raw = {"orders": orders, "events": events, "accounts": accounts}
        for name, frame in raw.items():
            if frame is not None and not isinstance(frame, pd.DataFrame):
                raise DataError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}.")
        given = {k: v.reset_index(drop=True) for k, v in raw.items() if v is not None}
        given, event_map = _apply_mapping(given, mapping)
        report = ValidationReport(rows_in={k: len(v) for k, v in given.items()})
        self.report = report
        tables = {name: self._check_table(name, frame, report) for name, frame in given.items()}
        if "events" in tables and tables["events"] is not None:
            tables["events"] = self._check_event_types(tables["events"], event_map, report)
        if report.ok:
            self._check_dates(tables, report)
        if not report.ok:
            raise DataError(
                f"The data breaks the contract ({len(report.errors)} error(s)); fix these and load again:\n"
                + "\n".join(f"- {p}" for p in report.errors)
            )
        self.orders: pd.DataFrame = tables["orders"]
        self.events: pd.DataFrame | None = tables.get("events")
        self.accounts: pd.DataFrame = self._complete_accounts(tables.get("accounts"), report)
        report.accounts = len(self.accounts)
        for problem in report.warnings:
            warnings.warn(str(problem), DataWarning, stacklevel=2)

    # -- table-level checks -------------------------------------------------------------------------
    def _check_table(self, name: str, frame: pd.DataFrame, report: ValidationReport) -> pd.DataFrame | None:
        import pandera.pandas as pa
        from pandera.errors import SchemaErrors

        source = self.sources[name]
        missing = [c for c in _REQUIRED[name] if c not in frame.columns]
        if missing:
            report.problems.append(
                Problem(
                    "error",
                    name,
                    ", ".join(missing),
                    f"required column(s) {missing} missing; found {list(map(str, frame.columns))}. "
                    "Rename your columns in mapping.yaml under 'columns'.",
                    source=source,
                )
            )
            return None
        if name == "orders" and frame.empty:
            report.problems.append(
                Problem("error", name, None, "the orders table is empty: kamrisk needs order history.",
                        source=source)
            )
            return None
        frame = frame.copy()
        ids = frame["account_id"]
        blank = ids.isna() | (ids.astype(str).str.strip() == "")
        if blank.any():
            rows, count = _rows_of(blank)
            report.problems.append(
                Problem("error", name, "account_id", f"{count} row(s) without an account_id", count, rows,
                        source=source)
            )
        frame["account_id"] = ids.where(blank, ids.astype(str).str.strip()).astype(object)
        # pandera, lazily: every coercion failure of every column at once
        columns: dict[str, Any] = {}
        for col in _DATES[name]:
            if col in frame:
                frame[col] = frame[col].where(frame[col].notna() & (frame[col].astype(str) != ""), None)
                columns[col] = pa.Column("datetime64[ns]", coerce=True, nullable=col not in _REQUIRED[name])
        for col in _NUMBERS[name]:
            if col in frame:
                columns[col] = pa.Column("float64", coerce=True, nullable=col not in _REQUIRED[name])
        schema = pa.DataFrameSchema(columns, strict=False)
        try:
            frame = schema.validate(frame, lazy=True)
        except SchemaErrors as exc:
            cases = exc.failure_cases.dropna(subset=["index"]).drop_duplicates(["column", "index"])
            for col, group in cases.groupby("column", sort=False):
                mask = pd.Series(False, index=frame.index)
                mask.iloc[group["index"].astype(int).to_numpy()] = True
                rows, count = _rows_of(mask)
                examples = list(dict.fromkeys(map(str, group["failure_case"])))[:3]
                kind = "date" if col in _DATES[name] else "number"
                null = col in _REQUIRED[name] and group["failure_case"].isna().any()
                what = "missing or not a " + kind if null else f"not a {kind}"
                report.problems.append(
                    Problem("error", name, str(col), f"{count} value(s) {what}, e.g. {examples}", count, rows,
                            _accounts_of(frame, mask), source=source)
                )
            return None
        for col in _TEXTS[name]:
            if col in frame:
                frame[col] = frame[col].where(frame[col].isna(), frame[col].astype(str))
        before = len(frame)
        duplicated = frame.duplicated(keep="first")
        if duplicated.any():
            rows, count = _rows_of(duplicated)
            report.problems.append(
                Problem("warning", name, None, f"{count} exact duplicate row(s); one copy of each kept",
                        count, rows, _accounts_of(frame, duplicated), source=source)
            )
            frame = frame.loc[~duplicated].reset_index(drop=True)
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
        return frame

    def _check_event_types(
        self, events: pd.DataFrame, event_map: dict[str, str], report: ValidationReport
    ) -> pd.DataFrame:
        vocabulary = load_vocabulary()
        bad_targets = {k: v for k, v in event_map.items() if v not in vocabulary and v != IGNORE}
        if bad_targets:
            report.problems.append(
                Problem("error", "events", "event_type",
                        f"mapping.yaml maps to unknown canonical event types {bad_targets}; "
                        f"use one of {sorted(vocabulary)} or {IGNORE!r}", source="mapping.yaml")
            )
        types = events["event_type"].astype(str).str.strip()
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
        events = events.assign(event_type=types)
        if ignored.any():
            report.problems.append(
                Problem("info", "events", "event_type",
                        f"{int(ignored.sum())} event(s) mapped to {IGNORE!r} dropped", int(ignored.sum()),
                        source=self.sources["events"])
            )
            report.rows_dropped["events"] = report.rows_dropped.get("events", 0) + int(ignored.sum())
            events = events.loc[~ignored].reset_index(drop=True)
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

    def _complete_accounts(self, accounts: pd.DataFrame | None, report: ValidationReport) -> pd.DataFrame:
        """Carry every account that appears anywhere; attributes unknown where accounts lacks it."""
        seen = pd.Index(self.orders["account_id"].unique())
        if self.events is not None:
            seen = seen.union(pd.Index(self.events["account_id"].unique()))
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


def _read_table(path: Path) -> pd.DataFrame:
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file for the user
        raise DataError(f"{path}: cannot read it as {path.suffix[1:]}: {exc}") from exc


def load_data(path: str | Path) -> AccountData:
    """Load and validate a data folder.

    The folder holds ``orders`` (required), ``events`` and ``accounts`` as ``.parquet`` or ``.csv``, and an
    optional ``mapping.yaml`` with ``columns`` and ``event_types`` sections.

    Raises
    ------
    DataError
        When the folder or a table is missing or unreadable, or the data breaks the contract.
    """
    import yaml

    folder = Path(path)
    if not folder.is_dir():
        raise DataError(f"{folder}: no such data folder. Give a folder holding orders.parquet or orders.csv.")
    tables: dict[str, pd.DataFrame] = {}
    sources: dict[str, str] = {}
    for name in TABLES:
        found = [folder / f"{name}{ext}" for ext in (".parquet", ".csv") if (folder / f"{name}{ext}").is_file()]
        if len(found) > 1:
            raise DataError(f"{folder}: both {found[0].name} and {found[1].name}; keep only one.")
        if found:
            tables[name] = _read_table(found[0])
            sources[name] = str(found[0])
    if "orders" not in tables:
        raise DataError(f"{folder}: no orders.parquet or orders.csv; the orders table is required.")
    mapping = None
    if (folder / "mapping.yaml").is_file():
        try:
            mapping = yaml.safe_load((folder / "mapping.yaml").read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise DataError(f"{folder / 'mapping.yaml'}: not valid YAML: {exc}") from exc
        if not isinstance(mapping, dict):
            raise DataError(f"{folder / 'mapping.yaml'}: expected sections 'columns' and 'event_types'.")
    return AccountData(
        orders=tables["orders"],
        events=tables.get("events"),
        accounts=tables.get("accounts"),
        mapping=mapping,
        sources=sources,
    )
