"""Backtest metrics: ranking, calibration, and what the top decile catches."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["evaluate", "expected_calibration_error", "METRICS"]

METRICS = ("roc_auc", "pr_auc", "brier", "ece", "lift_top10", "revenue_recall_top10")


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Mean |observed rate - mean predicted| over equal-width probability bins, weighted by rows."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    if len(y) == 0:
        return float("nan")
    which = np.minimum((p * bins).astype(int), bins - 1)
    counts = np.bincount(which, minlength=bins)
    gap = np.abs(np.bincount(which, weights=y, minlength=bins) - np.bincount(which, weights=p, minlength=bins))
    return float(gap.sum() / counts.sum())


def _top_decile(score: np.ndarray) -> np.ndarray:
    """The 10% highest scores (ties broken by order, so the slice is exactly 10%)."""
    n = len(score)
    k = max(1, int(np.ceil(0.1 * n)))
    order = np.argsort(-score, kind="stable")
    top = np.zeros(n, dtype=bool)
    top[order[:k]] = True
    return top


def evaluate(
    y: np.ndarray | pd.Series,
    score: np.ndarray | pd.Series,
    revenue: np.ndarray | pd.Series | None = None,
    *,
    probability: bool = True,
) -> dict[str, float]:
    """Every backtest metric for one scorer on one set of rows.

    Parameters
    ----------
    y : 0/1 labels
    score : the scorer's output; higher means riskier
    revenue : trailing 12-month revenue per row, for the revenue-weighted recall of the top decile
    probability : whether ``score`` is a probability (Brier and ECE are reported only then)
    """
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    y = np.asarray(y, dtype=float)
    score = np.asarray(score, dtype=float)
    score = np.where(np.isnan(score), np.nanmin(score) if np.isfinite(score).any() else 0.0, score)
    out = {m: float("nan") for m in METRICS}
    out["rows"] = float(len(y))
    out["positives"] = float(y.sum())
    if len(y) == 0 or y.min() == y.max():
        return out
    out["roc_auc"] = float(roc_auc_score(y, score))
    out["pr_auc"] = float(average_precision_score(y, score))
    if probability:
        out["brier"] = float(brier_score_loss(y, np.clip(score, 0, 1)))
        out["ece"] = expected_calibration_error(y, np.clip(score, 0, 1))
    top = _top_decile(score)
    out["lift_top10"] = float(y[top].mean() / y.mean())
    if revenue is not None:
        revenue = np.nan_to_num(np.asarray(revenue, dtype=float), nan=0.0).clip(min=0)
        lost = (revenue * y).sum()
        out["revenue_recall_top10"] = float((revenue * y * top).sum() / lost) if lost > 0 else float("nan")
    return out
