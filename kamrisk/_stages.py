"""Where an account stands at as_of: ``healthy``, ``warning``, ``declining`` or ``lapsed``.

A key account passes through stages, and the account team needs a different thing at each:

- ``lapsed``: its orders stopped (no order for more than max(``lapsed_after``, ``lapsed_gaps`` x its
  typical reorder gap), or none in the activity window). Nothing is left to predict; it is not scored.
- ``declining``: its orders already fell against its own baseline: revenue of the last 90 days below
  ``declining_share`` of its yearly pace (a quarter of its revenue of the last 365 days). The defection
  is visible now.
- ``warning``: orders intact, but the signs raise the risk to the ``warning_band`` or above: the time to act.
- ``healthy``: orders intact and the risk below that band.

The rules come from the recipe (:class:`~kamrisk._recipe.Activity`, :class:`~kamrisk._recipe.Stages`) and
read only orders-based signs, so they work on orders-only data. Training, backtests, batch scoring, the
MLflow model and Spark all use them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._recipe import Activity, Stages

__all__ = ["lapsed", "declining", "stage", "STAGES", "STAGE_ORDER"]

STAGES = ("warning", "declining", "healthy", "lapsed")
STAGE_ORDER = {name: rank for rank, name in enumerate((*STAGES, ""))}  # the account team's reading order
_QUARTER = 90 / 365


def lapsed(X: pd.DataFrame, activity: Activity | None = None) -> np.ndarray:
    """Rows whose defection is already visible at as_of: no order for more than
    max(``lapsed_after_days``, ``lapsed_gaps`` x the account's typical reorder gap).

    Such rows are neither trained on nor scored (scoring lists them as unscorable): there is nothing left
    to predict. Without the ``days_since_last_order`` sign nothing counts as lapsed.
    """
    activity = activity or Activity()
    if "days_since_last_order" not in X:
        return np.zeros(len(X), dtype=bool)
    gap = X["typical_reorder_gap_days"].to_numpy(dtype=float) if "typical_reorder_gap_days" in X else np.nan
    limit = np.fmax(activity.lapsed_after_days, activity.lapsed_gaps * np.nan_to_num(gap, nan=0.0))
    return X["days_since_last_order"].to_numpy(dtype=float) > limit


def declining(X: pd.DataFrame, stages: Stages | None = None) -> np.ndarray:
    """Rows whose orders already fell: revenue of the last 90 days below ``declining_share`` x a quarter
    of the revenue of the last 365 days (or no positive yearly revenue left). Without the two revenue
    signs nothing counts as declining."""
    stages = stages or Stages()
    if "revenue_90d" not in X or "revenue_365d" not in X:
        return np.zeros(len(X), dtype=bool)
    recent = X["revenue_90d"].to_numpy(dtype=float)
    pace = X["revenue_365d"].to_numpy(dtype=float) * _QUARTER
    with np.errstate(invalid="ignore"):
        fell = (pace <= 0) | (recent < stages.declining_share * pace)
    return fell & ~np.isnan(pace)


def stage(X: pd.DataFrame, band: np.ndarray | pd.Series, activity: Activity | None = None,
          stages: Stages | None = None) -> np.ndarray:
    """The stage of each row of ``X`` (features at as_of) given the model's ``band`` for it."""
    stages = stages or Stages()
    band = np.asarray(band, dtype=object)
    warn = np.isin(band, ("high", "medium") if stages.warning_band == "medium" else ("high",))
    out = np.where(warn, "warning", "healthy").astype(object)
    out[declining(X, stages)] = "declining"
    out[lapsed(X, activity)] = "lapsed"
    return out
