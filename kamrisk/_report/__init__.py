"""The account team's view of a scores table: one self-contained HTML file, and an Excel workbook.

``write_report(scores, "report.html", xlsx="report.xlsx", lang="zh")`` takes the table written by
``kamrisk score`` (one row per account and as_of). The latest as_of is the report's date; earlier as_of
rows give each account's risk and revenue trend. The HTML holds a portfolio header (revenue at risk by
band, the sign families that drive risk across the book), a filterable and sortable table of accounts by
revenue at risk, a card per account (reasons, actions, what-if gains, small charts) and the unscorable
accounts with the reason. It needs no network: CSS, JavaScript and SVG charts are inline, and a content
security policy allows nothing else to load or run.

Every text from the data (names, owners, reasons) is untrusted: Jinja2 escapes it in HTML, and the Excel
writer stores formula-like text as explicit strings (see ``kamrisk._safety``).
"""

from __future__ import annotations

import base64
import hashlib
import math
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._errors import DataError, OptionError
from .._options import check_lang
from ._text import UI

__all__ = ["write_report", "read_scores", "prepare_scores", "REQUIRED_COLUMNS", "SCORES_FORMATS", "DEFAULT_TOP"]

REQUIRED_COLUMNS = ("account_id", "as_of", "status", "risk", "band", "revenue_12m", "revenue_at_risk")
SCORES_FORMATS = (".parquet", ".csv", ".xlsx")
BANDS = ("high", "medium", "low")
STATUSES = ("scored", "unscorable")
ATTRIBUTES = ("name", "owner", "segment", "region", "channel")
FILTERS = ("stage", "band", "owner", "segment", "region")
STAGES = ("warning", "declining", "healthy", "lapsed")
DEFAULT_TOP = 200  # cards by default: the accounts with the most revenue at risk (the table lists them all)
MAX_REASONS = 3
_TEXT_COLUMNS = (
    "status_reason", "stage", *ATTRIBUTES, *(f"reason_{k}" for k in range(1, MAX_REASONS + 1)),
    *(f"reason_family_{k}" for k in range(1, MAX_REASONS + 1)), "cause_family", "action",
)
_REVENUE_MONTHS = 24
_RISK_POINTS = 12  # as_of dates on an account's risk chart
_MIN_WHATIF = 0.005  # half a point of risk: smaller gains are noise
_TEMPLATES = Path(__file__).resolve().parent / "templates"


# -- reading and validating the scores table ---------------------------------------------------------------
def read_scores(path: str | Path) -> pd.DataFrame:
    """Read and validate a scores table written by ``kamrisk score`` (.parquet, .csv or .xlsx).

    Raises
    ------
    DataError
        When the file is missing, of another format, unreadable, or breaks the scores contract.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SCORES_FORMATS:
        raise DataError(f"{path}: unknown scores format {path.suffix!r}; give a .parquet, .csv or .xlsx table "
                        "written by `kamrisk score`.")
    if not path.is_file():
        raise DataError(f"{path}: no such scores file. Give the table written by `kamrisk score`.")
    try:
        if suffix == ".parquet":
            frame = pd.read_parquet(path)
        elif suffix == ".csv":
            frame = pd.read_csv(path, dtype={c: str for c in ("account_id", *_TEXT_COLUMNS)})
        else:
            frame = pd.read_excel(path, dtype={c: str for c in ("account_id", *_TEXT_COLUMNS)})
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: cannot read the scores table ({type(exc).__name__}: {exc}).") from exc
    return prepare_scores(frame, source=str(path))


def _listed(values: Any, limit: int = 10) -> str:
    values = list(values)
    shown = ", ".join(map(str, values[:limit]))
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


def prepare_scores(scores: pd.DataFrame, source: str = "scores") -> pd.DataFrame:
    """A validated copy of a scores table: typed columns, optional text columns present and filled.

    Raises
    ------
    DataError
        Naming ``source`` and what is wrong: missing columns, dates or numbers that are not, unknown
        statuses or bands, duplicated (account_id, as_of) rows.
    """
    if not isinstance(scores, pd.DataFrame):
        raise DataError(f"{source}: expected a DataFrame of scores, got {type(scores).__name__}.")
    frame = scores
    if "account_id" not in frame.columns and "account_id" in (frame.index.names or []):
        frame = frame.reset_index()
    frame = frame.copy()
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"{source}: missing column(s) {missing}. A scores table from `kamrisk score` has "
                        f"{list(REQUIRED_COLUMNS)} and the reasons, actions and contributions.")
    if frame.empty:
        raise DataError(f"{source}: the scores table has no rows.")
    if frame["account_id"].isna().any():
        raise DataError(f"{source}: {int(frame['account_id'].isna().sum())} row(s) without an account_id.")
    frame["account_id"] = frame["account_id"].astype(str)
    as_of = pd.to_datetime(frame["as_of"], errors="coerce")
    if as_of.isna().any():
        bad = frame.loc[as_of.isna(), "as_of"].astype(str).unique()
        raise DataError(f"{source}, column 'as_of': {int(as_of.isna().sum())} value(s) not a date: {_listed(bad)}.")
    frame["as_of"] = as_of.dt.tz_localize(None) if as_of.dt.tz is not None else as_of
    frame["status"] = frame["status"].astype(str).str.strip().str.lower()
    unknown = sorted(set(frame["status"]) - set(STATUSES))
    if unknown:
        raise DataError(f"{source}, column 'status': unknown value(s) {unknown}; expected {list(STATUSES)}.")
    for column in ("risk", "revenue_12m", "revenue_at_risk"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    frame["band"] = frame["band"].astype(object).where(frame["band"].notna(), "").astype(str).str.strip().str.lower()
    scored = frame["status"] == "scored"
    bad_risk = scored & ~frame["risk"].between(0, 1)
    if bad_risk.any():
        raise DataError(f"{source}, column 'risk': scored account(s) {_listed(frame.loc[bad_risk, 'account_id'])} "
                        "have no risk between 0 and 1.")
    bad_band = scored & ~frame["band"].isin(BANDS)
    if bad_band.any():
        raise DataError(f"{source}, column 'band': scored account(s) {_listed(frame.loc[bad_band, 'account_id'])} "
                        f"have band(s) {sorted(set(frame.loc[bad_band, 'band']))}; expected {list(BANDS)}.")
    for column in _TEXT_COLUMNS:
        values = frame[column].astype(object) if column in frame.columns else pd.Series("", index=frame.index)
        frame[column] = values.where(values.notna(), "").astype(str).str.strip()
    for column in [c for c in frame.columns if str(c).startswith(("contrib_", "whatif_"))]:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    duplicated = frame.duplicated(["account_id", "as_of"], keep=False)
    if duplicated.any():
        raise DataError(f"{source}: account(s) {_listed(frame.loc[duplicated, 'account_id'].unique())} have more "
                        "than one row for the same as_of.")
    return frame


# -- formatting -----------------------------------------------------------------------------------------------
def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _money(value: Any) -> str:
    return "–" if _missing(value) else f"{float(value):,.0f}"


def _percent(value: Any) -> str:
    return "–" if _missing(value) else f"{float(value) * 100:.0f}%"


def _points(value: Any) -> str:
    """Change of risk in percentage points, signed; '0' when it rounds to nothing."""
    if _missing(value):
        return ""
    shown = round(float(value))
    return f"{shown:+d}" if shown else "0"


def _compact(value: float) -> str:
    """Short axis label: 1.2M, 850k."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.1f}".rstrip("0").rstrip(".") + suffix
    return f"{value:.0f}"


def _value(value: Any) -> float | str:
    """A number for a ``data-value`` sort key; empty when missing."""
    return "" if _missing(value) else float(value)


def _date(value: Any) -> str:
    return "" if value is None or pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d")


def _round_half_up(value: float) -> int:
    return int(math.floor(value + 0.5))


# -- charts (geometry here, markup in the template) ------------------------------------------------------------
def _revenue_chart(values: np.ndarray, months: pd.PeriodIndex, partial_last: bool) -> dict[str, Any]:
    """Monthly revenue bars of one account; returns are shown as zero-height months."""
    width, height, top, bottom = 300.0, 96.0, 14.0, 16.0
    clipped = np.clip(values.astype(float), 0, None)
    peak = float(clipped.max()) if len(clipped) else 0.0
    slot = width / len(values)
    inner = height - top - bottom
    bars = []
    for i, (value, month) in enumerate(zip(clipped, months, strict=True)):
        h = 0.0 if peak <= 0 else inner * value / peak
        bars.append({"x": round(i * slot + slot * 0.12, 2), "y": round(top + inner - h, 2), "w": round(slot * 0.76, 2),
                     "h": round(h, 2), "title": f"{month.strftime('%Y-%m')}: {values[i]:,.0f}",
                     "partial": partial_last and i == len(values) - 1})
    return {"width": width, "height": height, "bars": bars, "baseline": top + inner, "peak": _compact(peak),
            "first": months[0].strftime("%Y-%m"), "last": months[-1].strftime("%Y-%m"), "empty": peak <= 0}


def _risk_chart(dates: list[pd.Timestamp], risks: list[float], bands: list[str]) -> dict[str, Any]:
    """Risk at each recent as_of of one account, on a fixed 0-100% scale."""
    width, height, top, bottom, left, right = 300.0, 96.0, 10.0, 16.0, 32.0, 30.0
    inner_w, inner_h = width - left - right, height - top - bottom
    start, end = dates[0].value, dates[-1].value
    span = max(end - start, 1)
    points = []
    for date, risk, band in zip(dates, risks, bands, strict=True):
        x = left + inner_w * (date.value - start) / span
        y = top + inner_h * (1 - risk)
        points.append({"x": round(x, 2), "y": round(y, 2), "band": band, "title": f"{_date(date)}: {_percent(risk)}"})
    grid = [{"y": round(top + inner_h * (1 - g), 2), "label": f"{g * 100:.0f}%"} for g in (0.0, 0.5, 1.0)]
    return {"width": width, "height": height, "left": left, "right": width - right, "points": points,
            "path": " ".join(f"{p['x']},{p['y']}" for p in points), "grid": grid, "first": _date(dates[0]),
            "last": _date(dates[-1]), "last_label": _percent(risks[-1])}


def _drivers_chart(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Horizontal bars: one per sign family, length = share."""
    row, label_w, bar_w = 26.0, 170.0, 230.0
    peak = max((i["value"] for i in items), default=0.0) or 1.0
    bars = []
    for k, item in enumerate(items):
        bars.append({**item, "y": k * row, "w": round(bar_w * item["value"] / peak, 2)})
    return {"width": label_w + bar_w + 150, "height": max(len(items), 1) * row, "label_w": label_w, "bars": bars}


# -- the view: everything the template and the workbook show ----------------------------------------------------
def _where(frame: pd.DataFrame, mask: pd.Series) -> pd.DataFrame:
    """The rows of ``frame`` where ``mask`` holds; ``frame`` itself when it holds everywhere (a book scored at one
    as_of), which spares copying every column of a big book."""
    return frame if bool(mask.all()) else frame[mask]


class _View:
    """The report's content, computed once for the HTML and the Excel workbook."""

    def __init__(self, frame: pd.DataFrame, lang: str, top: int | None, data: Any, catalog: Any) -> None:
        self.lang = lang
        self.ui = UI[lang]
        self.catalog = catalog
        frame = catalog.with_labels(frame, lang)  # segment, region, channel as the catalog's labels.yaml says
        # context (who the account is) is not a sign of leaving; families the catalog does not know are
        self._reason_families = set(catalog.reason_families) | {
            c.removeprefix("contrib_") for c in frame.columns
            if c.startswith("contrib_") and c.removeprefix("contrib_") not in catalog.families}
        self.date = frame["as_of"].max()
        latest = _where(frame, frame["as_of"] == self.date)
        history = frame[(frame["status"] == "scored") & (frame["as_of"] < self.date)]
        self.previous_date = history["as_of"].max() if len(history) else None
        self.contrib = [c for c in frame.columns if c.startswith("contrib_")]
        self.whatif = [c for c in frame.columns if c.startswith("whatif_")]
        scored = latest[latest["status"] == "scored"].copy()
        last = history.sort_values("as_of").groupby("account_id").tail(1).set_index("account_id")
        before = last.reindex(scored["account_id"])
        scored["prev_as_of"] = before["as_of"].to_numpy()
        scored["prev_risk"] = before["risk"].to_numpy()
        scored["prev_revenue"] = before["revenue_12m"].to_numpy()
        scored["risk_change"] = (scored["risk"] - scored["prev_risk"]) * 100
        scored["revenue_change"] = np.where(scored["prev_revenue"] > 0,
                                            scored["revenue_12m"] / scored["prev_revenue"] - 1, np.nan)
        # warnings (the time to act) first, then declining, healthy; by revenue at risk within each
        scored["_stage_rank"] = scored["stage"].map({s: i for i, s in enumerate(STAGES)}).fillna(len(STAGES))
        self.scored = scored.sort_values(["_stage_rank", "revenue_at_risk", "risk", "account_id"],
                                         ascending=[True, False, False, True], na_position="last", ignore_index=True)
        self.unscorable = latest[latest["status"] != "scored"].sort_values(
            ["revenue_12m", "account_id"], ascending=[False, True], na_position="last", ignore_index=True)
        self.top = len(self.scored) if top is None else min(top, len(self.scored))
        self.history = _where(frame, frame["status"] == "scored")
        self.data = data
        self.frame = frame

    # what changed since the previous scoring (kamrisk._report._changes) -------------------------------------
    def changes(self) -> dict[str, Any] | None:
        from ._changes import changes_view

        return changes_view(self.frame, self.lang, self.family, self.stage)

    # names ------------------------------------------------------------------------------------------------
    def family(self, fid: str) -> str:
        return self.catalog.family_name(fid, self.lang) if fid else ""

    def family_description(self, fid: str) -> str:
        family = self.catalog.families.get(fid) if fid else None
        return family.description[self.lang] if family is not None else ""

    def family_action(self, fid: str) -> str:
        return self.catalog.action_text(fid, self.lang) if fid in self.catalog.families else ""

    def count(self, key: str, n: int) -> str:
        """``{key}_one`` or ``{key}_n`` filled with ``n`` (thousands separators)."""
        return self.ui[f"{key}_one" if n == 1 else f"{key}_n"].format(n=f"{n:,}")

    def model_line(self) -> str:
        """Which model and which question the scores answer ("kamrisk v3: full defection within 180 days")."""
        latest = self.scored if len(self.scored) else self.unscorable
        if not {"model_version", "horizon_days", "label_kind"} <= set(latest.columns) or not len(latest):
            return ""
        row = latest.iloc[0]
        if _missing(row["horizon_days"]) or _missing(row["model_version"]) or not str(row["model_version"]):
            return ""
        kind = self.ui.get(f"label_{row['label_kind']}", str(row["label_kind"]))
        version = str(row["model_version"])  # "kamrisk v3", "run 3f2a9c1d" or "unregistered"
        if version == "unregistered" or version.startswith("run "):
            version = self.ui["model_unregistered"] if version == "unregistered" else \
                self.ui["model_run"].format(run=version.removeprefix("run "))
        return self.ui["model_line"].format(version=version, kind=kind, days=int(row["horizon_days"]))

    def stage(self, stage: str) -> str:
        return self.ui.get(f"stage_{stage}", stage) if stage else ""

    def band(self, band: str) -> str:
        return self.ui.get(f"band_{band}", self.ui["band_none"])

    # portfolio --------------------------------------------------------------------------------------------
    def portfolio(self) -> dict[str, Any]:
        s = self.scored
        revenue = float(s["revenue_12m"].sum())
        at_risk = float(s["revenue_at_risk"].sum())
        bands = []
        for band in BANDS:
            rows = s[s["band"] == band]
            value = float(rows["revenue_at_risk"].sum())
            bands.append({"id": band, "label": self.band(band), "count": len(rows), "value": _money(value),
                          "accounts": self.count("accounts", len(rows)),
                          "share": 0.0 if at_risk <= 0 else round(100 * value / at_risk, 2)})
        return {
            "scored": f"{len(s):,}", "unscorable": f"{len(self.unscorable):,}", "revenue": _money(revenue),
            "at_risk": _money(at_risk),
            "at_risk_share": self.ui["of_revenue"].format(share=_percent(at_risk / revenue if revenue > 0 else 0)),
            "bands": bands, "drivers": self.drivers(),
        }

    def drivers(self) -> dict[str, Any] | None:
        """Sign families that drive risk across the book: share of positive contributions, or cause counts."""
        s = self.scored
        causes = s.loc[s["cause_family"] != "", "cause_family"].value_counts()
        columns = [c for c in self.contrib if c.removeprefix("contrib_") in self._reason_families]
        positive = s[columns].clip(lower=0).sum() if columns else pd.Series(dtype=float)
        if positive.sum() > 0:
            share = positive / positive.sum()
            items = [(c.removeprefix("contrib_"), float(v)) for c, v in share.items() if v > 0]
            note, as_share = self.ui["drivers_note"], True
        elif len(causes):
            items = [(fid, float(n)) for fid, n in causes.items()]
            note, as_share = self.ui["drivers_note_counts"], False
        else:
            return None
        items.sort(key=lambda item: -item[1])
        rows = []
        for fid, value in items:
            count = int(causes.get(fid, 0))
            rows.append({"id": fid, "label": self.family(fid), "title": self.family_description(fid), "value": value,
                         "text": _percent(value) if as_share else f"{int(value):,}",
                         "cause": self.ui["drivers_cause"].format(n=f"{count:,}") if as_share and count else ""})
        return {"note": note, "chart": _drivers_chart(rows)}

    # table ------------------------------------------------------------------------------------------------
    def rows(self) -> dict[str, Any]:
        """The accounts table as compact JSON for ``report.js`` to draw: about 60 bytes an account.

        ``{"top": cards drawn, "owner"/"segment"/"region"/"reason"/"cause": [distinct texts], "stage"/"band":
        [[value, label]], "rows": [[id, name, owner, segment, region, stage, band, risk, risk %, change,
        change shown, revenue, revenue at risk, reason, cause], ...]}`` in table order; text columns hold an
        index into their list, ``name`` is ``""`` when it is the id, missing numbers are ``null``. Numbers
        are sent as shown (rounded as the cards and the workbook round them), so the browser formats nothing
        itself but thousands separators. Returns ``{"count": rows, "json": markup}``; the JSON is safe inside
        a ``<script>`` element (``<``, ``>``, ``&`` escaped).
        """
        import json

        from markupsafe import Markup

        s = self.scored
        n = len(s)

        def codes(values: pd.Series) -> tuple[list[int], list[str]]:
            text = values.fillna("").astype(str)
            index, distinct = pd.factorize(text, sort=False)
            return index.tolist(), [str(v) for v in distinct]

        def numbers(values: pd.Series, digits: int) -> list[float | int | None]:
            values = pd.to_numeric(values, errors="coerce").astype(float).round(digits)
            out = values.astype(object).where(values.notna(), None).tolist()
            return [int(v) if v is not None and digits == 0 else v for v in out]

        def shown(values: pd.Series, scale: float) -> list[int | None]:
            # the integer Python's f"{x:.0f}" prints (round half to even on the exact value), as _percent does
            values = pd.to_numeric(values, errors="coerce").astype(float) * scale
            return [None if math.isnan(v) else int(f"{v:.0f}") for v in values.tolist()]

        ids = s["account_id"].astype(str)
        names = s["name"].fillna("").astype(str)
        names = names.where(names != ids, "")
        owner, owners = codes(s["owner"])
        segment, segments = codes(s["segment"])
        region, regions = codes(s["region"])
        reason, reasons = codes(s["reason_1"])
        cause_ids = s["cause_family"].fillna("").astype(str)
        cause, causes = codes(cause_ids)
        stage, stages = codes(s["stage"])
        band, bands = codes(s["band"])
        change = s["risk_change"]
        columns = [
            ids.tolist(), names.tolist(), owner, segment, region, stage, band,
            numbers(s["risk"], 4), shown(s["risk"], 100), numbers(change, 4),
            [None if math.isnan(v) else round(v) for v in pd.to_numeric(change).astype(float).tolist()],
            shown(s["revenue_12m"], 1), shown(s["revenue_at_risk"], 1), reason, cause,
        ]
        table = {
            "top": self.top, "owner": owners, "segment": segments, "region": regions, "reason": reasons,
            "cause": [self.family(fid) for fid in causes],
            "stage": [[v, self.stage(v)] for v in stages], "band": [[v, self.band(v)] for v in bands],
            "rows": [list(row) for row in zip(*columns, strict=True)] if n else [],
        }
        text = json.dumps(table, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        for char, code in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"), ("\u2028", "\\u2028"),
                           ("\u2029", "\\u2029")):
            text = text.replace(char, code)
        return {"count": n, "json": Markup(text)}

    def filters(self) -> list[dict[str, Any]]:
        out = []
        for key in FILTERS:
            values = self.scored[key]
            if key == "band":
                options = [{"value": b, "label": self.band(b)} for b in BANDS if (values == b).any()]
            elif key == "stage":
                options = [{"value": s, "label": self.stage(s)} for s in STAGES if (values == s).any()]
                if not options:  # scores from before stages: no filter
                    continue
            else:
                options = text_options(values, self.ui["not_set"])
            out.append({"key": key, "label": self.ui[f"col_{key}"], "options": options})
        return out

    # cards ------------------------------------------------------------------------------------------------
    def cards(self) -> list[dict[str, Any]]:
        chosen = self.scored.head(self.top)
        revenue_charts = self._revenue_charts(chosen["account_id"])
        risk_charts = self._risk_charts(chosen["account_id"])
        reason_columns = [c for c in self.contrib if c.removeprefix("contrib_") in self._reason_families]
        positive = chosen[reason_columns].clip(lower=0) if reason_columns else pd.DataFrame(index=chosen.index)
        total = positive.sum(axis=1)
        cards = []
        for (index, r), rank in zip(chosen.iterrows(), range(1, self.top + 1), strict=True):
            cards.append(self._card(r, rank, positive.loc[index], float(total.loc[index]),
                                    revenue_charts.get(r["account_id"]), risk_charts.get(r["account_id"])))
        return cards

    def _card(self, r: pd.Series, rank: int, positive: pd.Series, total: float,
              revenue_chart: dict[str, Any] | None, risk_chart: dict[str, Any] | None) -> dict[str, Any]:
        ui = self.ui
        reasons = []
        for k in range(1, MAX_REASONS + 1):
            text, fid = r[f"reason_{k}"], r[f"reason_family_{k}"]
            if not text and not fid:
                continue
            share = positive.get(f"contrib_{fid}", np.nan) / total if total > 0 else np.nan
            reasons.append({"rank": k, "text": text or self.family_description(fid), "family": self.family(fid),
                            "family_id": fid, "title": self.family_description(fid),
                            "share": None if _missing(share) else round(100 * float(share), 1),
                            "share_text": "" if _missing(share) else ui["reason_weight"].format(share=_percent(share))})
        actions = []
        cause = r["cause_family"]
        first = self.family_action(cause) or r["action"]
        if first:
            actions.append({"family": self.family(cause), "text": first, "main": True, "worth": ""})
        for fid in dict.fromkeys(x["family_id"] for x in reasons):
            if fid and fid != cause and fid in self._reason_families and self.family_action(fid):
                actions.append({"family": self.family(fid), "text": self.family_action(fid), "main": False,
                                "worth": ""})
        # what-if lines only for the families the card names (its reasons and actions), the most worth first
        named = {x["family_id"] for x in reasons} | {cause}
        gains = []
        for column in self.whatif:
            gain = r[column]
            fid = column.removeprefix("whatif_")
            if fid in named and not _missing(gain) and gain >= _MIN_WHATIF:
                points = _round_half_up(100 * float(gain))
                gains.append({"value": float(gain), "points": points, "family_id": fid,
                              "text": ui["whatif_line"].format(what=self.catalog.family_fix(fid, self.lang),
                                                               points=self.count("points", points))})
        gains.sort(key=lambda g: -g["value"])
        if actions and actions[0]["main"]:  # the first action shows what it is worth, or why nothing
            mine = [g for g in gains if g["family_id"] == cause]
            actions[0]["worth"] = mine[0]["text"] if mine else str(r.get("why_no_whatif", "") or "")
        previous = _date(r["prev_as_of"]) if not pd.isna(r["prev_as_of"]) else ""
        name = r["name"] or r["account_id"]
        return {
            "anchor": f"card-{rank}", "rank": rank, "id": r["account_id"], "name": name,
            "show_id": name != r["account_id"], "band": r["band"], "band_label": self.band(r["band"]),
            "stage": r["stage"], "stage_label": self.stage(r["stage"]),
            "owner": r["owner"], "segment": r["segment"], "region": r["region"], "channel": r["channel"],
            "meta": [(ui[f"col_{k}"], r[k]) for k in ("owner", "segment", "region", "channel") if r[k]],
            "risk": _percent(r["risk"]), "revenue": _money(r["revenue_12m"]), "rar": _money(r["revenue_at_risk"]),
            "risk_change": ui["risk_change"].format(change=_points(r["risk_change"]), date=previous)
            if previous and not _missing(r["risk_change"]) else "",
            "risk_trend": "" if _missing(r["risk_change"]) else ("up" if r["risk_change"] >= 0.5 else
                                                                  "down" if r["risk_change"] <= -0.5 else "flat"),
            "revenue_change": ui["revenue_change"].format(change=f"{r['revenue_change']:+.0%}", date=previous)
            if previous and not _missing(r["revenue_change"]) else "",
            "reasons": reasons, "actions": actions, "gains": gains,
            "revenue_chart": revenue_chart, "risk_chart": risk_chart,
        }

    def _revenue_charts(self, ids: pd.Series) -> dict[str, dict[str, Any]]:
        """Monthly revenue of the last 24 months before the report date, per account (from ``data.orders``)."""
        if self.data is None or len(ids) == 0:
            return {}
        orders = self.data.orders
        date = pd.Timestamp(self.date)
        months = pd.period_range(end=(date - pd.Timedelta(days=1)).to_period("M"), periods=_REVENUE_MONTHS, freq="M")
        account = orders["account_id"].astype(str)
        when = pd.to_datetime(orders["order_date"])
        keep = account.isin(set(ids)) & (when < date) & (when >= months[0].start_time)
        sums = (orders.loc[keep, "amount"].astype(float)
                .groupby([account[keep], when[keep].dt.to_period("M")]).sum())
        table = sums.unstack(fill_value=0.0) if len(sums) else pd.DataFrame()
        table = table.reindex(index=list(ids), columns=months, fill_value=0.0).fillna(0.0)
        partial = date != date.to_period("M").start_time
        return {account_id: _revenue_chart(values, months, partial)
                for account_id, values in zip(table.index, table.to_numpy(), strict=True)}

    def _risk_charts(self, ids: pd.Series) -> dict[str, dict[str, Any]]:
        history = self.history[self.history["account_id"].isin(set(ids))].sort_values("as_of")
        history = history.groupby("account_id").tail(_RISK_POINTS)
        charts = {}
        for account_id, rows in history.groupby("account_id", sort=False):
            if len(rows) >= 2:
                charts[account_id] = _risk_chart(list(rows["as_of"]), list(rows["risk"]), list(rows["band"]))
        return charts

    def unscorable_rows(self) -> list[dict[str, Any]]:
        u = self.unscorable
        return [{"id": i, "name": name, "owner": owner, "reason": reason} for i, name, owner, reason in
                zip(*(u[c].tolist() for c in ("account_id", "name", "owner", "status_reason")), strict=True)]


# -- rendering -------------------------------------------------------------------------------------------------
def text_options(values: pd.Series, not_set: str) -> list[dict[str, str]]:
    """A filter's options for a free-text column: its values in order, then "(not set)" when some are empty."""
    options = [{"value": v, "label": v} for v in sorted(set(values.unique().tolist()) - {""})]
    if (values == "").any():
        options.append({"value": "", "label": not_set})
    return options


def page_assets(script_name: str = "report.js") -> tuple[Any, str, str, str]:
    """What every kamrisk page shares (the report and the review): the template environment, the script,
    the style sheet, and the script's sha256 for the page's content security policy.

    ``report.js`` draws the report's big accounts table from compact JSON; ``table.js`` sorts and filters a
    table already in the page (the review's, a few hundred rows at most). Both start from ``controls.js``
    (the sort order of a header click, missing values last, the wiring of headers, filters and search),
    inlined before them in the one script the policy allows."""
    import jinja2

    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(_TEMPLATES), autoescape=True,
                                     undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    script = "\n".join((_TEMPLATES / name).read_text(encoding="utf-8") for name in ("controls.js", script_name))
    style = (_TEMPLATES / "report.css").read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return environment, script, style, digest


def render_html(view: _View) -> str:
    """The report's HTML for a computed view."""
    from .. import __version__

    environment, script, style, digest = page_assets()
    ui = view.ui
    return environment.get_template("report.html.j2").render(
        lang=view.lang, ui=ui, date=_date(view.date),
        previous=ui["previous"].format(date=_date(view.previous_date)) if view.previous_date is not None else "",
        model=view.model_line(),
        changes=view.changes(),
        portfolio=view.portfolio(), rows=view.rows(), filters=view.filters(), cards=view.cards(),
        cards_note=ui["cards_note_all"] if view.top == len(view.scored) else ui["cards_note"].format(n=view.top),
        unscorable=view.unscorable_rows(), footer=ui["footer"].format(version=__version__),
        script=script, style=style, script_hash=f"sha256-{digest}",
        js_ui={"showing": ui["showing"], "lang": view.lang},
    )


def write_report(
    scores: pd.DataFrame,
    out_html: str | Path,
    *,
    xlsx: str | Path | None = None,
    lang: str = "en",
    top: int | None = DEFAULT_TOP,
    data: Any = None,
    catalog: Any = None,
) -> Path:
    """Write the account team's report of a scores table: one self-contained HTML file (and an Excel workbook).

    Parameters
    ----------
    scores : DataFrame
        As written by ``kamrisk score``: one row per account and as_of. The latest as_of is the report's
        date; earlier rows give the risk and revenue trend.
    out_html : path
        The HTML file to write (``.html``).
    xlsx : path, optional
        Also write an Excel workbook (``.xlsx``): sheets ``Portfolio`` and ``Reasons``.
    lang : {"en", "zh"}
        Language of the report's own text (the reasons keep the language they were scored in).
    top : int or None, default 200
        Cards for this many accounts with the most revenue at risk; ``None`` gives every scored account a
        card. The table lists every account whatever ``top`` is; the cap keeps the file's size bounded.
    data : AccountData, optional
        The book's data: draws each card's monthly revenue over the last 24 months.
    catalog : Catalog, optional
        The sign catalog the scoring model was trained with (``trained.catalog``): family names, what-if
        phrases and actions come from it. The shipped catalog by default.

    Returns
    -------
    Path
        ``out_html``.

    Raises
    ------
    DataError
        When ``scores`` breaks the scores contract (names the missing columns).
    OptionError
        For an unknown language, a negative ``top`` or an output path of another format.

    Examples
    --------
    >>> scores = kamrisk.read_scores("scores.parquet")  # doctest: +SKIP
    >>> write_report(scores, "report.html", xlsx="report.xlsx", lang="zh", top=50)  # doctest: +SKIP
    """
    from .._catalog import load_catalog

    lang = check_lang(lang)
    if top is not None and (isinstance(top, bool) or not isinstance(top, int | np.integer) or top < 0):
        raise OptionError(f"top must be a whole number of accounts (0 or more), got {top!r}.")
    out_html = Path(out_html)
    if out_html.suffix.lower() not in (".html", ".htm"):
        raise OptionError(f"{out_html}: the report is an HTML file; give a path ending in .html.")
    if xlsx is not None and Path(xlsx).suffix.lower() != ".xlsx":
        raise OptionError(f"{xlsx}: the workbook is an Excel file; give a path ending in .xlsx.")
    frame = prepare_scores(scores)
    view = _View(frame, lang, None if top is None else int(top), data,
                 catalog if catalog is not None else load_catalog())
    html = render_html(view)
    out_html.parent.mkdir(parents=True, exist_ok=True)
    out_html.write_text(html, encoding="utf-8")
    if xlsx is not None:
        from ._excel import write_workbook

        write_workbook(view, Path(xlsx))
    return out_html
