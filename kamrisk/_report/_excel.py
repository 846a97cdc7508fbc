"""The report's Excel workbook: sheet ``Portfolio`` (one row per account) and ``Reasons`` (one per reason).

Sheet names and headers are in the report's language (``客户总览`` and ``流失原因`` in Chinese); money has
thousands separators, risk is a percentage, band cells carry the band colour; the header row is frozen and
filterable. Text from the data is written as explicit strings, with Excel's quote prefix when it looks like
a formula (``=``, ``+``, ``-``, ``@``), so opening the file never runs anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .._outputs import Column, open_workbook, warn_cleaned, write_sheet

if TYPE_CHECKING:  # pragma: no cover
    from . import _View

__all__ = ["write_workbook", "SHEETS"]

SHEETS = ("Portfolio", "Reasons")  # in English; each language names them in UI (sheet_portfolio, sheet_reasons)
_BAND_COLOURS = {"high": ("#F8D7DA", "#8B1A1A"), "medium": ("#FFE8B3", "#7A4B00"), "low": ("#D4EDDA", "#1E5C2E")}
_BAND_STYLES = {band: {"bg_color": fill, "font_color": font, "bold": True}
                for band, (fill, font) in _BAND_COLOURS.items()}
_HEADER = {"bold": True, "bg_color": "#1F2937", "font_color": "#FFFFFF", "text_wrap": True, "valign": "vcenter"}


def _sheet(columns: list[tuple[str, str]], rows: list[list[object]], bands: list[str] | None = None,
           band_column: int | None = None) -> list[Column]:
    """Row lists turned into the writer's columns; the band column styled per row."""
    values = list(zip(*rows, strict=True)) if rows else [()] * len(columns)
    out = []
    for j, ((header, kind), column) in enumerate(zip(columns, values, strict=True)):
        styles = list(bands) if bands is not None and j == band_column else None
        out.append(Column(header, "number" if kind == "float" else kind, list(column), styles))
    return out


def write_workbook(view: _View, path: Path) -> Path:
    """Write the ``Portfolio`` and ``Reasons`` sheets (named in the view's language) to ``path`` (.xlsx)."""
    ui = view.ui
    portfolio_columns = [
        (ui["xl_account_id"], "id"), (ui["xl_name"], "text"), (ui["xl_owner"], "text"),
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
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = open_workbook(path)
    cleaned = write_sheet(workbook, ui["sheet_portfolio"], _sheet(portfolio_columns, rows, bands, band_column=6),
                          styles=_BAND_STYLES, header_style=_HEADER)

    reason_columns = [
        (ui["xl_account_id"], "id"), (ui["xl_name"], "text"), (ui["xl_rank"], "int"), (ui["xl_family"], "text"),
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
    cleaned += write_sheet(workbook, ui["sheet_reasons"], _sheet(reason_columns, reason_rows), header_style=_HEADER)
    workbook.close()
    warn_cleaned(cleaned, path)
    return path
