"""The report's Excel workbook: sheet ``Portfolio`` (one row per account) and ``Reasons`` (one per reason).

Headers are in the report's language; money has thousands separators, risk is a percentage, band cells
carry the band colour; the header row is frozen and filterable. Text from the data is written as explicit
strings, with Excel's quote prefix when it looks like a formula (``=``, ``+``, ``-``, ``@``), so opening
the file never runs anything.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .._safety import is_formula_like

if TYPE_CHECKING:  # pragma: no cover
    from . import _View

__all__ = ["write_workbook", "SHEETS"]

SHEETS = ("Portfolio", "Reasons")
_FORMATS = {"money": "#,##0", "percent": "0.0%", "points": "+0;-0;0", "date": "yyyy-mm-dd", "int": "0"}
_BAND_COLOURS = {"high": ("F8D7DA", "8B1A1A"), "medium": ("FFE8B3", "7A4B00"), "low": ("D4EDDA", "1E5C2E")}
_HEADER_FILL, _HEADER_FONT = "1F2937", "FFFFFF"
_MAX_WIDTH = 60


def _width(text: str) -> int:
    """Display width: CJK characters take two columns."""
    return sum(2 if ord(ch) >= 0x2E80 else 1 for ch in text)


def _clean(value: Any) -> Any:
    """None for missing numbers; plain Python scalars for numpy ones."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.to_pydatetime()
    if hasattr(value, "item"):  # numpy scalar
        return _clean(value.item())
    return value


def _write_sheet(ws: Any, columns: list[tuple[str, str]], rows: list[list[Any]], bands: list[str] | None = None,
                 band_column: int | None = None) -> None:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    widths = [_width(header) for header, _ in columns]
    header_font = Font(bold=True, color=_HEADER_FONT)
    header_fill = PatternFill("solid", fgColor=_HEADER_FILL)
    for j, (header, _) in enumerate(columns, start=1):
        cell = ws.cell(row=1, column=j, value=header)
        cell.font, cell.fill = header_font, header_fill
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    band_styles = {b: (PatternFill("solid", fgColor=fill), Font(bold=True, color=font))
                   for b, (fill, font) in _BAND_COLOURS.items()}
    for i, values in enumerate(rows, start=2):
        for j, ((_, kind), value) in enumerate(zip(columns, values, strict=True), start=1):
            value = _clean(value)
            cell = ws.cell(row=i, column=j)
            if isinstance(value, str):
                value = ILLEGAL_CHARACTERS_RE.sub("", value)  # control characters would corrupt the file
                cell.value = value
                if is_formula_like(value):  # text, never a formula: explicit string with Excel's quote prefix
                    cell.data_type = "s"
                    cell.quotePrefix = True
                widths[j - 1] = max(widths[j - 1], _width(value))
            else:
                cell.value = value
                if value is not None and kind in _FORMATS:
                    cell.number_format = _FORMATS[kind]
                    widths[j - 1] = max(widths[j - 1], 12 if kind in ("money", "date") else 8)
        if bands is not None and band_column is not None and bands[i - 2] in band_styles:
            cell = ws.cell(row=i, column=band_column)
            cell.fill, cell.font = band_styles[bands[i - 2]]
    for j, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = min(width + 3, _MAX_WIDTH)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(len(rows) + 1, 1)}"
    ws.row_dimensions[1].height = 30


def write_workbook(view: _View, path: Path) -> Path:
    """Write the ``Portfolio`` and ``Reasons`` sheets of a report view to ``path`` (.xlsx)."""
    from openpyxl import Workbook

    ui = view.ui
    portfolio_columns = [
        (ui["xl_account_id"], "text"), (ui["xl_name"], "text"), (ui["xl_owner"], "text"),
        (ui["xl_segment"], "text"), (ui["xl_region"], "text"), (ui["xl_channel"], "text"),
        (ui["xl_band"], "text"), (ui["xl_risk"], "percent"), (ui["xl_risk_change"], "points"),
        (ui["xl_revenue"], "money"), (ui["xl_rar"], "money"), (ui["xl_cause"], "text"), (ui["xl_action"], "text"),
        *((ui["xl_reason"].format(k=k), "text") for k in (1, 2, 3)),
        (ui["xl_status"], "text"), (ui["xl_status_reason"], "text"), (ui["xl_as_of"], "date"),
    ]
    rows, bands = [], []
    for r in view.scored.to_dict("records"):
        change = r["risk_change"]
        rows.append([
            r["account_id"], r["name"], r["owner"], r["segment"], r["region"], r["channel"], view.band(r["band"]),
            r["risk"], None if pd.isna(change) else round(float(change), 1), r["revenue_12m"], r["revenue_at_risk"],
            view.family(r["cause_family"]), view.family_action(r["cause_family"]) or r["action"],
            r["reason_1"], r["reason_2"], r["reason_3"], ui["status_scored"], "", r["as_of"],
        ])
        bands.append(r["band"])
    for r in view.unscorable.to_dict("records"):
        rows.append([
            r["account_id"], r["name"], r["owner"], r["segment"], r["region"], r["channel"], "", None, None,
            r["revenue_12m"], None, "", "", "", "", "", ui["status_unscorable"], r["status_reason"], r["as_of"],
        ])
        bands.append("")
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEETS[0]
    _write_sheet(sheet, portfolio_columns, rows, bands, band_column=7)

    reason_columns = [
        (ui["xl_account_id"], "text"), (ui["xl_name"], "text"), (ui["xl_rank"], "int"), (ui["xl_family"], "text"),
        (ui["xl_reason_text"], "text"), (ui["xl_action"], "text"), (ui["xl_whatif"], "percent"),
    ]
    reason_rows = []
    for r in view.scored.to_dict("records"):
        for k in (1, 2, 3):
            text, fid = r[f"reason_{k}"], r[f"reason_family_{k}"]
            if not text and not fid:
                continue
            gain = r.get(f"whatif_{fid}") if fid else None
            reason_rows.append([r["account_id"], r["name"], k, view.family(fid), text, view.family_action(fid),
                                None if gain is None or pd.isna(gain) else float(gain)])
    _write_sheet(workbook.create_sheet(SHEETS[1]), reason_columns, reason_rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path
