"""The files of a data folder: which file holds which table, and reading csv, parquet, xlsx and mapping.yaml.

Private to :mod:`kamrisk._schema`. A file is read completely or refused with a :class:`~kamrisk.DataError`
that names it and says how to fix it; a file named like a table is never skipped in silence.
"""

from __future__ import annotations

import codecs
import csv
import re
from pathlib import Path
from typing import Any

import pandas as pd

from ._errors import DataError

__all__ = ["READABLE", "find_tables", "read_mapping", "read_table"]

READABLE = ("parquet", "csv", "xlsx")  # suffixes read, in any case
_MAPPING = ("yaml", "yml")
_DELIMITERS = ((";", "';'", "';'"), ("\t", "tabs", "tab"), ("|", "'|'", "'|'"))
_CHUNK = 1 << 20
# the characters of Chinese text: ideographs, CJK punctuation, full-width forms
_FOREIGN = re.compile("[^\x00-\x7f]")
_CJK = re.compile("[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")


def find_tables(folder: Path, tables: tuple[str, ...]) -> tuple[dict[str, Path], Path | None]:
    """The file of each table present (``orders.csv``, ``Orders.XLSX``, ...) and the mapping file, if any.

    Raises
    ------
    DataError
        Listing every file named like a table in a format kamrisk does not read, and every table or mapping
        given twice.
    """
    found: dict[str, list[Path]] = {}
    mappings: list[Path] = []
    problems: list[str] = []
    for path in sorted(folder.iterdir()):
        stem, dot, suffix = path.name.lower().partition(".")
        if not dot or not stem:
            continue
        if stem == "mapping":
            if suffix in _MAPPING and path.is_file():
                mappings.append(path)
            else:
                problems.append(f"{path.name}: the mapping is read from mapping.yaml; rename or convert it.")
        elif stem in tables:
            if suffix in READABLE and (path.is_file() or (suffix == "parquet" and path.is_dir())):
                found.setdefault(stem, []).append(path)
            else:
                hint = {"xls": "save it as .xlsx or .csv", "xlsm": "save it as .xlsx or .csv",
                        "tsv": "rename it to .csv and set  delimiter: tab  in mapping.yaml",
                        "txt": "rename it to .csv (and set delimiter in mapping.yaml if it is not ',')"}.get(
                    suffix, "convert it, or move it out of the folder")
                problems.append(f"{path.name}: kamrisk reads tables as .parquet, .csv or .xlsx, not .{suffix}; {hint}.")
    for name, paths in found.items():
        if len(paths) > 1:
            problems.append(f"{' and '.join(p.name for p in paths)} all hold the {name} table; keep only one.")
    if len(mappings) > 1:
        problems.append(f"{' and '.join(p.name for p in mappings)}: keep only one mapping file.")
    if problems:
        raise DataError(f"{folder}: " + ("\n- ".join(["", *problems]) if len(problems) > 1 else problems[0]))
    return {name: paths[0] for name, paths in found.items()}, (mappings[0] if mappings else None)


def _first_undecodable(path: Path, encoding: str) -> tuple[int, int, bytes] | None:
    """Where ``path`` stops decoding as ``encoding``: (byte offset, line, the bytes), or None if it decodes."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset, lines = 0, 1
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(_CHUNK)
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                # the error's position is within what the decoder held: the chunk plus a few pending bytes
                pending = len(exc.object) - len(chunk)
                at = max(exc.start - pending, 0)
                return offset + at, lines + chunk[:at].count(b"\n"), exc.object[exc.start:exc.start + 2]
            if not chunk:
                return None
            offset += len(chunk)
            lines += chunk.count(b"\n")


def _reads_as_chinese(path: Path) -> bool:
    """The file decodes as GB18030 and its non-ASCII characters are mostly Chinese (a cp1252 file decodes
    as GB18030 too, into characters from all over Unicode)."""
    if _first_undecodable(path, "gb18030") is not None:
        return False
    with open(path, "rb") as handle:
        text = handle.read(4 * _CHUNK).decode("gb18030", errors="ignore")
    foreign = len(_FOREIGN.findall(text))
    return foreign > 0 and len(_CJK.findall(text)) >= 0.9 * foreign


def _decoding_error(path: Path, encoding: str | None, what: str) -> DataError:
    where = _first_undecodable(path, encoding or "utf-8")
    at = f" (byte 0x{where[2][:1].hex()} on line {where[1]})" if where else ""
    if encoding:
        return DataError(f"{path}: cannot decode it as {encoding}{at}. Check 'encoding' in mapping.yaml; "
                         f"the encoding your export tool used is usually named in its save dialog.")
    if _reads_as_chinese(path):
        return DataError(f"{path}: not UTF-8{at}. It reads as GB18030 (GBK), the usual encoding of Chinese "
                         f"Excel and ERP exports: {what}")
    return DataError(f"{path}: not UTF-8{at}. Save it as UTF-8, or name its encoding in mapping.yaml, e.g. "
                     "encoding: cp1252 (Western European Excel exports) or encoding: gb18030 (Chinese).")


def read_mapping(path: Path) -> dict[str, Any]:
    """mapping.yaml as a dict (UTF-8, as YAML files are); its shape is checked by the schema."""
    import yaml

    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _decoding_error(path, None, "save it as UTF-8 (YAML files are UTF-8; in Notepad: Save as, "
                              "Encoding UTF-8).") from None
    try:
        mapping = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise DataError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(mapping, dict):
        raise DataError(f"{path}: expected sections such as 'columns' and 'event_types'.")
    return mapping


def read_table(
    path: Path, *, encoding: str | None = None, delimiter: str | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """One table, every column as the file gives it (CSV cells as text), and notes worth a warning.

    Raises
    ------
    DataError
        The file is empty, cannot be decoded or parsed; the message says what to set in mapping.yaml.
    """
    suffix = path.name.lower().partition(".")[2]
    if path.is_file() and path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty (0 bytes). Export the table again, with its header row.")
    if suffix == "parquet":
        try:
            return pd.read_parquet(path), []
        except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file for the user
            raise DataError(f"{path}: cannot read it as parquet: {exc}") from exc
    if suffix == "xlsx":
        return _read_xlsx(path)
    return _read_csv(path, encoding, delimiter), []


def _read_csv(path: Path, encoding: str | None, delimiter: str | None) -> pd.DataFrame:
    sep = delimiter or ","
    read_as = encoding or "utf-8-sig"  # Excel's "CSV UTF-8" starts with a byte-order mark
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding=read_as, sep=sep,
                            index_col=False)
    except UnicodeDecodeError:
        raise _decoding_error(path, encoding, "add  encoding: gb18030  to mapping.yaml (or save the file as "
                              "UTF-8).") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file has no header row (only blank lines). Export the table again, "
                        "with its header row.") from None
    except Exception as exc:  # noqa: BLE001 - any parser failure is a bad file for the user
        hint = "" if delimiter else " If its values are not separated by ',', set delimiter in mapping.yaml."
        raise DataError(f"{path}: cannot read it as CSV: {exc}.{hint}") from exc
    if delimiter is None and frame.shape[1] == 1:
        header = str(frame.columns[0])
        for mark, shown, setting in _DELIMITERS:
            if mark in header:
                raise DataError(f"{path}: the header has no ',' but {shown}: the values look separated by {shown}. "
                                f"Add  delimiter: {setting}  to mapping.yaml.")
    header = _header(path, read_as, sep)
    if len(header) == frame.shape[1] and len(set(filter(None, header))) < len([h for h in header if h]):
        # pandas renames a repeated header to 'amount.1'; keep the file's names so the schema names the repeat
        frame.columns = [h if h.strip() else c for h, c in zip(header, frame.columns, strict=True)]
    return frame


def _header(path: Path, encoding: str, sep: str) -> list[str]:
    with open(path, newline="", encoding=encoding) as handle:
        return next(csv.reader(handle, delimiter=sep), [])


def _read_xlsx(path: Path) -> tuple[pd.DataFrame, list[str]]:
    try:
        with pd.ExcelFile(path, engine="openpyxl") as book:
            sheets = book.sheet_names
            raw = book.parse(sheets[0], header=None, dtype=object)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file for the user
        raise DataError(f"{path}: cannot read it as an xlsx workbook: {exc}") from exc
    if raw.empty:
        raise DataError(f"{path}: the first sheet {sheets[0]!r} is empty. Put the table, with its header row, "
                        "on the first sheet.")
    header = [h if isinstance(h, str) else "" if pd.isna(h) else str(h) for h in raw.iloc[0]]
    frame = raw.iloc[1:].reset_index(drop=True)
    frame.columns = [h if h.strip() else f"Unnamed: {i}" for i, h in enumerate(header)]
    notes = []
    if len(sheets) > 1:
        notes.append(f"read the first sheet {sheets[0]!r}; the other sheet(s) {sheets[1:]} are not read")
    return frame, notes
