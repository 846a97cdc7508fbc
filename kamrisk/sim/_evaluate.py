"""Evaluation against the simulator's truth and oracle: scorers and evaluators that plug into a backtest.

A backtest on a simulated book can measure what real data never allows: whether the model warns before an
account *decides* to leave (not only once its orders fall), whether its reasons name the planted cause, and
how far ahead it warns. Everything here is a pure function of a predictions frame (or monthly scores) and
the book's ``truth`` and ``oracle`` tables; :func:`evaluation` bundles them for a backtest:

- a **scorer** maps the test features ``X`` (indexed by ``account_id, as_of``) to one score per row, higher
  meaning riskier: ``Callable[[DataFrame], ndarray]``;
- an **evaluator** maps the backtest's predictions (indexed by ``account_id, as_of``; columns ``fold, label,
  model, recency, logistic``, one per extra scorer, ``band, cause_family, revenue, segment, region, channel,
  revenue_tier``) to named figures: ``Callable[[DataFrame], dict[str, float]]``.

Words used throughout, for a row ``(account, as_of)`` and a horizon ``h``:

- *undecided*: the account has not decided to defect before ``as_of`` (it decides later, or never);
- *future decider*: undecided, and decides in ``[as_of, as_of + h)``; the early-warning positive;
- *in play*: a future decider (its defection can still be prevented).

Private to :mod:`kamrisk.sim`; the public names are re-exported there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from . import SimulatedBook

__all__ = [
    "Scorer",
    "Evaluator",
    "LeadTimes",
    "evaluation",
    "oracle_scores",
    "early_warning_auc",
    "early_catch",
    "reason_accuracy",
    "lead_times",
]

Scorer = Callable[[pd.DataFrame], np.ndarray]
Evaluator = Callable[[pd.DataFrame], dict[str, float]]

EARLY_SCORERS = ("model", "recency", "logistic")
HORIZONS = (90, 180)
LABEL_KINDS = ("full", "partial")


def _tables(book: SimulatedBook | str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(truth, oracle)`` of a book or of a folder written by :func:`kamrisk.simulate`."""
    if isinstance(book, str | Path):
        folder = Path(book)
        missing = [f"{name}.parquet" for name in ("truth", "oracle") if not (folder / f"{name}.parquet").is_file()]
        if missing:
            raise FileNotFoundError(
                f"{folder} has no {' and no '.join(missing)}: evaluation against the simulator needs the folder "
                "written by kamrisk.simulate(out=...) or `kamrisk simulate --out`."
            )
        return pd.read_parquet(folder / "truth.parquet"), pd.read_parquet(folder / "oracle.parquet")
    return book.truth, book.oracle


def _check_horizon(horizon_days: int, oracle: pd.DataFrame) -> int:
    horizon = int(horizon_days)
    if horizon not in HORIZONS or f"p_decide_{horizon}d" not in oracle:
        available = sorted(c for c in oracle.columns if c.startswith(("p_visible_", "p_decide_")))
        raise ValueError(
            f"The simulator's oracle has no {horizon}-day probabilities (columns {available}): evaluate a recipe "
            f"with a horizon of {' or '.join(str(h) for h in HORIZONS)} days, or re-simulate the book with this "
            "version of kamrisk (older books lack p_decide_*)."
        )
    return horizon


def _oracle_index(oracle: pd.DataFrame) -> pd.DataFrame:
    return oracle.assign(as_of=pd.to_datetime(oracle["as_of"]).astype("datetime64[ns]")).set_index(
        ["account_id", "as_of"])


def _accounts(truth: pd.DataFrame) -> pd.DataFrame:
    """Each account's (first) defection: ``decided_on, visible_on, kind, cause`` indexed by account_id."""
    first = truth.drop_duplicates("account_id").set_index("account_id")
    out = pd.DataFrame(index=first.index)
    for column in ("kind", "cause"):  # plain objects: a missing value compares unequal, never ambiguous
        values = first[column].astype(object)
        out[column] = values.where(values.notna(), None)
    for column in ("decided_on", "visible_on"):
        out[column] = pd.to_datetime(first[column]).astype("datetime64[ns]")
    return out


def _rows(index: pd.MultiIndex, truth: pd.DataFrame, horizon_days: int) -> pd.DataFrame:
    """Per row of ``index``: ``undecided``, ``future`` (future decider within the horizon) and the planted
    ``cause`` (None for an account that never defects)."""
    accounts = _accounts(truth)
    ids = index.get_level_values("account_id")
    as_of = pd.DatetimeIndex(index.get_level_values("as_of")).as_unit("ns").to_numpy()
    decided = accounts["decided_on"].reindex(ids).to_numpy(dtype="datetime64[ns]")
    undecided = ~(decided < as_of)  # NaT (never decides) compares False
    future = undecided & (decided < as_of + np.timedelta64(int(horizon_days), "D"))
    cause = accounts["cause"].reindex(ids)
    cause = cause.where(cause.notna(), None).to_numpy(dtype=object)
    return pd.DataFrame({"undecided": undecided, "future": future, "cause": cause}, index=index)


def _lookup(oracle: pd.DataFrame, column: str, index: pd.MultiIndex) -> np.ndarray:
    return oracle[column].reindex(index).to_numpy()


def _lowest_for_nan(score: np.ndarray) -> np.ndarray:
    score = np.asarray(score, dtype=float)
    return np.where(np.isnan(score), np.nanmin(score) if np.isfinite(score).any() else 0.0, score)


def oracle_scores(
    X: pd.DataFrame, truth: pd.DataFrame, oracle: pd.DataFrame, *, horizon_days: int, label_kind: str
) -> np.ndarray:
    """The oracle's probability of the orders-based label for the rows of ``X``: ``p_visible_<h>d``.

    The simulator gives no probability once a defection is visible (an account defects at most once). The
    orders-based label of such a row is still decided by that defection: an account whose orders stopped
    (full) has no revenue in the window, so its probability is 1; for a partial defection it is 1 for the
    partial label and 0 for the full one. Rows the oracle does not know get 0.
    """
    oracle = oracle if isinstance(oracle.index, pd.MultiIndex) else _oracle_index(oracle)
    p = _lookup(oracle, f"p_visible_{int(horizon_days)}d", X.index).astype(float)
    accounts = _accounts(truth)
    ids = X.index.get_level_values("account_id")
    as_of = pd.DatetimeIndex(X.index.get_level_values("as_of")).as_unit("ns").to_numpy()
    visible_on = accounts["visible_on"].reindex(ids).to_numpy(dtype="datetime64[ns]")
    kind = accounts["kind"].reindex(ids).fillna("").to_numpy(dtype=object)
    already = (visible_on < as_of) & ((kind == "full") | (label_kind == "partial"))
    return np.where(np.isnan(p), np.where(already, 1.0, 0.0), p)


def early_warning_auc(
    predictions: pd.DataFrame, truth: pd.DataFrame, oracle: pd.DataFrame, *, horizon_days: int
) -> dict[str, float]:
    """ROC-AUC of each scorer at telling future deciders from the other undecided accounts.

    Rows: the predictions whose account has not decided before as_of. Positive: the account decides in
    ``[as_of, as_of + horizon)``. Every scorer is measured on the same rows: the ``model``, ``recency`` and
    ``logistic`` columns present, and the oracle's ``p_decide_<h>d`` (a missing score ranks lowest).

    Returns
    -------
    dict
        ``early_rows``, ``early_positives`` and ``early_auc_<scorer>`` for each scorer (the AUCs only when
        the rows hold both classes).
    """
    from sklearn.metrics import roc_auc_score

    oracle = oracle if isinstance(oracle.index, pd.MultiIndex) else _oracle_index(oracle)
    rows = _rows(predictions.index, truth, horizon_days)
    keep = rows["undecided"].to_numpy()
    y = rows["future"].to_numpy()[keep]
    out = {"early_rows": float(keep.sum()), "early_positives": float(y.sum())}
    if not keep.any() or y.min() == y.max():
        return out
    scores = {s: predictions[s].to_numpy(dtype=float) for s in EARLY_SCORERS if s in predictions}
    scores["oracle"] = _lookup(oracle, f"p_decide_{int(horizon_days)}d", predictions.index).astype(float)
    for name, score in scores.items():
        out[f"early_auc_{name}"] = float(roc_auc_score(y, _lowest_for_nan(score[keep])))
    return out


def _top_per_as_of(as_of: np.ndarray, score: np.ndarray, budget: np.ndarray) -> np.ndarray:
    """Mask of the ``budget`` (per row: its as_of's budget) highest scores of each as_of; ties by row order."""
    rank = pd.Series(_lowest_for_nan(score)).groupby(as_of).rank(ascending=False, method="first").to_numpy()
    return rank <= budget


def early_catch(
    predictions: pd.DataFrame, truth: pd.DataFrame, oracle: pd.DataFrame, *, horizon_days: int, alert: str = "high"
) -> dict[str, float]:
    """How many future deciders the model's alerts hold, against the oracle's at the same budget.

    At each as_of, the model alerts the rows in band ``alert``; the oracle alerts as many rows, its highest
    ``p_decide_<h>d`` among the same as_of's rows (0 for an account that already decided). Counts are
    summed over the as_of dates.

    Returns
    -------
    dict
        ``early_alerts`` (the budget), ``early_catch_model`` and ``early_catch_oracle`` (future deciders
        among the alerts); empty without a ``band`` column.
    """
    if "band" not in predictions:
        return {}
    oracle = oracle if isinstance(oracle.index, pd.MultiIndex) else _oracle_index(oracle)
    rows = _rows(predictions.index, truth, horizon_days)
    future = rows["future"].to_numpy()
    as_of = predictions.index.get_level_values("as_of").to_numpy()
    alerted = predictions["band"].to_numpy(dtype=object) == alert
    budget = pd.Series(alerted).groupby(as_of).transform("sum").to_numpy()
    p_decide = _lookup(oracle, f"p_decide_{int(horizon_days)}d", predictions.index).astype(float)
    top = _top_per_as_of(as_of, np.nan_to_num(p_decide, nan=0.0), budget)
    return {"early_alerts": float(alerted.sum()), "early_catch_model": float((alerted & future).sum()),
            "early_catch_oracle": float((top & future).sum())}


def reason_accuracy(
    predictions: pd.DataFrame, truth: pd.DataFrame, oracle: pd.DataFrame, *, horizon_days: int, alert: str = "high"
) -> dict[str, float]:
    """How often ``cause_family`` names the planted cause, beside the oracle's own cause on the same rows.

    Rows: in-play defectors (undecided at as_of, deciding within the horizon) that the model puts in band
    ``alert``, whose planted cause is a driving family (``none``, a base-rate decision, is left out). The
    oracle's accuracy is that of ``oracle_cause`` at the same (account, as_of): the ceiling for reasons
    read from the signs on record.

    Returns
    -------
    dict
        ``reason_rows``, and when there are rows ``reason_accuracy`` and ``oracle_reason_accuracy``;
        empty without ``band`` and ``cause_family`` columns.
    """
    if "band" not in predictions or "cause_family" not in predictions:
        return {}
    oracle = oracle if isinstance(oracle.index, pd.MultiIndex) else _oracle_index(oracle)
    rows = _rows(predictions.index, truth, horizon_days)
    cause = rows["cause"].to_numpy()
    chosen = (rows["future"].to_numpy() & (predictions["band"].to_numpy(dtype=object) == alert)
              & pd.notna(cause) & (cause != "none"))
    if not chosen.any():
        return {"reason_rows": 0.0}
    named = predictions["cause_family"].to_numpy(dtype=object)[chosen]
    oracle_cause = oracle["oracle_cause"].reindex(predictions.index).fillna("").to_numpy(dtype=object)[chosen]
    return {"reason_accuracy": float(np.mean(named == cause[chosen])),
            "oracle_reason_accuracy": float(np.mean(oracle_cause == cause[chosen])),
            "reason_rows": float(chosen.sum())}


def evaluation(
    book: SimulatedBook | str | Path, *, horizon_days: int, label_kind: str
) -> tuple[dict[str, Scorer], list[Evaluator]]:
    """The oracle as an extra scorer and the truth-based evaluators, for a backtest on a simulated book.

    Parameters
    ----------
    book : SimulatedBook, str or Path
        The book, or the folder :func:`kamrisk.simulate` wrote it to (``truth.parquet`` and
        ``oracle.parquet`` are read).
    horizon_days : int
        The recipe's label horizon: 90 or 180 days (the oracle's horizons).
    label_kind : str
        The recipe's label: ``full`` or ``partial`` (how the oracle scores rows already visibly gone).

    Returns
    -------
    scorers : dict
        ``{"oracle": scorer}``: the oracle's probability of the recipe's orders-based label
        (:func:`oracle_scores`).
    evaluators : list
        :func:`early_warning_auc`, :func:`early_catch` and :func:`reason_accuracy`, bound to the book.

    Raises
    ------
    ValueError
        For a horizon or label kind the oracle does not cover.
    FileNotFoundError
        For a folder without ``truth.parquet`` or ``oracle.parquet``.

    Examples
    --------
    >>> import kamrisk
    >>> from kamrisk.sim import evaluation
    >>> book = kamrisk.simulate(accounts=100, months=13, seed=1)
    >>> scorers, evaluators = evaluation(book, horizon_days=180, label_kind="full")
    >>> sorted(scorers), len(evaluators)
    (['oracle'], 3)
    """
    if label_kind not in LABEL_KINDS:
        raise ValueError(f"label_kind must be one of {list(LABEL_KINDS)}, got {label_kind!r}.")
    truth, oracle = _tables(book)
    horizon = _check_horizon(horizon_days, oracle)
    indexed = _oracle_index(oracle)
    scorers: dict[str, Scorer] = {
        "oracle": partial(oracle_scores, truth=truth, oracle=indexed, horizon_days=horizon, label_kind=label_kind)
    }
    evaluators: list[Evaluator] = [
        partial(early_warning_auc, truth=truth, oracle=indexed, horizon_days=horizon),
        partial(early_catch, truth=truth, oracle=indexed, horizon_days=horizon),
        partial(reason_accuracy, truth=truth, oracle=indexed, horizon_days=horizon),
    ]
    return scorers, evaluators


@dataclass
class LeadTimes:
    """How far ahead monthly scores warned of the defections that followed, against the oracle.

    Attributes
    ----------
    accounts : DataFrame
        One row per defector: ``account_id, visible_on`` (the day its orders stopped), and for the model
        and the oracle ``<who>_first_alert`` (first as_of in the alert, NaT if never) and
        ``<who>_lead_days`` (``visible_on - first alert`` in days, 0 if never alerted).
    summary : DataFrame
        Indexed by ``model`` and ``oracle``: ``defectors``, ``warned`` (share alerted at all before the
        orders stopped), ``median_lead_days`` (over every defector, 0 for those never alerted),
        ``median_lead_days_warned`` (over those alerted) and ``warned_90d`` (share alerted at least 90 days
        ahead).
    """

    accounts: pd.DataFrame
    summary: pd.DataFrame


def lead_times(
    scores: pd.DataFrame, book: SimulatedBook | str | Path, *, alert: str = "high", horizon_days: int = 180
) -> LeadTimes:
    """Days between an account's first alert and the day its orders stop, for monthly point-in-time scores.

    Parameters
    ----------
    scores : DataFrame
        ``account_id, as_of, band`` (and usually ``risk``): one row per account per month, each month
        scored with data before its as_of only.
    book : SimulatedBook, str or Path
        The book the scores come from, or its folder.
    alert : str
        The band that counts as an alert.
    horizon_days : int
        The oracle's ``p_decide_<h>d`` ranks the accounts for its alerts (90 or 180).

    Returns
    -------
    LeadTimes

    Raises
    ------
    ValueError
        When ``scores`` lack a column, or hold an as_of the oracle does not cover (not a month start of
        the book): the oracle could not be given the same alerts there.

    Notes
    -----
    Defectors are the accounts whose orders stop (full defections, truth's ``visible_on``) after the first
    as_of scored and no later than the last. Alerts count only at as_of dates before ``visible_on``. The
    oracle gets the same budget: each month, as many alerts as the model raised, to its highest
    ``p_decide_<h>d`` among the accounts scored that month. Leads are capped by how long before
    ``visible_on`` scoring began, alike for both.
    """
    missing = sorted({"account_id", "as_of", "band"} - set(scores.columns))
    if missing:
        raise ValueError(f"scores lack the columns {missing}: pass one row per account and as_of with its band.")
    truth, oracle = _tables(book)
    horizon = _check_horizon(horizon_days, oracle)
    frame = scores[["account_id", "as_of", "band"]].copy()
    frame["as_of"] = pd.to_datetime(frame["as_of"]).astype("datetime64[ns]")
    known = pd.DatetimeIndex(pd.to_datetime(oracle["as_of"]).unique()).as_unit("ns")
    unknown = pd.DatetimeIndex(frame["as_of"].unique()).difference(known)
    if len(unknown):
        raise ValueError(
            f"scores at as_of dates the oracle does not cover: {[str(d.date()) for d in unknown[:5]]}; it holds the "
            f"month starts {known.min().date()} to {known.max().date()}. Score those month starts only."
        )
    index = pd.MultiIndex.from_frame(frame[["account_id", "as_of"]])
    as_of = frame["as_of"].to_numpy()
    alerted = frame["band"].to_numpy(dtype=object) == alert
    budget = pd.Series(alerted).groupby(as_of).transform("sum").to_numpy()
    p_decide = _lookup(_oracle_index(oracle), f"p_decide_{horizon}d", index).astype(float)
    alerts = {"model": alerted, "oracle": _top_per_as_of(as_of, np.nan_to_num(p_decide, nan=0.0), budget)}

    accounts = _accounts(truth)
    first, last = as_of.min(), as_of.max()
    stopped = accounts[(accounts["kind"] == "full") & (accounts["visible_on"] > first)
                       & (accounts["visible_on"] <= last)]
    out = pd.DataFrame({"account_id": stopped.index.to_numpy(), "visible_on": stopped["visible_on"].to_numpy()})
    visible_on = stopped["visible_on"].reindex(frame["account_id"]).to_numpy(dtype="datetime64[ns]")
    ahead = as_of < visible_on  # NaT for accounts that do not stop: False
    summary = {}
    for who, mask in alerts.items():
        hits = frame.loc[mask & ahead, ["account_id", "as_of"]]
        first_alert = hits.groupby("account_id")["as_of"].min()
        out[f"{who}_first_alert"] = first_alert.reindex(out["account_id"]).to_numpy(dtype="datetime64[ns]")
        lead = (out["visible_on"] - out[f"{who}_first_alert"]).dt.days
        out[f"{who}_lead_days"] = lead.fillna(0).astype(int)
        summary[who] = {
            "defectors": float(len(out)),
            "warned": float(lead.notna().mean()) if len(out) else float("nan"),
            "median_lead_days": float(out[f"{who}_lead_days"].median()) if len(out) else float("nan"),
            "median_lead_days_warned": float(lead.median()) if lead.notna().any() else float("nan"),
            "warned_90d": float((lead >= 90).mean()) if len(out) else float("nan"),
        }
    return LeadTimes(accounts=out, summary=pd.DataFrame(summary).T)
