"""Evaluation against the simulator: every figure checked by hand on a tiny book, then on a simulated one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import kamrisk
from kamrisk.sim import (
    LeadTimes,
    SimulatedBook,
    early_catch,
    early_warning_auc,
    evaluation,
    lead_times,
    oracle_scores,
    reason_accuracy,
)

T1, T2, T3, T4 = (pd.Timestamp(d) for d in ("2025-01-01", "2025-02-01", "2025-03-01", "2025-04-01"))
D = pd.Timestamp


def _truth() -> pd.DataFrame:
    """A decides 45 days after T1, B before T1, C 134 days after T1 (103 after T2), E and F within 90 days of
    both T1 and T2 (E for no planted reason); G's partial defection showed before T1; D never decides."""
    rows = [
        ("A", "2025-02-15", "2025-04-01", "full", "channel_conflict"),
        ("B", "2024-12-01", "2025-01-20", "full", "procurement_change"),
        ("C", "2025-05-15", "2025-07-01", "partial", "relationship"),
        ("E", "2025-03-10", "2025-03-20", "full", "none"),
        ("F", "2025-03-01", "2025-05-01", "partial", "competitor_pressure"),
        ("G", "2024-10-01", "2024-12-01", "partial", "strategy_shift"),
    ]
    frame = pd.DataFrame(rows, columns=["account_id", "decided_on", "visible_on", "kind", "cause"])
    return frame.assign(decided_on=pd.to_datetime(frame["decided_on"]), visible_on=pd.to_datetime(frame["visible_on"]))


# account, as_of, model, recency, p_decide_90d, band, cause_family, oracle_cause
_ROWS = [
    ("A", T1, 0.90, 1.0, 0.50, "high", "channel_conflict", "channel_conflict"),
    ("B", T1, 0.95, 9.0, 0.00, "high", "procurement_change", "procurement_change"),
    ("C", T1, 0.70, 4.0, 0.10, "high", "relationship", "relationship"),
    ("D", T1, 0.10, 0.5, 0.05, "low", "", "relationship"),
    ("E", T1, 0.20, np.nan, 0.25, "medium", "", "contagion"),
    ("F", T1, 0.85, 1.5, 0.45, "high", "procurement_change", "competitor_pressure"),
    ("A", T2, 0.80, 2.0, 0.60, "medium", "channel_conflict", "channel_conflict"),
    ("C", T2, 0.30, np.nan, 0.30, "high", "relationship", "relationship"),
    ("D", T2, 0.40, 0.2, 0.02, "low", "", "relationship"),
    ("E", T2, 0.60, 3.0, 0.70, "high", "channel_conflict", "contagion"),
    ("F", T2, 0.50, 2.5, 0.65, "high", "competitor_pressure", "competitor_pressure"),
]


def _predictions() -> pd.DataFrame:
    frame = pd.DataFrame(_ROWS, columns=["account_id", "as_of", "model", "recency", "p", "band", "cause_family",
                                         "oracle_cause"])
    return frame.drop(columns=["p", "oracle_cause"]).set_index(["account_id", "as_of"]).assign(fold=1, label=0)


def _oracle() -> pd.DataFrame:
    frame = pd.DataFrame(_ROWS, columns=["account_id", "as_of", "model", "recency", "p_decide_90d", "band",
                                         "cause_family", "oracle_cause"])
    frame = frame[["account_id", "as_of", "p_decide_90d", "oracle_cause"]]
    frame["p_decide_180d"] = frame["p_decide_90d"]
    frame["p_visible_90d"] = frame["p_decide_90d"] / 2
    frame["p_visible_180d"] = frame["p_decide_90d"] / 2
    # B's defection showed on 2025-01-20 and G's before T1: the oracle has no probability for them then
    gone = pd.DataFrame({"account_id": ["B", "G"], "as_of": [T2, T1], "oracle_cause": None})
    return pd.concat([frame, gone], ignore_index=True)


def test_early_warning_auc_ranks_future_deciders_among_undecided_accounts() -> None:
    out = early_warning_auc(_predictions(), _truth(), _oracle(), horizon_days=90)
    # B decided before T1 and is left out: 10 rows, of which A, E and F at both dates decide within 90 days
    assert out["early_rows"] == 10 and out["early_positives"] == 6
    # negatives score (model) C1 .7, D1 .1, C2 .3, D2 .4; the positives beat 4+1+4+4+3+3 of them
    assert out["early_auc_model"] == pytest.approx(19 / 24)
    # a missing recency ranks lowest (= D2's 0.2), ties count half: 3 + 1 + 3 + 3 + 3 + 3
    assert out["early_auc_recency"] == pytest.approx(16 / 24)
    # the oracle's p_decide: only E1 (.25) falls below a negative (C2 .3)
    assert out["early_auc_oracle"] == pytest.approx(23 / 24)
    assert "early_auc_logistic" not in out  # no such column among the predictions


def test_early_warning_auc_over_a_window_of_180_days() -> None:
    out = early_warning_auc(_predictions(), _truth(), _oracle(), horizon_days=180)
    assert out["early_positives"] == 8  # C, deciding 134 and 103 days on, joins


def test_early_catch_counts_future_deciders_in_the_high_band_and_the_oracle_top() -> None:
    out = early_catch(_predictions(), _truth(), _oracle(), horizon_days=90)
    # T1: 4 alerts (A, B, C, F) hold A and F; the oracle's top 4 (A, F, E, C) hold A, F and E.
    # T2: 3 alerts (C, E, F) hold E and F; the oracle's top 3 (E, F, A) hold all three.
    assert out == {"early_alerts": 7.0, "early_catch_model": 4.0, "early_catch_oracle": 6.0}


def test_reason_accuracy_beside_the_oracle_cause_on_in_play_high_band_rows() -> None:
    out = reason_accuracy(_predictions(), _truth(), _oracle(), horizon_days=90)
    # rows: A1 (right), F1 (wrong; the oracle right), F2 (right; the oracle right). E2 has no planted cause,
    # A2 is not in the high band, B1 decided already, C is not in play within 90 days
    assert out == {"reason_accuracy": pytest.approx(2 / 3), "oracle_reason_accuracy": 1.0, "reason_rows": 3.0}
    none_high = _predictions().assign(band="low")
    assert reason_accuracy(none_high, _truth(), _oracle(), horizon_days=90) == {"reason_rows": 0.0}


def test_evaluators_without_bands_measure_what_they_can() -> None:
    bare = _predictions().drop(columns=["band", "cause_family"])
    assert early_catch(bare, _truth(), _oracle(), horizon_days=90) == {}
    assert reason_accuracy(bare, _truth(), _oracle(), horizon_days=90) == {}
    assert early_warning_auc(bare, _truth(), _oracle(), horizon_days=90)["early_rows"] == 10


def test_oracle_scores_complete_defections_already_visible() -> None:
    index = pd.MultiIndex.from_tuples([("B", T2), ("G", T1), ("A", T1), ("H", T1)], names=["account_id", "as_of"])
    X = pd.DataFrame({"feature": 0.0}, index=index)
    # B's orders stopped (full): certain under either label; G's partial defection counts only for the
    # partial label; A has its probability; H is unknown to the oracle
    full = oracle_scores(X, _truth(), _oracle(), horizon_days=90, label_kind="full")
    partial = oracle_scores(X, _truth(), _oracle(), horizon_days=90, label_kind="partial")
    np.testing.assert_allclose(full, [1.0, 0.0, 0.25, 0.0])
    np.testing.assert_allclose(partial, [1.0, 1.0, 0.25, 0.0])


def _book() -> SimulatedBook:
    empty = pd.DataFrame({"account_id": pd.Series([], dtype=object)})
    return SimulatedBook(accounts=empty, orders=empty, events=empty, truth=_truth(), oracle=_oracle())


def test_evaluation_bundles_the_oracle_and_the_evaluators_for_a_book_or_its_folder(tmp_path) -> None:
    book = _book()
    book.truth.to_parquet(tmp_path / "truth.parquet")
    book.oracle.to_parquet(tmp_path / "oracle.parquet")
    pred = _predictions()
    expected = {**early_warning_auc(pred, _truth(), _oracle(), horizon_days=90),
                **early_catch(pred, _truth(), _oracle(), horizon_days=90),
                **reason_accuracy(pred, _truth(), _oracle(), horizon_days=90)}
    for source in (book, tmp_path, str(tmp_path)):
        scorers, evaluators = evaluation(source, horizon_days=90, label_kind="full")
        assert list(scorers) == ["oracle"]
        X = pd.DataFrame(index=pred.index)
        np.testing.assert_allclose(scorers["oracle"](X), oracle_scores(X, _truth(), _oracle(), horizon_days=90,
                                                                        label_kind="full"))
        measured: dict[str, float] = {}
        for evaluate in evaluators:
            measured.update(evaluate(pred))
        assert measured == pytest.approx(expected)
        assert pred.columns.tolist() == ["model", "recency", "band", "cause_family", "fold", "label"]  # untouched


@pytest.mark.parametrize(("arguments", "error", "message"), [
    ({"horizon_days": 30, "label_kind": "full"}, ValueError, "no 30-day probabilities"),
    ({"horizon_days": 90, "label_kind": "some"}, ValueError, "label_kind must be one of"),
])
def test_evaluation_names_what_the_oracle_does_not_cover(arguments: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        evaluation(_book(), **arguments)


def test_evaluation_of_a_folder_without_the_oracle_says_how_to_get_one(tmp_path) -> None:
    _truth().to_parquet(tmp_path / "truth.parquet")
    with pytest.raises(FileNotFoundError, match="has no oracle.parquet"):
        evaluation(tmp_path, horizon_days=90, label_kind="full")


def _monthly_scores() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Monthly bands for A-F at T1..T4, and the oracle's p_decide_180d for the same rows."""
    high = {T1: {"B", "C"}, T2: {"A", "B"}, T3: {"A", "E"}, T4: {"D"}}
    p = {T1: {"A": 0.6, "E": 0.5}, T2: {"A": 0.7, "E": 0.6}, T3: {"A": 0.8, "E": 0.7}, T4: {"A": 0.9}}
    rows, oracle = [], []
    for as_of in (T1, T2, T3, T4):
        for account in "ABCDEF":
            rows.append({"account_id": account, "as_of": as_of, "risk": 0.5,
                         "band": "high" if account in high[as_of] else "low"})
            oracle.append({"account_id": account, "as_of": as_of, "p_decide_90d": 0.0,
                           "p_decide_180d": p[as_of].get(account, 0.02 + 0.01 * "ABCDEF".index(account))})
    return pd.DataFrame(rows), pd.DataFrame(oracle)


def test_lead_times_from_the_first_alert_to_the_day_orders_stop() -> None:
    scores, oracle = _monthly_scores()
    book = SimulatedBook(accounts=scores[[]], orders=scores[[]], events=scores[[]], truth=_truth(), oracle=oracle)
    result = lead_times(scores, book)
    assert isinstance(result, LeadTimes)
    # orders stop (full defections) after T1 and by T4: A on 04-01, B on 01-20, E on 03-20 (C, F partial, G earlier)
    leads = result.accounts.set_index("account_id")
    assert sorted(leads.index) == ["A", "B", "E"]
    # the model: A first high at T2 (59 days ahead; its T4 alert is too late), B at T1 (19), E at T3 (19)
    assert leads["model_lead_days"].to_dict() == {"A": 59, "B": 19, "E": 19}
    assert leads.loc["A", "model_first_alert"] == T2
    # the oracle, with 2, 2, 2, 1 alerts: A and E from T1 on (90 and 78 days), B never (its p stays low)
    assert leads["oracle_lead_days"].to_dict() == {"A": 90, "B": 0, "E": 78}
    assert pd.isna(leads.loc["B", "oracle_first_alert"])
    summary = result.summary
    assert summary.loc["model"].to_dict() == {"defectors": 3.0, "warned": 1.0, "median_lead_days": 19.0,
                                              "median_lead_days_warned": 19.0, "warned_90d": 0.0}
    assert summary.loc["oracle"].to_dict() == pytest.approx({"defectors": 3.0, "warned": 2 / 3,
                                                             "median_lead_days": 78.0,
                                                             "median_lead_days_warned": 84.0, "warned_90d": 1 / 3})


def test_lead_times_needs_bands_and_dates_the_oracle_knows() -> None:
    scores, oracle = _monthly_scores()
    book = SimulatedBook(accounts=scores[[]], orders=scores[[]], events=scores[[]], truth=_truth(), oracle=oracle)
    with pytest.raises(ValueError, match=r"scores lack the columns \['band'\]"):
        lead_times(scores.drop(columns="band"), book)
    later = scores.assign(as_of=scores["as_of"] + pd.DateOffset(months=1))  # May 2025 is past the oracle
    with pytest.raises(ValueError, match=r"does not cover: \['2025-05-01'\].*2025-01-01 to 2025-04-01"):
        lead_times(later, book)


@pytest.fixture(scope="module")
def simulated() -> SimulatedBook:
    return kamrisk.simulate(accounts=300, months=24, seed=5)


def test_a_model_that_knew_what_the_oracle_knows_matches_it_on_a_simulated_book(simulated: SimulatedBook) -> None:
    book = simulated
    oracle = book.oracle[book.oracle["as_of"] >= pd.Timestamp("2024-01-01")].dropna(subset=["p_decide_180d"])
    pred = oracle.set_index(["account_id", "as_of"])[["p_decide_180d", "oracle_cause"]].rename(
        columns={"p_decide_180d": "model", "oracle_cause": "cause_family"})
    rank = pred.groupby(level="as_of")["model"].rank(ascending=False, method="first")
    pred["band"] = np.where(rank <= 15, "high", "low")
    _, evaluators = evaluation(book, horizon_days=180, label_kind="full")
    out: dict[str, float] = {}
    for evaluate in evaluators:
        out.update(evaluate(pred))
    assert out["early_positives"] > 20
    assert out["early_auc_model"] == pytest.approx(out["early_auc_oracle"])
    assert out["early_auc_oracle"] > 0.65
    assert out["early_catch_model"] == out["early_catch_oracle"] > 0
    assert out["reason_rows"] > 0 and out["reason_accuracy"] == out["oracle_reason_accuracy"]
