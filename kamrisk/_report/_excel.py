"""The report's Excel workbook: sheet ``Portfolio`` (one row per account) and ``Reasons`` (one per reason).

Sheet names and headers are in the report's language (``客户总览`` and ``流失原因`` in Chinese); money has
thousands separators, risk is a percentage, band cells carry the band colour; the header row is frozen and
filterable. Text from the data is written as explicit strings, with Excel's quote prefix when it looks like
a formula (``=``, ``+``, ``-``, ``@``), so opening the file never runs anything.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
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


def _mapped(values: pd.Series, name: Callable[[str], str]) -> np.ndarray:
    """``name`` of every value, computed once per distinct value."""
    codes, distinct = pd.factorize(values.fillna("").astype(str), sort=False)
    names = np.array([name(v) for v in distinct] + [""], dtype=object)
    return names[codes]


def _text(values: pd.Series) -> np.ndarray:
    return values.to_numpy(dtype=object, na_value=None)


def _portfolio(view: _View) -> list[Column]:
    """One row per account: the scored ones in the report's order, then the unscorable ones."""
    ui, scored, unscorable = view.ui, view.scored, view.unscorable
    n, m = len(scored), len(unscorable)

    def both(column: str) -> np.ndarray:
        return np.concatenate([_text(scored[column]), _text(unscorable[column])])

    def scored_only(values: np.ndarray, empty: object) -> np.ndarray:
        return np.concatenate([values, np.full(m, empty, dtype=object)])

    def numbers(values: pd.Series) -> np.ndarray:
        return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)

    cause_action = _mapped(scored["cause_family"], view.family_action)  # the catalog's, else the scored one
    action = np.where(cause_action != "", cause_action, _text(scored["action"].fillna("")))
    change = [None if math.isnan(v) else round(v, 1) for v in numbers(scored["risk_change"]).tolist()]
    as_of = pd.concat([scored["as_of"], unscorable["as_of"]], ignore_index=True)
    bands = np.concatenate([_text(scored["band"]), np.full(m, "", dtype=object)])
    columns = [
        (ui["xl_account_id"], "id", both("account_id")), (ui["xl_name"], "text", both("name")),
        (ui["xl_owner"], "text", both("owner")), (ui["xl_segment"], "text", both("segment")),
        (ui["xl_region"], "text", both("region")), (ui["xl_channel"], "text", both("channel")),
        (ui["xl_band"], "text", scored_only(_mapped(scored["band"], view.band), "")),
        (ui["xl_risk"], "percent", np.concatenate([numbers(scored["risk"]), np.full(m, np.nan)])),
        (ui["xl_risk_change"], "points", scored_only(np.array(change, dtype=object), None)),
        (ui["xl_revenue"], "money",
         np.concatenate([numbers(scored["revenue_12m"]), numbers(unscorable["revenue_12m"])])),
        (ui["xl_rar"], "money", np.concatenate([numbers(scored["revenue_at_risk"]), np.full(m, np.nan)])),
        (ui["xl_cause"], "text", scored_only(_mapped(scored["cause_family"], view.family), "")),
        (ui["xl_action"], "text", scored_only(action, "")),
        *((ui["xl_reason"].format(k=k), "text", scored_only(_text(scored[f"reason_{k}"]), "")) for k in (1, 2, 3)),
        (ui["xl_status"], "text", np.array([ui["status_scored"]] * n + [ui["status_unscorable"]] * m, dtype=object)),
        (ui["xl_status_reason"], "text",
         np.concatenate([np.full(n, "", dtype=object), _text(unscorable["status_reason"])])),
        (ui["xl_as_of"], "date", as_of),
    ]
    return [Column(header, "number" if kind == "float" else kind, values, list(bands) if j == 6 else None)
            for j, (header, kind, values) in enumerate(columns)]


def _reasons(view: _View) -> list[Column]:
    """One row per reason of a scored account (up to three), in the portfolio's order."""
    ui, scored = view.ui, view.scored
    parts = []
    for k in (1, 2, 3):
        part = pd.DataFrame({"row": np.arange(len(scored)), "rank": k, "text": scored[f"reason_{k}"].to_numpy(),
                             "family": scored[f"reason_family_{k}"].to_numpy()})
        parts.append(part[(part["text"] != "") | (part["family"] != "")])
    reasons = pd.concat(parts, ignore_index=True).sort_values(["row", "rank"], kind="stable", ignore_index=True)
    rows = reasons["row"].to_numpy()
    gain = np.full(len(reasons), np.nan)
    for fid in reasons["family"].unique().tolist():
        if fid and f"whatif_{fid}" in scored.columns:
            here = (reasons["family"] == fid).to_numpy()
            gain[here] = pd.to_numeric(scored[f"whatif_{fid}"], errors="coerce").to_numpy(dtype=float)[rows[here]]
    columns = [
        (ui["xl_account_id"], "id", _text(scored["account_id"])[rows]),
        (ui["xl_name"], "text", _text(scored["name"])[rows]),
        (ui["xl_rank"], "int", reasons["rank"].to_numpy(dtype=float)),
        (ui["xl_family"], "text", _mapped(reasons["family"], view.family)),
        (ui["xl_reason_text"], "text", _text(reasons["text"])),
        (ui["xl_action"], "text", _mapped(reasons["family"], view.family_action)), (ui["xl_whatif"], "percent", gain),
    ]
    return [Column(header, kind, values) for header, kind, values in columns]


def write_workbook(view: _View, path: Path) -> Path:
    """Write the ``Portfolio`` and ``Reasons`` sheets (named in the view's language) to ``path`` (.xlsx)."""
    ui = view.ui
    path.parent.mkdir(parents=True, exist_ok=True)
    with open_workbook(path) as workbook:
        cleaned = write_sheet(workbook, ui["sheet_portfolio"], _portfolio(view), styles=_BAND_STYLES,
                              header_style=_HEADER)
        cleaned += write_sheet(workbook, ui["sheet_reasons"], _reasons(view), header_style=_HEADER)
    warn_cleaned(cleaned, path)
    return path
