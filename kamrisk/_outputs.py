"""One writer for the tables kamrisk hands out (scores, features, the report workbook): parquet, csv, xlsx.

:func:`check_output` runs before any work, so a bad ``--out`` fails in a second instead of after the
scoring. :func:`write_table` writes a frame by the path's extension:

- parquet: as it is;
- csv: text cells that a spreadsheet would read as a formula (``=``, ``+``, ``-``, ``@``, tab, CR) get a
  leading ``'`` (:mod:`kamrisk._safety`), except the id columns, which stay exact so they join back to
  the source system (``-0042`` stays ``-0042``);
- xlsx: streamed in blocks of rows by kamrisk's own writer (:mod:`kamrisk._xlsx`, built column by column
  with array operations). Text is always an explicit string cell, never a formula; formula-like text
  carries Excel's quote prefix, so it shows and reads back unchanged but is never evaluated. Ids are
  string cells too. Control characters that the xlsx format cannot hold are removed, and a
  :class:`~kamrisk.DataWarning` says how many cells lost them.
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
    from ._xlsx import Workbook

__all__ = ["FORMATS", "check_output", "write_table", "Column", "open_workbook", "write_sheet"]

FORMATS = ("parquet", "csv", "xlsx")
# characters XML 1.0 (and so xlsx) cannot hold, or UTF-8 cannot encode (lone surrogates); tab, LF, CR are allowed
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
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
    """A streaming xlsx workbook (:mod:`kamrisk._xlsx`): text is only ever a string cell, never a formula.

    Use it as a context manager (``with open_workbook(path) as workbook:``), or call ``close()``: an error
    inside the ``with`` deletes the unfinished file."""
    from ._xlsx import Workbook

    return Workbook(path)


def _width(text: str) -> int:
    """Display width: CJK characters take two columns."""
    return sum(2 if ord(ch) >= 0x2E80 else 1 for ch in text)


def _text_values(values: Any) -> tuple[np.ndarray, list[str], int]:
    """Texts as codes into their distinct values (-1 where missing or empty), characters illegal in xlsx
    removed, each cut to the 32,767 characters a cell holds; and the number of cells that lost characters.

    The work is done once per distinct text, so a column of a few segments costs no more than one of ids.
    """
    codes, distinct = pd.factorize(pd.Series(values, dtype=object), sort=False)
    texts = pd.Series([str(v) for v in distinct], dtype=object)  # object: may hold lone surrogates until cleaned
    cleaned = 0
    if len(texts):
        has_illegal = texts.str.contains(_ILLEGAL, regex=True).to_numpy(dtype=bool)
        if has_illegal.any():
            cleaned = int(has_illegal[codes[codes >= 0]].sum())
            texts[has_illegal] = texts[has_illegal].str.replace(_ILLEGAL, "", regex=True)
        lengths = texts.str.len().to_numpy()
        if (lengths > _MAX_TEXT).any():
            texts = texts.str.slice(0, _MAX_TEXT)
        if (lengths == 0).any():  # an empty text is an empty cell
            codes = np.where((codes >= 0) & (lengths[codes] == 0), -1, codes)
    return codes, texts.tolist(), cleaned


def _number_values(values: Any) -> np.ndarray:
    """Floats, NaN where missing or not finite."""
    array = np.array(values, dtype=float)
    array[~np.isfinite(array)] = np.nan
    return array


def _serial_days(values: Any) -> np.ndarray:
    """Datetimes as Excel serial days (1900 date system), NaN where missing."""
    stamps = pd.to_datetime(pd.Series(values))
    if stamps.dt.tz is not None:
        stamps = stamps.dt.tz_localize(None)
    array = stamps.to_numpy(dtype="datetime64[ns]")
    days = (array - _EXCEL_EPOCH).astype(np.int64) / _DAY_NS
    days[np.isnat(array)] = np.nan
    return days


def write_sheet(workbook: Workbook, name: str, columns: Sequence[Column], *,
                styles: dict[str, dict[str, Any]] | None = None, header_style: dict[str, Any] | None = None) -> int:
    """Write one sheet, in blocks of rows: header frozen and filterable, widths from the content.

    Text cells go through the workbook's shared strings; formula-like text gets a style with Excel's quote
    prefix. Returns the number of text cells that lost characters illegal in xlsx.
    """
    from ._xlsx import SheetColumn

    header = workbook.add_style(header_style or {"bold": True})
    quoted = workbook.add_style({"quote_prefix": True})
    number_formats = {kind: workbook.add_style({"num_format": f}) for kind, f in _NUMBER_FORMATS.items()}
    row_styles = {key: workbook.add_style(spec) for key, spec in (styles or {}).items()}
    row_quoted = {key: workbook.add_style({**spec, "quote_prefix": True}) for key, spec in (styles or {}).items()}
    cleaned = 0
    prepared = []
    for column in columns:
        header_text = _ILLEGAL.sub("", str(column.header))
        width = _width(header_text)
        n = len(column.values)
        per_row = None
        if column.styles is not None:  # style index per row, 0 where the key names no style
            keys = pd.Series(column.styles, dtype=object)
            per_row = keys.map(row_styles).fillna(0).to_numpy(dtype=np.int64)
            per_row_quoted = keys.map(row_quoted).fillna(quoted).to_numpy(dtype=np.int64)
        if column.kind in ("id", "text"):
            codes, distinct, lost = _text_values(column.values)
            cleaned += lost
            width = max(width, _width(max(distinct, key=len, default="")))
            ids = workbook.strings(distinct)
            # text, never a formula: formula-like text is shown as written, with the quote prefix
            formula = np.fromiter((v.startswith(FORMULA_PREFIXES) for v in distinct), dtype=bool, count=len(distinct))
            values = np.where(codes >= 0, ids[codes] if len(ids) else -1, -1)
            quote_rows = (codes >= 0) & (formula[codes] if len(formula) else False)
            if per_row is not None:
                style: np.ndarray | int = np.where(quote_rows, per_row_quoted, per_row)
            else:
                style = np.where(quote_rows, quoted, 0) if quote_rows.any() else 0
            prepared.append(SheetColumn(header_text, "s", values, style, 0))
        else:
            if column.kind in ("date", "datetime"):
                values = _serial_days(column.values)
                width = max(width, 12 if column.kind == "date" else 19)
            elif column.kind == "bool":
                values = np.array([np.nan if pd.isna(v) else float(bool(v)) for v in column.values], dtype=float) \
                    if n else np.empty(0)
            else:
                values = _number_values(column.values)
                width = max(width, 12 if column.kind == "money" else 8)
            base = number_formats.get(column.kind, 0)
            style = np.where(per_row > 0, per_row, base) if per_row is not None else base
            prepared.append(SheetColumn(header_text, "b" if column.kind == "bool" else "n", values, style, 0))
        prepared[-1].width = min(width + 3, _MAX_WIDTH)
    workbook.add_sheet(name, prepared, header_style=header)
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
        from ._xlsx import check_sheet_name

        try:
            check_sheet_name(sheet)
        except ValueError as exc:
            raise OptionError(f"{path}: {exc}") from exc
        columns = _frame_columns(frame, id_columns)
        with open_workbook(path) as workbook:
            cleaned = write_sheet(workbook, sheet, columns,
                                  header_style={"bold": True, "bg_color": "#1F2937", "font_color": "#FFFFFF",
                                                "text_wrap": True, "valign": "vcenter"})
        warn_cleaned(cleaned, path)
    return path
