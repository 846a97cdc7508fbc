"""One writer for the tables kamrisk hands out (scores, features, the report workbook): parquet, csv, xlsx.

:func:`check_output` runs before any work, so a bad ``--out`` fails in a second instead of after the
scoring. :func:`write_table` writes a frame by the path's extension:

- parquet: as it is;
- csv: text cells that a spreadsheet would read as a formula (``=``, ``+``, ``-``, ``@``, tab, CR) get a
  leading ``'`` (:mod:`kamrisk._safety`), except the id columns, which stay exact so they join back to
  the source system (``-0042`` stays ``-0042``);
- xlsx: streamed by XlsxWriter in constant-memory mode (one row in memory at a time). Text is always an
  explicit string cell, never a formula; formula-like text carries Excel's quote prefix, so it shows and
  reads back unchanged but is never evaluated. Ids are string cells too. Control characters that the
  xlsx format cannot hold are removed, and a :class:`~kamrisk.DataWarning` says how many cells lost them.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._errors import DataWarning, OptionError
from ._safety import FORMULA_PREFIXES, neutralise_formula

if TYPE_CHECKING:  # pragma: no cover
    from xlsxwriter.workbook import Workbook

__all__ = ["FORMATS", "check_output", "write_table", "Column", "open_workbook", "write_sheet"]

FORMATS = ("parquet", "csv", "xlsx")
# characters XML 1.0 (and so xlsx) cannot hold; tab, LF and CR are allowed
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_NUMBER_FORMATS = {"money": "#,##0", "percent": "0.0%", "points": "+0;-0;0", "date": "yyyy-mm-dd", "int": "0",
                   "datetime": "yyyy-mm-dd hh:mm:ss"}
_EXCEL_EPOCH = np.datetime64("1899-12-30", "ns")
_DAY_NS = 86_400 * 10**9
_MAX_WIDTH = 60
_MAX_TEXT = 32_767  # characters an xlsx cell holds


def _formats(formats: Iterable[str] | str) -> tuple[str, ...]:
    if isinstance(formats, str):
        formats = [formats]
    return tuple(str(f).lower().lstrip(".") for f in formats)


def check_output(path: str | Path, formats: Iterable[str] | str = FORMATS) -> Path:
    """Check, before any work, that ``path`` has one of ``formats`` and that its folder can be written.

    Missing folders are fine (they are created on writing) as long as the nearest existing one is a
    writable folder.

    Parameters
    ----------
    path : str or Path
    formats : iterable of str
        Allowed extensions, with or without the dot (``"xlsx"``, ``".csv"``).

    Returns
    -------
    Path

    Raises
    ------
    KamriskError
        Naming the path: an unknown extension, a path that is a folder, a parent that is a file, or a
        folder that cannot be written.
    """
    path = Path(path)
    allowed = _formats(formats)
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in allowed:
        raise OptionError(f"{path}: unknown output format {path.suffix or '(no extension)'!r}; "
                           f"give a path ending in {' or '.join('.' + f for f in allowed)}.")
    if path.is_dir():
        raise OptionError(f"{path} is a folder; give a file name such as {path / ('scores.' + suffix)}.")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise OptionError(f"Cannot write {path}: {folder} is a file, not a folder; choose another output path.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OptionError(f"Cannot write {path}: the folder {folder} is not writable; choose another output path.")
    if path.exists() and not os.access(path, os.W_OK):
        raise OptionError(f"Cannot write {path}: the file exists and is read-only.")
    return path


# -- xlsx ----------------------------------------------------------------------------------------------------
@dataclass
class Column:
    """One column of a sheet: its header, its kind and its values (a list, ``None`` where missing).

    ``kind`` is ``id`` or ``text`` (string cells), ``number``, ``money``, ``percent``, ``points``, ``int``,
    ``date`` or ``datetime`` (numbers; dates as Excel serial days), or ``bool``. ``styles`` optionally
    names a style per row (a key of ``write_sheet``'s ``styles``), for band colours.
    """

    header: str
    kind: str
    values: list[Any]
    styles: list[str | None] | None = None


def open_workbook(path: Path) -> Workbook:
    """An XlsxWriter workbook in constant-memory mode that never turns text into formulas, numbers or links."""
    from xlsxwriter import Workbook

    return Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False,
                                "strings_to_numbers": False, "strings_to_urls": False})


def _width(text: str) -> int:
    """Display width: CJK characters take two columns."""
    return sum(2 if ord(ch) >= 0x2E80 else 1 for ch in text)


def _text_values(values: Any) -> tuple[list[Any], int]:
    """Values as str (None where missing), illegal characters removed; the number of cells that lost some."""
    series = pd.Series(values, dtype=object)
    missing = series.isna().to_numpy()
    text = series.where(missing, series.astype(str)) if len(series) else series
    cleaned = 0
    present = text[~missing]
    if len(present):
        has_illegal = present.str.contains(_ILLEGAL, regex=True).to_numpy(dtype=bool)
        cleaned = int(has_illegal.sum())
        if cleaned:
            text.loc[present.index[has_illegal]] = present[has_illegal].str.replace(_ILLEGAL, "", regex=True)
    # an empty text is an empty cell
    return [None if m or v == "" else v for v, m in zip(text.tolist(), missing, strict=True)], cleaned


def _number_values(values: Any) -> list[Any]:
    array = np.asarray(values, dtype=float)
    out = array.astype(object)
    out[~np.isfinite(array)] = None
    return out.tolist()


def _serial_days(values: Any) -> list[Any]:
    """Datetimes as Excel serial days (1900 date system), None where missing."""
    stamps = pd.to_datetime(pd.Series(values))
    if stamps.dt.tz is not None:
        stamps = stamps.dt.tz_localize(None)
    array = stamps.to_numpy(dtype="datetime64[ns]")
    days = (array - _EXCEL_EPOCH).astype(np.int64) / _DAY_NS
    out = days.astype(object)
    out[np.isnat(array)] = None
    return out.tolist()


def write_sheet(workbook: Workbook, name: str, columns: Sequence[Column], *,
                styles: dict[str, dict[str, Any]] | None = None, header_style: dict[str, Any] | None = None) -> int:
    """Write one sheet, row by row (constant memory): header frozen and filterable, widths from the content.

    Returns the number of text cells that lost characters illegal in xlsx.
    """
    sheet = workbook.add_worksheet(name)
    header = workbook.add_format(header_style or {"bold": True})
    quoted = workbook.add_format({"quote_prefix": True})
    number_formats = {kind: workbook.add_format({"num_format": f}) for kind, f in _NUMBER_FORMATS.items()}
    row_styles = {key: workbook.add_format(spec) for key, spec in (styles or {}).items()}
    row_quoted = {key: workbook.add_format({**spec, "quote_prefix": True}) for key, spec in (styles or {}).items()}
    cleaned = 0
    prepared = []
    widths = []
    for column in columns:
        width = _width(column.header)
        if column.kind in ("id", "text"):
            values, lost = _text_values(column.values)
            cleaned += lost
            values = [v[:_MAX_TEXT] if v is not None and len(v) > _MAX_TEXT else v for v in values]
            width = max(width, _width(max((v for v in values if v is not None), key=len, default="")))
            writer = "text"
        elif column.kind in ("date", "datetime"):
            values, writer = _serial_days(column.values), "number"
            width = max(width, 12 if column.kind == "date" else 19)
        elif column.kind == "bool":
            values = [None if pd.isna(v) else bool(v) for v in column.values]
            writer = "bool"
        else:
            values, writer = _number_values(column.values), "number"
            width = max(width, 12 if column.kind == "money" else 8)
        widths.append(min(width + 3, _MAX_WIDTH))
        base = number_formats.get(column.kind)
        per_row = column.styles
        prepared.append((writer, values, base, per_row))
    for j, column in enumerate(columns):
        sheet.write_string(0, j, column.header, header)
        sheet.set_column(j, j, widths[j])
    sheet.set_row(0, 30)
    n_rows = len(prepared[0][1]) if prepared else 0
    write_string, write_number, write_boolean = sheet.write_string, sheet.write_number, sheet.write_boolean
    for i in range(n_rows):
        row = i + 1
        for j, (writer, values, base, per_row) in enumerate(prepared):
            value = values[i]
            if value is None:
                if per_row is not None and per_row[i] in row_styles:
                    sheet.write_blank(row, j, None, row_styles[per_row[i]])
                continue
            style = row_styles.get(per_row[i]) if per_row is not None else None
            if writer == "text":
                if value.startswith(FORMULA_PREFIXES):  # text, never a formula: shown as written
                    write_string(row, j, value, row_quoted[per_row[i]] if style is not None else quoted)
                else:
                    write_string(row, j, value, style)
            elif writer == "number":
                write_number(row, j, value, style or base)
            else:
                write_boolean(row, j, value, style)
    sheet.freeze_panes(1, 0)
    if columns:
        sheet.autofilter(0, 0, max(n_rows, 1), len(columns) - 1)
    return cleaned


def warn_cleaned(cleaned: int, path: Path) -> None:
    if cleaned:
        warnings.warn(f"{path}: removed control characters that xlsx cannot hold from {cleaned} text cell(s).",
                      DataWarning, stacklevel=3)


def _frame_columns(frame: pd.DataFrame, id_columns: Sequence[str]) -> list[Column]:
    columns = []
    for name in frame.columns:
        values = frame[name]
        header = str(name)
        if name in id_columns:
            columns.append(Column(header, "id", values.tolist()))
        elif pd.api.types.is_bool_dtype(values):
            columns.append(Column(header, "bool", values.tolist()))
        elif pd.api.types.is_datetime64_any_dtype(values):
            stamps = values.dropna()
            whole_days = bool((stamps == stamps.dt.normalize()).all()) if len(stamps) else True
            columns.append(Column(header, "date" if whole_days else "datetime", values))
        elif pd.api.types.is_numeric_dtype(values):
            columns.append(Column(header, "number", values.to_numpy(dtype=float, na_value=np.nan)))
        else:
            columns.append(Column(header, "text", values.astype(object).tolist()))
    return columns


# -- any format ----------------------------------------------------------------------------------------------
def write_table(frame: pd.DataFrame, path: str | Path, *, sheet: str = "scores",
                id_columns: Sequence[str] = ("account_id",)) -> Path:
    """Write ``frame`` (without its index) as parquet, csv or xlsx, by the extension of ``path``.

    Parameters
    ----------
    frame : DataFrame
    path : str or Path
        Ends in ``.parquet``, ``.csv`` or ``.xlsx``; missing folders are created.
    sheet : str, default "scores"
        Sheet name in xlsx.
    id_columns : sequence of str, default ("account_id",)
        Columns written exactly: never given a quote in csv, always string cells in xlsx.

    Returns
    -------
    Path

    Raises
    ------
    KamriskError
        From :func:`check_output`.

    Warns
    -----
    DataWarning
        When control characters were removed from xlsx cells (with the count).
    """
    path = check_output(path, FORMATS)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        frame.to_parquet(path, index=False)
    elif suffix == ".csv":
        safe = frame.copy()
        for name in safe.columns:
            values = safe[name]
            if name in id_columns or pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values) \
                    or pd.api.types.is_datetime64_any_dtype(values):
                continue
            safe[name] = values.map(neutralise_formula)
        safe.to_csv(path, index=False)
    else:
        workbook = open_workbook(path)
        cleaned = write_sheet(workbook, sheet, _frame_columns(frame, id_columns),
                              header_style={"bold": True, "bg_color": "#1F2937", "font_color": "#FFFFFF",
                                            "text_wrap": True, "valign": "vcenter"})
        workbook.close()
        warn_cleaned(cleaned, path)
    return path
