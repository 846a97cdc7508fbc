"""Judging a backtest against the simulator's truth and oracle, from outside the product.

:func:`evaluation` returns extra scorers and evaluators in the shape :func:`kamrisk.backtest` and
:func:`kamrisk.train` take (``scorers=``, ``evaluators=``); kamrisk's own code never reads the simulator's
columns.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["evaluation", "oracle_scorer", "reason_fidelity"]


def _tables(book: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    if isinstance(book, str | Path):
        folder = Path(book)
        missing = [n for n in ("truth.parquet", "oracle.parquet") if not (folder / n).is_file()]
        if missing:
            from .._errors import DataError

            raise DataError(f"{folder}: no {' or '.join(missing)}; only a book written by `kamrisk simulate` "
                            "carries the simulator's truth and oracle.")
        return pd.read_parquet(folder / "truth.parquet"), pd.read_parquet(folder / "oracle.parquet")
    return book.truth, book.oracle


def oracle_scorer(oracle: pd.DataFrame, truth: pd.DataFrame, *, horizon_days: int,
                  label_kind: str) -> Callable[[pd.DataFrame], np.ndarray]:
    """The oracle's probability that the recipe's label is 1, for the rows of a backtest fold.

    The simulator gives no probability once a defection is visible (an account defects at most once). The
    orders-based label of such a row is still decided by that defection: an account whose orders stopped
    (full) will have no revenue in the window, so its probability is 1; for a partial defection it is 1 for
    the partial label and 0 for the full one.
    """
    column = f"p_visible_{horizon_days}d"
    if column not in oracle:
        from .._errors import ConfigError

        given = [c for c in oracle if c.startswith("p_")]
        raise ConfigError(f"The simulator's oracle has no {column}: it gives {given}.")
    scores = oracle.assign(as_of=pd.to_datetime(oracle["as_of"]).astype("datetime64[ns]")).set_index(
        ["account_id", "as_of"])[column]
    visible = truth.drop_duplicates("account_id").set_index("account_id")

    def score(X: pd.DataFrame) -> np.ndarray:
        index = X.index
        p = scores.reindex(index).to_numpy(dtype=float)
        ids = index.get_level_values("account_id")
        as_of = index.get_level_values("as_of").to_numpy()
        visible_on = pd.to_datetime(visible["visible_on"]).reindex(ids).to_numpy(dtype="datetime64[ns]")
        gone_kind = visible["kind"].reindex(ids).to_numpy()
        already = (visible_on < as_of) & ((gone_kind == "full") | (label_kind == "partial"))
        return np.where(np.isnan(p), np.where(already, 1.0, 0.0), p)

    return score


def reason_fidelity(truth: pd.DataFrame, *, horizon_days: int) -> Callable[[pd.DataFrame], dict[str, float]]:
    """How often ``cause_family`` names the simulator's planted cause, for accounts the model puts in the
    high band whose defection becomes visible within the horizon (planted cause ``none`` excluded)."""
    first = truth.drop_duplicates("account_id").set_index("account_id")
    horizon = np.timedelta64(horizon_days, "D")

    def evaluate(pred: pd.DataFrame) -> dict[str, float]:
        if "cause_family" not in pred:
            return {}
        ids = pred.index.get_level_values("account_id")
        as_of = pred.index.get_level_values("as_of").to_numpy()
        visible_on = pd.to_datetime(first["visible_on"]).reindex(ids).to_numpy(dtype="datetime64[ns]")
        cause = first["cause"].reindex(ids).to_numpy()
        within = (visible_on >= as_of) & (visible_on < as_of + horizon)
        rows = within & (pred["band"].to_numpy() == "high") & (cause != "none") & pd.notna(cause)
        if not rows.any():
            return {"reason_rows": 0.0}
        hits = pred["cause_family"].to_numpy()[rows] == cause[rows]
        return {"reason_accuracy": float(hits.mean()), "reason_rows": float(rows.sum())}

    return evaluate


def evaluation(book: Any, *, horizon_days: int, label_kind: str) -> tuple[dict[str, Any], list[Any]]:
    """Scorers and evaluators that judge a backtest against a simulated book's truth and oracle.

    Parameters
    ----------
    book : SimulatedBook or folder
        A simulated book, or the folder ``kamrisk simulate`` wrote (with truth.parquet and oracle.parquet).
    horizon_days, label_kind : the recipe's label (``recipe.horizon_days``, ``recipe.label_kind``)

    Returns
    -------
    (scorers, evaluators)
        For ``kamrisk.backtest(..., scorers=..., evaluators=...)`` and ``kamrisk.train``.

    Examples
    --------
    >>> recipe = kamrisk.load_recipe("default")                                        # doctest: +SKIP
    >>> scorers, evaluators = kamrisk.sim.evaluation(book, horizon_days=recipe.horizon_days,
    ...                                              label_kind=recipe.label_kind)    # doctest: +SKIP
    >>> kamrisk.backtest(data, recipe, scorers=scorers, evaluators=evaluators)        # doctest: +SKIP
    """
    truth, oracle = _tables(book)
    scorers = {"oracle": oracle_scorer(oracle, truth, horizon_days=horizon_days, label_kind=label_kind)}
    return scorers, [reason_fidelity(truth, horizon_days=horizon_days)]
