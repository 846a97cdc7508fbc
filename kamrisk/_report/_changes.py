"""What changed since the last scoring: the report's opening section.

:func:`kamrisk._score.compare_scores` puts a scoring beside the one before it (``kamrisk score --previous OLD``): every
account of the latest as_of gets ``previous_as_of, previous_risk, previous_revenue_at_risk, risk_change,
band_change, stage_change, new_reasons``, and an account of the previous scoring that is missing now is
added as an ``unscorable`` row (``band_change`` ``gone``), so no account is dropped. :func:`changes_view`
turns those columns (or, for a scores table without them, its two latest as_of dates) into the "what
changed" section: accounts newly high, whose risk rose most, that recovered, with new reasons, that
appeared or are gone, and the revenue at risk each group moved.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._score import CHANGE_COLUMNS, GONE, NEW, UNSCORED, compare_scores
from .._score import _change_text as _text

__all__ = ["compare_scores", "changes_view", "CHANGE_COLUMNS", "CHANGES_UI", "NEW", "GONE", "UNSCORED"]

_REASONS = 3
_LIST = 10  # accounts shown per list; the counts cover all
_ROSE = 0.05  # a rise of 5 points of risk or more is worth a look
_RECOVERED_FROM = ("high", "medium")
_AT_RISK_STAGES = ("warning", "declining")


# -- the report's section ----------------------------------------------------------------------------------
CHANGES_UI: dict[str, dict[str, str]] = {
    "en": {
        "title": "What changed since {date}",
        "note": "Against the scoring of {date}. Revenue at risk moved: {moved} ({before} then, {now} now).",
        "newly_high": "Newly high",
        "rose": "Risk up 5 points or more",
        "recovered": "Recovered",
        "new_reasons": "New reasons (high and medium band)",
        "appeared": "New in this scoring",
        "gone": "No longer in the data",
        "moved": "revenue at risk {moved}",
        "none": "None.",
        "more": "and {n} more",
        "col_account": "Account",
        "col_owner": "Owner",
        "col_risk": "Risk then → now",
        "col_change": "Change (pts)",
        "col_moved": "Revenue at risk moved",
        "col_detail": "Detail",
        "was_band": "was {band}",
        "band_high": "high", "band_medium": "medium", "band_low": "low", "band_": "not scored",
        "stage_to": "stage {old} → {new}",
        "absent": "–",
    },
    "zh": {
        "title": "自 {date} 以来的变化",
        "note": "与 {date} 的评分相比。风险收入变动：{moved}（当时 {before}，现在 {now}）。",
        "newly_high": "新进入高风险",
        "rose": "风险上升5个百分点及以上",
        "recovered": "风险已缓解",
        "new_reasons": "出现新的原因（高、中风险）",
        "appeared": "本次新出现的客户",
        "gone": "本次数据中已没有的客户",
        "moved": "风险收入变动 {moved}",
        "none": "无。",
        "more": "另有{n}家",
        "col_account": "客户",
        "col_owner": "客户经理",
        "col_risk": "风险（当时 → 现在）",
        "col_change": "变化（百分点）",
        "col_moved": "风险收入变动",
        "col_detail": "说明",
        "was_band": "原为{band}",
        "band_high": "高", "band_medium": "中", "band_low": "低", "band_": "未评分",
        "stage_to": "阶段 {old} → {new}",
        "absent": "–",
    },
}


def _signed_money(value: float) -> str:
    return "0" if abs(value) < 0.5 else f"{value:+,.0f}"


def _pct(value: Any) -> str:
    return "–" if value is None or pd.isna(value) else f"{float(value) * 100:.0f}%"


def changes_view(frame: pd.DataFrame, lang: str, family_name: Any, stage_name: Any) -> dict[str, Any] | None:
    """The "what changed" section of a report, or None when the scores hold nothing to compare.

    ``frame`` is the report's validated scores table. Its change columns (from ``--previous``) are used
    when present; otherwise its two latest as_of dates are compared. ``family_name(fid)`` and
    ``stage_name(stage)`` give the display names.
    """
    ui = CHANGES_UI[lang]
    date = frame["as_of"].max()
    latest = frame[frame["as_of"] == date]
    if "band_change" in latest and (_text(latest, "band_change") != "").any() or (
            "previous_as_of" in latest and latest["previous_as_of"].notna().any()):
        rows = latest.copy()
    else:
        earlier = frame[frame["as_of"] < date]
        if earlier.empty:
            return None
        rows = compare_scores(latest, earlier)
    for column in ("band_change", "stage_change", "new_reasons"):
        rows[column] = _text(rows, column)
    for column in ("risk", "previous_risk", "risk_change", "revenue_at_risk", "previous_revenue_at_risk"):
        rows[column] = pd.to_numeric(rows[column], errors="coerce").astype(float) if column in rows else np.nan
    previous_date = pd.to_datetime(rows["previous_as_of"]).max() if "previous_as_of" in rows else pd.NaT
    rar_now = rows["revenue_at_risk"].fillna(0.0)
    rar_before = rows["previous_revenue_at_risk"].fillna(0.0)
    rows["moved"] = rar_now - rar_before
    band = _text(rows, "band")
    same = np.where(rows["band_change"] == "", band, "")  # new and gone: no band to compare with
    before_band = rows["band_change"].str.split("->").str[0].where(rows["band_change"].str.contains("->"), same)
    before_band = before_band.replace(UNSCORED, "")
    before_stage = rows["stage_change"].str.split("->").str[0].where(rows["stage_change"].str.contains("->"),
                                                                      _text(rows, "stage")).replace(UNSCORED, "")
    rows["_before_band"] = before_band.where(before_band.isin(("high", "medium", "low")), "")
    scored_both = rows["previous_risk"].notna() & rows["risk"].notna()
    groups = {
        "newly_high": (band == "high") & (before_band != "high") & (rows["band_change"] != GONE),
        "rose": scored_both & (rows["risk_change"] >= _ROSE),
        "recovered": scored_both & ((before_band.isin(_RECOVERED_FROM) & (band == "low")) | (
            before_stage.isin(_AT_RISK_STAGES) & (_text(rows, "stage") == "healthy"))),
        "new_reasons": (rows["new_reasons"] != "") & band.isin(_RECOVERED_FROM),
        "appeared": rows["band_change"] == NEW,
        "gone": rows["band_change"] == GONE,
    }
    orders = {"newly_high": ("moved", False), "rose": ("risk_change", False), "recovered": ("moved", True),
              "new_reasons": ("revenue_at_risk", False), "appeared": ("revenue_at_risk", False),
              "gone": ("previous_revenue_at_risk", False)}
    sections = []
    for key, mask in groups.items():
        chosen = rows[mask.to_numpy()]
        by, ascending = orders[key]
        chosen = chosen.sort_values([by, "account_id"], ascending=[ascending, True], na_position="last")
        items = []
        for r in chosen.head(_LIST).to_dict("records"):
            name = r.get("name") or r["account_id"]
            if key == "new_reasons":
                texts = [r.get(f"reason_{k}", "") for k in range(1, _REASONS + 1)
                         if r.get(f"reason_family_{k}", "") in r["new_reasons"].split(", ")]
                detail = "; ".join(t for t in texts if t) or ", ".join(
                    family_name(f) for f in r["new_reasons"].split(", "))
            elif key == "newly_high":
                was = ui["was_band"].format(band=ui[f"band_{r['_before_band']}"]) if r["band_change"] != NEW \
                    else ui["appeared"]
                detail = "; ".join(t for t in (was, r.get("reason_1", "") or "") if t)
            elif key == "recovered":
                old, new = r["stage_change"].split("->") if "->" in r["stage_change"] else ("", "")
                detail = ui["stage_to"].format(old=stage_name(old), new=stage_name(new)) if old else \
                    ui["was_band"].format(band=ui[f"band_{r['_before_band']}"])
            elif key == "gone":
                detail = r.get("status_reason", "")
            else:
                detail = r.get("reason_1", "") or ""
            change = r["risk_change"]
            items.append({
                "id": r["account_id"], "name": name, "show_id": name != r["account_id"], "owner": r.get("owner", ""),
                "risk": f"{_pct(r['previous_risk'])} → {_pct(r['risk'])}",
                "change": "" if pd.isna(change) else f"{round(change * 100):+d}",
                "trend": "" if pd.isna(change) else "up" if change >= 0.005 else "down" if change <= -0.005 else "",
                "moved": _signed_money(r["moved"]), "moved_trend": "up" if r["moved"] > 0.5 else
                "down" if r["moved"] < -0.5 else "", "detail": detail,
            })
        moved = float(chosen["moved"].sum())
        sections.append({"key": key, "title": ui[key], "count": len(chosen), "rows": items,
                         "more": ui["more"].format(n=f"{len(chosen) - len(items):,}")
                         if len(chosen) > len(items) else "",
                         "moved": ui["moved"].format(moved=_signed_money(moved)),
                         "moved_trend": "up" if moved > 0.5 else "down" if moved < -0.5 else ""})
    total_now, total_before = float(rar_now.sum()), float(rar_before.sum())
    shown = "" if pd.isna(previous_date) else f"{pd.Timestamp(previous_date):%Y-%m-%d}"
    return {"ui": ui, "title": ui["title"].format(date=shown),
            "note": ui["note"].format(date=shown, moved=_signed_money(total_now - total_before),
                                      before=f"{total_before:,.0f}", now=f"{total_now:,.0f}"),
            "sections": sections}
