"""Reasons an account manager trusts: every template, filled with real rows of a simulated book, reads as a
sign of leaving on its risk-raising side, with the account's own numbers, in correct English and Chinese."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from kamrisk import explain, load_catalog
from kamrisk._explain import STALE_DAYS, wordable

# what a reason must never say, per language: the name of the defect and a pattern that finds it
DEFECTS = {
    "en": {
        "placeholder or missing value": r"n/a|\{|\}|\bnan\b|None",
        "plain level": r"^(?:Revenue of|Usually orders every|\d[\d,]* orders? in|\d[\d,]* product lines? bought|"
                       r"A customer for)",
        "a count of zero": r"(?<![\d.,])0 [a-z]",
        "a plural after 1": r"(?<![\d.,])1 (?!vs\b)(?:[a-z-]+ ){0,2}(?!vs\b)[a-z-]+s(?![a-z-])",
        "a singular after many": r"(?<![\d.,])(?:0|[2-9]|\d[\d,]+) (?:complaint|day|point|visit|order|account|"
                                 r"notice|offer|escalation|dispute|buyer|change|case|launch|move)\b",
        "a rise given as a risk": r"^(?!Complaints up)(?:.*)\b(?:up|flat)\b",
        "a change of nothing": r"down (?:by )?0(?:%|(?![.\d]))|\b0\.0 times",
        "a fall beyond 100% not named as returns": r"^(?!.*returns).*down (?:10[1-9]|1[1-9]\d|[2-9]\d\d|\d{4,})%",
        "all visits at executive level": r"Only 100%",
    },
    "zh": {
        "placeholder or missing value": r"不详|\{|\}|nan|None",
        "plain level": r"通常每|营收[\d,]+$|^近\d+(?:天|个月)下单\d|^近\d+(?:天|个月)采购\d|^已合作",
        "a count of zero": r"(?<![\d.])0(?:项|次|家|条|起|个|位|天)",
        "a rise given as a risk": r"^(?!投诉)(?:.*)(?:上升|持平)",
        "a change of nothing": r"下降0(?:%|分|条)",
        "a fall beyond 100% not named as returns": r"^(?!.*退货).*下降(?:10[1-9]|1[1-9]\d|[2-9]\d\d|\d{4,})%",
        "all visits at executive level": r"仅100%",
    },
}
_STALE = {"en": r"^(?!Oldest open)(?:.*?)(\d[\d,]*) days? ago", "zh": r"^(?!最早一项)(?:.*?)(\d+)天前"}


def defects(texts: pd.Series, lang: str) -> dict[str, list[str]]:
    """Each defect found in ``texts``, with up to three examples."""
    texts = texts[texts != ""]
    found = {}
    for name, pattern in DEFECTS[lang].items():
        hit = texts.str.contains(pattern, regex=True)
        if hit.any():
            found[name] = list(texts[hit].head(3))
    days = texts.str.extract(_STALE[lang])[0].str.replace(",", "").astype(float)
    stale = days > STALE_DAYS
    if stale.any():
        found["an event older than its window"] = list(texts[stale.to_numpy()].head(3))
    return found


@pytest.fixture(scope="module")
def rows(trained):
    return trained.X.sample(2500, random_state=1)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_template_worded_on_real_rows_has_no_defect(trained, rows, lang):
    catalog, ok = trained.catalog, wordable(rows, trained.catalog, trained.reference)
    swept = 0
    for sign in ok.columns:
        where = ok[sign].to_numpy()
        if not where.any():
            continue
        texts = pd.Series(catalog.reason_texts(sign, rows[where], lang=lang))
        assert not defects(texts, lang), (sign, defects(texts, lang))
        swept += 1
    assert swept >= 40  # most signs of the catalog were worded on some row of the book


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_reasons_of_a_scored_book_have_no_defect(trained, rows, lang):
    out = explain(trained.model, rows, trained.catalog, lang=lang, reference=trained.reference)
    texts = pd.concat([out[f"reason_{k}"] for k in (1, 2, 3)], ignore_index=True)
    assert (texts != "").sum() > len(rows)
    assert not defects(texts, lang)
    assert (out["reason_1"] != "").mean() > 0.8


def test_levels_and_healthy_values_are_never_worded(trained, rows):
    ok = wordable(rows, trained.catalog, trained.reference)
    for sign in ("revenue_90d", "revenue_365d", "order_count_90d", "typical_reorder_gap_days", "product_lines_90d"):
        assert not ok[sign].any(), sign
    # a rise, a count of 0, a missing value are not reasons; a fall, a count, a recent event are
    row = rows.iloc[[0, 0, 0]].copy()
    row["revenue_change_90d"] = [0.4, np.nan, -0.3]
    row["complaints_365d"] = [0.0, np.nan, 9.0]
    row["satisfaction_change"] = [1.0, 0.0, -1.0]
    row["days_since_retender_notice"] = [700.0, np.nan, 200.0]
    row["satisfaction_last"] = [1.0, 1.0, 1.0]
    ok = wordable(row, trained.catalog, trained.reference)
    for sign in ("revenue_change_90d", "complaints_365d", "satisfaction_change", "days_since_retender_notice"):
        assert ok[sign].tolist() == [False, False, True], sign


def test_a_family_with_nothing_honest_to_say_gives_its_slot_to_the_next(trained, rows):
    out = explain(trained.model, rows, trained.catalog, lang="en", reference=trained.reference)
    ok = wordable(rows, trained.catalog, trained.reference)
    for _, r in out.head(400).iterrows():
        families = [r[f"reason_family_{k}"] for k in (1, 2, 3) if r[f"reason_family_{k}"]]
        assert len(families) == len(set(families))
        for family in families:
            assert r[f"contrib_{family}"] > 0
    # a family whose positive contribution comes only from signs that cannot be worded is left out
    fam = trained.catalog.family_of
    for index, r in out.head(400).iterrows():
        for family in [r[f"reason_family_{k}"] for k in (1, 2, 3) if r[f"reason_family_{k}"]]:
            assert ok.loc[index, [c for c in ok.columns if fam(c) == family]].any()


@pytest.mark.parametrize(("sign", "row", "lang", "text"), [
    ("escalations_180d", {"escalations_180d": 1.0}, "en", "1 escalation in the last 180 days"),
    ("escalations_180d", {"escalations_180d": 2.0}, "en", "2 escalations in the last 180 days"),
    ("late_deliveries_180d", {"late_deliveries_180d": 1.0}, "en", "1 late delivery in the last 180 days"),
    ("open_complaints", {"open_complaints": 1.0, "oldest_open_complaint_days": 1.0}, "en",
     "1 complaint open, the oldest for 1 day"),
    ("satisfaction_change", {"satisfaction_change": -1.0, "satisfaction_last": 3.0}, "en",
     "Satisfaction down by 1 point to 3.0"),
    ("satisfaction_change", {"satisfaction_change": -2.0, "satisfaction_last": 2.0}, "zh", "满意度下降2分，现为2.0分"),
    ("visits_90d", {"visits_90d": 0.0}, "en", "No visits in the last 90 days"),
    ("visits_90d", {"visits_90d": 1.0}, "en", "Only 1 visit in the last 90 days"),
    ("visits_90d", {"visits_90d": 2.0}, "en", "Only 2 visits in the last 90 days"),
    ("visits_90d", {"visits_90d": 0.0}, "zh", "近90天没有拜访"),
    ("merger_acquisition_365d", {"merger_acquisition_365d": 1.0}, "en",
     "1 merger or acquisition in the last 12 months"),
    ("revenue_change_90d", {"revenue_change_90d": -1.04}, "en",
     "Revenue down 104% vs the prior 90 days (returns and cancellations exceeded new orders)"),
    ("revenue_change_90d", {"revenue_change_90d": -1.04}, "zh", "近90天营收较前90天下降104%（退货及取消超过新订单）"),
    ("revenue_change_90d", {"revenue_change_90d": -1.0}, "en", "Revenue down 100% vs the prior 90 days"),
])
def test_plurals_and_returns_read_naturally(sign, row, lang, text):
    assert load_catalog().reason_text(sign, row, lang) == text


def test_defect_patterns_catch_what_the_issue_saw():
    seen = pd.Series(["Average order size of the last 90 days against the 90 days before: n/a",
                      "Revenue of 3,406,843 in the last 90 days", "Usually orders every 30 days",
                      "Revenue down 104% vs the prior 90 days", "Re-tender announced 642 days ago",
                      "Satisfaction up by 1 points to 4.0", "0 complaints raised in the last 90 days",
                      "Satisfaction down by 1 points to 3.0"])
    found = defects(seen, "en")
    assert set(found) == {"placeholder or missing value", "plain level", "a fall beyond 100% not named as returns",
                          "an event older than its window", "a rise given as a risk", "a count of zero",
                          "a plural after 1"}
    assert len(re.findall("points", " ".join(found["a plural after 1"]))) == 2
