"""Focused tests for the classes of bug a planted-mutation run slipped past the suite (issue 13).

Each test fails when its bug is planted (checked by hand): a complaint dated on as_of counted, the
resolved-before-raised repair removed, a better model never becoming champion, PSI on the wrong columns,
reasons worded from the weakest sign, a catalog direction flipped, the 12-month revenue read from 90 days,
a reason rendered unescaped in the report, and the calibration-error and top-10% formulas.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import kamrisk
from kamrisk import AccountData, build_features, load_catalog
from kamrisk._metrics import evaluate, expected_calibration_error

T = pd.Timestamp("2024-07-01")


def _days(n: int) -> pd.Timestamp:
    return T - pd.Timedelta(days=n)


def _book(events: list[tuple]) -> AccountData:
    orders = pd.DataFrame([("A", _days(d), a) for d, a in [(400, 100.0), (200, 1000.0), (100, 20.0), (90, 500.0),
                                                          (60, 300.0), (1, 4000.0), (0, 50000.0)]],
                          columns=["account_id", "order_date", "amount"])
    frame = pd.DataFrame(events, columns=["account_id", "event_date", "event_type", "resolved_date"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", kamrisk.DataWarning)
        return AccountData(orders=orders, events=frame)


def test_twelve_month_revenue_is_the_365_days_before_as_of():
    features = build_features(_book([]), [T]).loc[("A", T)]
    assert features["revenue_365d"] == 1000 + 20 + 500 + 300 + 4000  # not the order on as_of, not 400 days back
    assert features["revenue_90d"] == 500 + 300 + 4000  # [as_of - 90 days, as_of): day 90 is in, day 0 out
    assert features["revenue_change_90d"] == pytest.approx(4800 / 20 - 1)  # against [as_of - 180, as_of - 90)


def test_a_complaint_dated_on_as_of_is_not_yet_known():
    book = _book([("A", T, "complaint", pd.NaT), ("A", _days(1), "complaint", pd.NaT)])
    assert build_features(book, [T]).loc[("A", T), "open_complaints"] == 1


def test_an_event_resolved_before_it_was_raised_does_not_leak_from_after_as_of():
    """Raised after as_of, 'resolved' before it: repaired to resolved on its own date, so at as_of it is
    neither open nor a closure that cancels an open complaint."""
    book = _book([("A", _days(-10), "complaint", _days(30)), ("A", _days(20), "complaint", pd.NaT),
                  ("A", _days(100), "complaint", _days(50))])  # raised and resolved before as_of: closed
    events = book.events
    assert (events["resolved_date"].isna() | (events["resolved_date"] >= events["event_date"])).all()
    assert build_features(book, [T]).loc[("A", T), "open_complaints"] == 1


def test_expected_calibration_error_by_hand():
    y = np.array([0, 1, 1, 0, 1])
    p = np.array([0.05, 0.15, 0.95, 0.85, 0.12])
    # bins: 0 -> {0.05: y 0}; 1 -> {0.15, 0.12: y 1, 1}; 8 -> {0.85: y 0}; 9 -> {0.95: y 1}
    by_hand = (abs(0 - 0.05) + abs(2 - 0.27) + abs(0 - 0.85) + abs(1 - 0.95)) / 5
    assert expected_calibration_error(y, p) == pytest.approx(by_hand)
    assert expected_calibration_error(np.array([1, 0]), np.array([1.0, 0.0])) == 0.0


def test_top_decile_lift_and_revenue_recall_by_hand():
    score = np.arange(20, dtype=float)[::-1]  # row 0 riskiest; the top 10% is rows 0 and 1
    y = np.zeros(20)
    y[[0, 5, 6, 7]] = 1
    revenue = np.ones(20)
    revenue[0], revenue[5] = 30.0, 10.0
    metrics = evaluate(y, score / 20, revenue)
    assert metrics["lift_top10"] == pytest.approx((1 / 2) / (4 / 20))
    assert metrics["revenue_recall_top10"] == pytest.approx(30 / (30 + 10 + 1 + 1))


def test_a_better_model_becomes_champion(trained):
    from kamrisk._tracking import ChampionRecord
    from kamrisk._train import _decide_alias

    metric = trained.recipe.backtest.metric
    new = trained.backtest.metric(metric)
    for old, alias in ((new - 0.05, "champion"), (new + 0.05, "challenger")):
        record = ChampionRecord("3", {metric: old}, trained.backtest.signature, trained.recipe)
        assert _decide_alias(trained, None, record, trained.catalog)[0] == alias
    brier = trained.recipe.with_overrides(backtest={"metric": "brier"})
    assert brier.backtest.metric == "brier"


def test_reasons_are_worded_from_the_strongest_sign_of_a_family():
    from kamrisk._explain import _best_wordable

    catalog = load_catalog()
    family = "channel_conflict"
    signs = [s.id for s in catalog.signs if s.family == family][:3]
    contrib = pd.DataFrame([[0.1, 0.9, -0.5], [0.7, 0.2, 0.3], [-0.1, -0.2, -0.3]], columns=signs)
    ok = pd.DataFrame(True, index=contrib.index, columns=signs)
    chosen, has = _best_wordable(contrib, ok, catalog)[family]
    assert list(chosen[:2]) == [signs[1], signs[0]] and list(has) == [True, True, False]
    ok.loc[0, signs[1]] = False  # the strongest sign cannot be worded: the next one that raises the risk
    assert _best_wordable(contrib, ok, catalog)[family][0][0] == signs[0]


def test_catalog_directions_are_the_yaml_directions():
    catalog = load_catalog()
    folder = Path(kamrisk.__file__).parent.parent / "features"
    written = {}
    for path in folder.glob("*.yaml"):
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for sign in raw.get("signs", []) if isinstance(raw, dict) else []:
            written[sign["id"]] = sign["direction"]
    assert written and {k: catalog.directions[k] for k in written} == written
    assert catalog.directions["open_complaints"] == 1 and catalog.directions["revenue_change_90d"] == -1


def test_drift_flags_the_shifted_feature_only():
    from kamrisk._score import population_stability

    rng = np.random.default_rng(0)
    train = pd.DataFrame({"steady": rng.normal(size=2000), "shifted": rng.normal(size=2000)})
    now = pd.DataFrame({"steady": rng.normal(size=2000), "shifted": rng.normal(2.0, 1.0, size=2000)})
    psi = population_stability(train, now).set_index("feature")["psi"]
    assert psi["shifted"] > 0.25 > 0.05 > psi["steady"]
    assert population_stability(train, train)["psi"].abs().max() < 1e-9


def test_a_reason_text_is_escaped_in_the_report(tmp_path):
    from test_report import make_scores

    from kamrisk._report import write_report

    scores = make_scores()
    scores["reason_1"] = scores["reason_1"].astype(object)
    first = scores.index[scores["reason_1"].astype(str) != ""][0]
    scores.loc[first, "reason_1"] = "<img src=x onerror=alert(1)> orders down"
    html = write_report(scores, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt; orders down" in html


def test_stage_rules_by_hand():
    """The rules batch scoring and REST share: lapsed beats declining beats the band."""
    from kamrisk._model import risk_band
    from kamrisk._stages import stage

    quarter = 100 * 365 / 90  # a yearly revenue whose quarterly pace is 100
    X = pd.DataFrame({
        "days_since_last_order": [91.0, 90.0, 100.0, 10.0, 10.0, 10.0, 10.0],
        "typical_reorder_gap_days": [10.0, 10.0, 40.0, 10.0, 10.0, 10.0, np.nan],
        "revenue_90d": [0.0, 100.0, 100.0, 59.99, 60.01, 100.0, 100.0],
        "revenue_365d": [quarter] * 7,
    })
    band = risk_band(np.array([0.9, 0.9, 0.9, 0.9, 0.5, 0.2, 0.199]), {"high": 0.5, "medium": 0.2})
    assert list(band) == ["high"] * 5 + ["medium", "low"]
    # 91 > max(90, 3 x 10): lapsed; 90 is not; 100 <= 3 x 40 is not; 59.99 < 60% of the pace: declining
    assert list(stage(X, band)) == ["lapsed", "warning", "warning", "declining", "warning", "warning", "healthy"]


def test_scoring_rows_follows_the_batch_rules(trained):
    """What REST and Spark answer through: a lapsed row is unscorable with its reason, no risk, no band."""
    example = trained.input_example(3)
    example.loc[0, "days_since_last_order"] = 400.0
    out = trained.trained.predict_frame(example)
    assert list(out["status"]) == ["unscorable", "scored", "scored"]
    assert out.loc[0, "status_reason"] == "already defected: no order for 400 days"
    assert np.isnan(out.loc[0, "risk"]) and out.loc[0, "band"] == "" and out.loc[0, "reason_1"] == ""
    assert out.loc[0, "stage"] == "lapsed" and set(out.loc[1:, "band"]) <= {"high", "medium", "low"}
