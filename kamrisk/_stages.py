"""Where an account stands at as_of, read from its features: lapsed or still in play.

The rules come from the recipe (:class:`~kamrisk._recipe.Activity`), so training, backtests and scoring
agree on which rows are predicted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._recipe import Activity

__all__ = ["lapsed"]


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
