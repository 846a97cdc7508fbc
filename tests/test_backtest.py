"""Backtest: no label leakage, every scorer on the same rows, breakdowns a user asks for."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kamrisk import ModelError, backtest, load_recipe

SCORERS = ("model", "recency", "logistic", "oracle")


def test_no_training_label_overlaps_the_test_window(trained):
    plan = trained.backtest.fold_plan
    horizon = pd.Timedelta(days=trained.recipe.horizon_days)
    assert len(plan) == 2
    assert (plan["train_last_as_of"] + horizon <= plan["test_as_of"]).all()
    assert (plan["train_label_end"] <= plan["test_as_of"]).all()
    assert plan["test_as_of"].is_monotonic_increasing  # accounts reappear only in time order
    pred = trained.backtest.predictions
    test_dates = pred.index.get_level_values("as_of")
    for fold, test_as_of in zip(plan["fold"], plan["test_as_of"], strict=True):
        assert (test_dates[pred["fold"] == fold] == test_as_of).all()


def test_test_labels_are_complete_and_never_censored(trained, sim_data):
    pred = trained.backtest.predictions
    assert pred["label"].notna().all()
    last = pred.index.get_level_values("as_of").max()
    assert last + pd.Timedelta(days=trained.recipe.horizon_days) <= sim_data.end


def test_every_scorer_is_measured_on_the_same_rows(trained):
    overall = trained.backtest.overall
    assert set(SCORERS) <= set(overall.index)  # the simulated book has an oracle
    assert overall["rows"].nunique() == 1 and overall["positives"].nunique() == 1
    for column in ("roc_auc", "pr_auc", "lift_top10", "revenue_recall_top10"):
        assert overall[column].notna().all()
    assert np.isnan(overall.loc["recency", "brier"])  # a ratio, not a probability
    assert 0 <= overall.loc["model", "brier"] <= 0.25
    assert overall.loc["model", "roc_auc"] > 0.6
    assert overall.loc["oracle", "roc_auc"] > 0.6


def test_breakdowns_by_segment_channel_and_revenue_tier(trained):
    segments = trained.backtest.segments
    assert {"segment", "channel", "revenue_tier"} <= set(segments["by"])
    tiers = segments[(segments["by"] == "revenue_tier") & (segments["scorer"] == "model")]
    assert set(tiers["group"]) == {"top20", "rest"}
    assert tiers["rows"].sum() == trained.backtest.overall.loc["model", "rows"]


def test_flat_metrics_for_tracking(trained):
    metrics = trained.backtest.metrics()
    assert {"roc_auc", "recency_roc_auc", "logistic_roc_auc", "oracle_roc_auc", "oracle_gap_roc_auc",
            "fold1_roc_auc", "fold2_roc_auc", "revenue_recall_top10"} <= set(metrics)
    assert all(np.isfinite(v) for v in metrics.values())


def test_scorers_and_evaluators_come_from_outside(sim_data, trained):
    """The backtest knows nothing of the simulator: any scorer joins the same rows, any evaluator reads them."""
    seen = {}

    def revenue_scorer(X):
        return -X["revenue_365d"].to_numpy()  # smaller accounts first

    def evaluator(pred):
        seen["columns"] = set(pred.columns)
        seen["rows"] = len(pred)
        return {"share_high": float((pred["band"] == "high").mean())}

    result = backtest(sim_data, trained.recipe, table=(trained.X, trained.labels), scorers={"size": revenue_scorer},
                      evaluators=[evaluator])
    assert "size" in result.overall.index and "oracle" not in result.overall.index
    assert result.overall["rows"].nunique() == 1
    assert {"fold", "label", "model", "recency", "logistic", "size", "band", "cause_family", "revenue",
            "segment"} <= seen["columns"]
    assert seen["rows"] == result.overall.loc["model", "rows"]
    assert 0 <= result.extras["share_high"] <= 1 and result.metrics()["share_high"] == result.extras["share_high"]
    assert "size_gap_roc_auc" in result.metrics()
    with pytest.raises(ModelError, match=r"may not be named \['model'\]"):
        backtest(sim_data, trained.recipe, table=(trained.X, trained.labels), scorers={"model": revenue_scorer})


def test_a_short_history_backtests_on_weekly_dates(sim_book):
    """Nine months of orders: the monthly default cannot fit a fold; the weekly `short` recipe can."""
    import warnings

    from kamrisk import AccountData, DataWarning

    orders = sim_book.orders[sim_book.orders["order_date"] < pd.Timestamp("2023-10-01")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        data = AccountData(orders=orders, accounts=sim_book.accounts)
    with pytest.raises(ModelError, match="too short for a 365-day warm-up"):
        backtest(data, "default")
    short = load_recipe("short")
    result = backtest(data, short)
    plan = result.fold_plan
    assert len(plan) == 3 and (plan["train_dates"] >= 4).all()
    assert (plan["test_as_of"].diff().dropna() == pd.Timedelta(days=14)).all()
    assert (plan["train_label_end"] <= plan["test_as_of"]).all()
    dates = result.predictions.index.get_level_values("as_of")
    assert (dates.dayofweek == dates[0].dayofweek).all()  # weekly as_of dates
    with pytest.raises(ModelError, match="No backtest fold fits in the data"):
        backtest(data, short.with_overrides(backtest={"min_train_dates": 30}))
