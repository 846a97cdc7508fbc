"""The review as the report's sibling: one self-contained HTML page (report.css, report.js, the same content
security policy) and an Excel workbook written through :mod:`kamrisk._outputs` (text never a formula).

Every text from the data (names, owners, reasons, the account team's notes) is untrusted: Jinja2 escapes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._errors import OptionError
from .._options import check_lang
from ._analysis import IN_TIME_DAYS, VERDICTS, ReviewResult
from ._text import REVIEW_UI

__all__ = ["write_review", "DEFAULT_TOP"]

DEFAULT_TOP = 200
_FILTERS = ("verdict", "owner", "segment", "region")
_LIST_MISSED = 50


def _money(value: Any) -> str:
    return "–" if value is None or pd.isna(value) else f"{float(value):,.0f}"


def _percent(value: Any) -> str:
    return "–" if value is None or pd.isna(value) else f"{float(value) * 100:.0f}%"


def _date(value: Any) -> str:
    return "" if value is None or pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d")


def _value(value: Any) -> float | str:
    return "" if value is None or pd.isna(value) else float(value)


def _timeline_chart(rows: pd.DataFrame, lookback: int) -> dict[str, Any] | None:
    """Risk at each month start before the fall; x in days relative to the fall, lines at the fall and 90 days."""
    rows = rows[rows["risk"].notna()]
    if rows.empty:
        return None
    width, height, top, bottom, left, right = 330.0, 110.0, 12.0, 18.0, 34.0, 10.0
    inner_w, inner_h = width - left - right, height - top - bottom
    peak = float(rows["risk"].max())
    scale = min(1.0, max(0.25, np.ceil(peak * 10) / 10))

    def x(days: float) -> float:
        return round(left + inner_w * (days + lookback) / lookback, 2)

    def y(risk: float) -> float:
        return round(top + inner_h * (1 - min(risk, scale) / scale), 2)

    points = [{"x": x(d), "y": y(r), "band": b, "title": f"{_date(a)} ({int(d)} d): {_percent(r)}"}
              for d, r, b, a in zip(rows["days_to_fall"], rows["risk"], rows["band"], rows["as_of"], strict=True)]
    grid = [{"y": y(g), "label": f"{g * 100:.0f}%"} for g in (0.0, scale / 2, scale)]
    return {"width": width, "height": height, "left": left, "right": width - right, "top": top,
            "bottom": height - bottom, "points": points, "path": " ".join(f"{p['x']},{p['y']}" for p in points),
            "grid": grid, "fall_x": x(0), "lead_x": x(-IN_TIME_DAYS), "first": f"-{lookback}"}


class _ReviewView:
    """The page's content, computed once for the HTML and the workbook."""

    def __init__(self, result: ReviewResult, lang: str, top: int | None, catalog: Any) -> None:
        self.result, self.lang, self.ui, self.catalog = result, lang, REVIEW_UI[lang], catalog
        self.accounts = catalog.with_labels(result.accounts, lang)  # segment, region as in labels.yaml
        self.top = len(self.accounts) if top is None else min(top, len(self.accounts))

    def family(self, fid: str) -> str:
        return self.catalog.family_name(fid, self.lang) if fid else ""

    def families_text(self, ids: str) -> str:
        return ", ".join(self.family(f) for f in ids.split(", ") if f) if ids else ""

    def verdict(self, verdict: str) -> str:
        return self.ui[f"verdict_{verdict}"]

    def cause(self, fid: str) -> str:
        return self.family(fid) if fid else self.ui["no_cause"]

    def kpis(self) -> dict[str, Any]:
        h, ui = self.result.headline(), self.ui
        share = {v: (h[v] / h["lost"] if h["lost"] else 0.0) for v in VERDICTS}
        verdicts = [{"id": v, "label": self.verdict(v), "count": h[v], "share": round(100 * share[v], 2),
                     "text": f"{h[v]:,} · {_percent(share[v])}"} for v in VERDICTS]
        lead = h["median_lead_days"]
        out = {"lost": f"{h['lost']:,}", "revenue_lost": _money(h["revenue_lost"]), "verdicts": verdicts,
               "lead": ui["no_lead"] if np.isnan(lead) else ui["days"].format(n=f"{lead:.0f}"),
               "top_cause": f"{self.family(h['top_cause'])} ({h['top_cause_count']:,})" if h["top_cause"] else "–",
               "agreement": None}
        if self.result.simulated and h.get("planted"):
            out["agreement"] = {"value": _percent(h["cause_agreement"]),
                                "note": ui["agreement_note"].format(share=_percent(h["cause_agreement"]),
                                                                    n=f"{h['planted']:,}")}
        return out

    def families(self) -> dict[str, Any]:
        table = self.result.families()
        table = table[table["accounts"] > 0]
        row, label_w, bar_w = 26.0, 170.0, 230.0
        bars = []
        for k, r in enumerate(table.itertuples()):
            days = self.ui["days"].format(n=f"{r.median_days_before:.0f}")
            bars.append({"label": self.family(r.family), "y": k * row, "w": round(bar_w * r.share, 2),
                         "text": self.ui["families_value"].format(share=_percent(r.share), days=days)})
        return {"width": label_w + bar_w + 170, "height": max(len(bars), 1) * row, "label_w": label_w, "bars": bars}

    def by_tables(self) -> list[dict[str, Any]]:
        out = []
        for column in ("cause_family", "owner", "segment", "region"):
            table = self.catalog.with_labels(self.result.by(column), self.lang)
            rows = [{"label": (self.cause(r[column]) if column == "cause_family" else r[column] or self.ui["not_set"]),
                     "accounts": f"{r['accounts']:,}", "revenue_lost": _money(r["revenue_lost"]),
                     "in_time": f"{r['in_time']:,}", "missed": f"{r['missed']:,}"}
                    for r in table.to_dict("records")]
            out.append({"key": column, "title": self.ui[f"by_{column}"], "rows": rows})
        return out

    def rows(self) -> list[dict[str, Any]]:
        out = []
        for rank, r in enumerate(self.accounts.to_dict("records"), start=1):
            name = r["name"] or r["account_id"]
            out.append({
                "rank": rank, "id": r["account_id"], "name": name, "show_id": name != r["account_id"],
                "owner": r["owner"], "segment": r["segment"], "region": r["region"], "verdict": r["verdict"],
                "verdict_label": self.verdict(r["verdict"]), "verdict_rank": 3 - VERDICTS.index(r["verdict"]),
                "fell_on": _date(r["fell_on"]), "first_high": _date(r["first_high"]),
                "lead": _value(r["lead_days"]), "lead_text": "" if pd.isna(r["lead_days"]) else f"{r['lead_days']:.0f}",
                "revenue_lost": _value(r["revenue_lost"]), "revenue_lost_text": _money(r["revenue_lost"]),
                "cause": self.cause(r["cause_family"]), "team": r.get("team_reason", ""),
                "planted": self.cause(r.get("planted_cause", "")) if r.get("planted_cause", "") else "",
                "agrees": bool(r.get("cause_agrees", False)),
                "card": f"card-{rank}" if rank <= self.top else "",
                "search": f"{name} {r['account_id']}".lower(),
            })
        return out

    def filters(self) -> list[dict[str, Any]]:
        out = []
        for key in _FILTERS:
            values = self.accounts[key] if key in self.accounts else pd.Series(dtype=object)
            if key == "verdict":
                options = [{"value": v, "label": self.verdict(v)} for v in VERDICTS if (values == v).any()]
            else:
                from .._report import text_options

                options = text_options(values, self.ui["not_set"])
            out.append({"key": key, "label": self.ui[f"col_{key}"], "options": options})
        return out

    def missed(self) -> list[dict[str, Any]]:
        out = []
        for r in self.result.missed.head(_LIST_MISSED).to_dict("records"):
            name = r["name"] or r["account_id"]
            out.append({"id": r["account_id"], "name": name, "show_id": name != r["account_id"], "owner": r["owner"],
                        "revenue_lost": _money(r["revenue_lost"]), "fell_on": _date(r["fell_on"]),
                        "peak": f"{_percent(r['peak_risk'])} ({_date(r['peak_risk_on'])})" if not pd.isna(
                            r["peak_risk"]) else "–",
                        "signs": self.families_text(r["signs_before"]),
                        "stage": self.ui.get(f"stage_{r['stage_before']}", r["stage_before"]),
                        "reason": r["peak_reason"]})
        return out

    def cards(self) -> list[dict[str, Any]]:
        result, ui = self.result, self.ui
        chosen = self.accounts.head(self.top)
        timeline = result.timeline[result.timeline["account_id"].isin(set(chosen["account_id"]))]
        charts = {a: _timeline_chart(rows, result.lookback_days) for a, rows in timeline.groupby("account_id")}
        signs = {a: rows for a, rows in result.signs.groupby("account_id")} if len(result.signs) else {}
        cards = []
        for rank, r in enumerate(chosen.to_dict("records"), start=1):
            name = r["name"] or r["account_id"]
            if pd.notna(r["first_high"]):
                flag = ui["first_high"].format(date=_date(r["first_high"]), n=f"{r['lead_days']:.0f}",
                                               risk=_percent(r["risk_at_first_high"]))
            else:
                flag = ui["never_high"].format(risk=_percent(r["peak_risk"]), date=_date(r["peak_risk_on"]))
            mine = signs.get(r["account_id"])
            sign_rows = [] if mine is None else [
                {"family": self.family(s["family"]),
                 "first": ui["days_before"].format(n=f"{-s['first_seen_days']:.0f}"),
                 "peak": ui["days_before"].format(n=f"{-s['peak_days']:.0f}")}
                for s in mine.to_dict("records")]
            planted = r.get("planted_cause", "")
            cards.append({
                "anchor": f"card-{rank}", "rank": rank, "id": r["account_id"], "name": name,
                "show_id": name != r["account_id"], "verdict": r["verdict"],
                "verdict_label": self.verdict(r["verdict"]),
                "owner": r["owner"], "segment": r["segment"], "region": r["region"],
                "meta": [(ui[f"col_{k}"], r[k]) for k in ("owner", "segment", "region") if r[k]],
                "fell_on": _date(r["fell_on"]), "revenue_lost": _money(r["revenue_lost"]), "flag": flag,
                "reasons": [r[f"reason_{k}"] for k in (1, 2, 3) if r[f"reason_{k}"]], "action": r["action"],
                "cause": self.cause(r["cause_family"]), "team": r.get("team_reason", ""),
                "planted": ui["planted"].format(cause=self.cause(planted)) if planted else "",
                "agrees": ui["agrees"] if r.get("cause_agrees", False) else ui["disagrees"],
                "chart": charts.get(r["account_id"]), "signs": sign_rows,
            })
        return cards


def render_review(view: _ReviewView) -> str:
    from .. import __version__
    from .._report import page_assets

    environment, script, style, digest = page_assets("table.js")
    result, ui = view.result, view.ui
    rule = ui["rule"].format(kind=ui[f"kind_{result.label_kind}"], days=result.horizon_days,
                             share=_percent(result.threshold), lead=IN_TIME_DAYS)
    judged = ui["judged_until"].format(date=_date(result.judged_until)) \
        if result.judged_until < result.end - pd.Timedelta(days=1) else ""
    return environment.get_template("review.html.j2").render(
        lang=view.lang, ui=ui, period=f"{_date(result.start)} – {_date(result.end - pd.Timedelta(days=1))}",
        judged=judged, rule=rule, kpis=view.kpis(), families=view.families(), by_tables=view.by_tables(),
        rows=view.rows(), filters=view.filters(), missed=view.missed(), cards=view.cards(),
        simulated=result.simulated,
        cards_note=ui["cards_note_all"] if view.top == len(view.accounts) else ui["cards_note"].format(n=view.top),
        footer=ui["footer"].format(version=__version__, model=result.model_version),
        script=script, style=style, script_hash=f"sha256-{digest}",
        js_ui={"showing": ui["showing"], "lang": view.lang},
    )


def _write_workbook(view: _ReviewView, path: Path) -> Path:
    """Sheets: lost accounts, the monthly timeline, the signs, the families and revenue lost by group."""
    from .._outputs import _frame_columns, open_workbook, warn_cleaned, write_sheet

    result, ui = view.result, view.ui
    header = {"bold": True, "bg_color": "#1F2937", "font_color": "#FFFFFF", "text_wrap": True, "valign": "vcenter"}
    by = []
    for column in ("cause_family", "owner", "segment", "region"):
        table = result.by(column).rename(columns={column: "group"})
        by.append(table.assign(by=column)[["by", "group", "accounts", "revenue_lost", "in_time", "missed"]])
    sheets = [
        (ui["sheet_accounts"], result.accounts), (ui["sheet_timeline"], result.timeline),
        (ui["sheet_signs"], result.signs), (ui["sheet_families"], result.families()),
        (ui["sheet_by"], pd.concat(by, ignore_index=True)),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    cleaned = 0
    with open_workbook(path) as workbook:  # a workbook cut short by an error is deleted, not left half-written
        for name, frame in sheets:
            cleaned += write_sheet(workbook, name[:31], _frame_columns(frame, ("account_id",)), header_style=header)
    warn_cleaned(cleaned, path)
    return path


def write_review(result: ReviewResult, out_html: str | Path, *, xlsx: str | Path | None = None,
                 lang: str | None = None, top: int | None = DEFAULT_TOP, catalog: Any = None) -> Path:
    """Write a review as one self-contained HTML page in the report's look (and an Excel workbook).

    Parameters
    ----------
    result : ReviewResult
        From :func:`kamrisk.review`.
    out_html : path ending in ``.html``
    xlsx : path ending in ``.xlsx``, optional
        Sheets: lost accounts, timeline, signs, families, revenue lost by cause, owner, segment and region.
    lang : ``"en"`` or ``"zh"``; the review's own language by default
    top : int or None, default 200
        Month-by-month cards for this many accounts with the most revenue lost (the table lists them all).
    catalog : Catalog, optional
        Family names come from it; the model's catalog carried by ``result`` by default.

    Returns
    -------
    Path
        ``out_html``.
    """
    from .._catalog import load_catalog
    from .._outputs import check_output

    lang = check_lang(result.lang if lang is None else lang)
    if top is not None and (isinstance(top, bool) or not isinstance(top, int | np.integer) or top < 0):
        raise OptionError(f"top must be a whole number of accounts (0 or more), got {top!r}.")
    out_html = check_output(out_html, ("html", "htm"))
    if xlsx is not None:
        xlsx = check_output(xlsx, ("xlsx",))
    catalog = catalog or result.catalog or load_catalog()
    view = _ReviewView(result, lang, None if top is None else int(top), catalog)
    out_html.parent.mkdir(parents=True, exist_ok=True)
    out_html.write_text(render_review(view), encoding="utf-8")
    if xlsx is not None:
        _write_workbook(view, Path(xlsx))
    return out_html
