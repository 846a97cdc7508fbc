"""Backtest: no label leakage, every scorer on the same rows, breakdowns a user asks for."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kamrisk._backtest import SCORERS


def test_no_training_label_overlaps_the_test_window(trained):
    plan = trained.backtest.fold_plan
    horizon = pd.Timedelta(days=trained.config.horizon_days)
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
    assert last + pd.Timedelta(days=trained.config.horizon_days) <= sim_data.end


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
