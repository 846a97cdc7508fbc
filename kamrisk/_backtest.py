"""Rolling-origin backtest of a model recipe, against baselines and (on simulated data) the oracle.

Each fold tests one as_of date ``T`` and trains on snapshots whose label window has closed by ``T``
(``as_of + horizon <= T``), so no training label overlaps the test window. Folds step back from the last
as_of whose label is complete. Every scorer is evaluated on the same rows: the model, the recency
baseline (days since the last order relative to the account's own reorder gap), a logistic regression
on the same features, and the simulator's oracle when ``oracle.parquet`` is present.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._config import ModelConfig, load_config, parse_days, parse_months
from ._errors import ModelError
from ._metrics import METRICS, evaluate

__all__ = ["backtest", "BacktestResult", "training_calendar", "training_table", "lapsed", "RECENCY_FEATURE",
           "REVENUE_FEATURE"]

RECENCY_FEATURE = "recency_gap_ratio"
REVENUE_FEATURE = "revenue_365d"
LAPSED_MIN_DAYS = 90
LAPSED_GAPS = 3.0
SCORERS = ("model", "recency", "logistic", "oracle")


def training_calendar(data: Any, config: ModelConfig) -> pd.DatetimeIndex:
    """Month-start as_of dates from the end of the warm-up to the data's end."""
    warmup = parse_days(config.raw["calendar"]["warmup"], "calendar.warmup")
    every = parse_months(config.raw["calendar"]["every"])
    first = (data.start + pd.Timedelta(days=warmup)).to_period("M").to_timestamp()
    if first < data.start + pd.Timedelta(days=warmup):
        first = first + pd.offsets.MonthBegin(1)
    dates = pd.date_range(first, data.end, freq=f"{every}MS")
    if len(dates) == 0:
        raise ModelError(
            f"The data spans {data.start.date()} to {data.end.date()}: too short for a {warmup}-day warm-up "
            "before the first as_of. Provide a longer order history or lower calendar.warmup."
        )
    return dates


def lapsed(X: pd.DataFrame) -> np.ndarray:
    """Accounts whose defection is already visible at as_of: no order for more than
    max(LAPSED_MIN_DAYS, LAPSED_GAPS x their typical reorder gap). They are neither trained on nor scored
    (scoring lists them as unscorable): there is nothing left to predict."""
    if "days_since_last_order" not in X:
        return np.zeros(len(X), dtype=bool)
    gap = X["typical_reorder_gap_days"].to_numpy(dtype=float) if "typical_reorder_gap_days" in X else np.nan
    limit = np.fmax(LAPSED_MIN_DAYS, LAPSED_GAPS * np.nan_to_num(gap, nan=0.0))
    return X["days_since_last_order"].to_numpy(dtype=float) > limit


def training_table(data: Any, config: ModelConfig, as_of: Any = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Features and labels of the recipe at its calendar (or the given as_of dates).

    Rows of accounts that have already lapsed (see :func:`lapsed`) are left out; ``X.attrs["lapsed_rows"]``
    counts them.
    """
    from ._features import build_features
    from ._labels import make_labels

    as_of = training_calendar(data, config) if as_of is None else pd.DatetimeIndex(as_of)
    active_days = int(config.raw["calendar"]["active_days"])
    X = build_features(data, as_of, active_days=active_days)
    gone = lapsed(X)
    attrs = dict(X.attrs)
    X = _select_families(X[~gone], config)
    X.attrs.update(attrs, lapsed_rows=int(gone.sum()))
    labels = make_labels(data, as_of, active_days=active_days, **config.label_kwargs())
    labels = labels.reindex(X.index)
    return X, labels


def _select_families(X: pd.DataFrame, config: ModelConfig) -> pd.DataFrame:
    from ._catalog import load_catalog

    catalog = load_catalog()
    keep = [c for c in X.columns if catalog.family_of(c) in config.families]
    out = X[keep]
    out.attrs.update(X.attrs)
    return out


@dataclass
class BacktestResult:
    """What a backtest measured.

    Attributes
    ----------
    predictions : one row per test (account, as_of): fold, label, each scorer's score, revenue, segment...
    folds : metrics per fold and scorer
    overall : metrics per scorer on all test rows together
    segments : metrics per scorer by segment, channel and revenue tier
    fold_plan : per fold, the test as_of, the last training as_of and when its label window ends
    """

    config: ModelConfig
    predictions: pd.DataFrame
    folds: pd.DataFrame
    overall: pd.DataFrame
    segments: pd.DataFrame
    fold_plan: pd.DataFrame
    data_digest: str = ""
    extras: dict[str, float] = field(default_factory=dict)

    @property
    def signature(self) -> str:
        """Identifies the folds (data and test dates): equal signatures mean comparable metrics."""
        text = self.data_digest + "|" + ",".join(str(d.date()) for d in self.fold_plan["test_as_of"])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def metric(self, name: str | None = None, scorer: str = "model") -> float:
        name = name or self.config.raw["backtest"]["metric"]
        return float(self.overall.loc[scorer, name])

    def metrics(self) -> dict[str, float]:
        """Flat metrics for MLflow: ``roc_auc``, ``recency_roc_auc``, ``oracle_gap_roc_auc``, ``fold1_roc_auc``..."""
        out: dict[str, float] = {}
        for scorer, row in self.overall.iterrows():
            prefix = "" if scorer == "model" else f"{scorer}_"
            for name in (*METRICS, "rows", "positives"):
                if name in row and pd.notna(row[name]):
                    out[f"{prefix}{name}"] = float(row[name])
        for _, row in self.folds[self.folds["scorer"] == "model"].iterrows():
            for name in METRICS:
                if pd.notna(row[name]):
                    out[f"fold{int(row['fold'])}_{name}"] = float(row[name])
        if "oracle" in self.overall.index:
            gap = self.overall.loc["oracle", "roc_auc"] - self.overall.loc["model", "roc_auc"]
            out["oracle_gap_roc_auc"] = float(gap)
        out.update(self.extras)
        return out

    def summary(self) -> str:
        cols = ["roc_auc", "pr_auc", "brier", "ece", "lift_top10", "revenue_recall_top10", "rows", "positives"]
        table = self.overall[cols].to_string(float_format=lambda v: f"{v:.3f}")
        folds = len(self.fold_plan)
        return f"Backtest of {self.config.name!r} over {folds} folds (same rows for every scorer):\n{table}"


def _fold_plan(dates: pd.DatetimeIndex, labelled: pd.DatetimeIndex, config: ModelConfig) -> pd.DataFrame:
    horizon = pd.Timedelta(days=config.horizon_days)
    step = parse_months(config.raw["backtest"]["step"], "backtest.step")
    n_folds = int(config.raw["backtest"]["folds"])
    candidates = np.sort(labelled.unique())
    if len(candidates) == 0:
        raise ModelError("No as_of date has a complete label window: the data is shorter than warm-up + horizon.")
    last = pd.Timestamp(candidates[-1])
    plan = []
    for k in range(n_folds):
        test = last - pd.DateOffset(months=step * k)
        if test not in set(candidates):
            continue
        train_dates = dates[dates + horizon <= test]
        if len(train_dates) < 4:
            break
        plan.append({"test_as_of": test, "train_last_as_of": train_dates.max(),
                     "train_label_end": train_dates.max() + horizon, "train_dates": len(train_dates)})
    if not plan:
        raise ModelError(
            "No backtest fold fits in the data: each fold needs at least 4 training as_of dates whose "
            f"{config.horizon_days}-day label window closes before the test date. Provide more history or "
            "fewer/shorter folds."
        )
    frame = pd.DataFrame(plan[::-1])
    frame.insert(0, "fold", np.arange(1, len(frame) + 1))
    return frame


def _recency_score(X: pd.DataFrame) -> np.ndarray:
    """The recency baseline: days since the last order relative to the account's own reorder gap.

    An account with a single order has no gap of its own; it is measured against the book's median gap
    at that as_of instead of being left out (which would rank the likeliest leavers as safest).
    """
    if "days_since_last_order" not in X or "typical_reorder_gap_days" not in X:
        return X[RECENCY_FEATURE].to_numpy(dtype=float) if RECENCY_FEATURE in X else np.full(len(X), np.nan)
    gap = X["typical_reorder_gap_days"].astype(float)
    book_gap = gap.groupby(level="as_of").transform("median")
    gap = gap.fillna(book_gap).clip(lower=1.0)
    return (X["days_since_last_order"].astype(float) / gap).to_numpy()


def _logistic_scores(X_train: pd.DataFrame, y_train: np.ndarray, X_test: pd.DataFrame, seed: int) -> np.ndarray:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    categorical = [c for c in X_train.columns if isinstance(X_train[c].dtype, pd.CategoricalDtype)]
    numeric = [c for c in X_train.columns if c not in categorical and X_train[c].notna().any()]

    def prepare(X: pd.DataFrame) -> pd.DataFrame:
        out = X[numeric + categorical].copy()
        for c in categorical:
            out[c] = out[c].astype(object).where(out[c].notna(), "missing").astype(str)
        out[numeric] = out[numeric].astype(float).replace([np.inf, -np.inf], np.nan)
        return out

    pipe = make_pipeline(
        ColumnTransformer([
            ("num", make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler()), numeric),
            ("cat", OneHotEncoder(handle_unknown="ignore", min_frequency=20), categorical),
        ]),
        LogisticRegression(max_iter=2000, C=0.1, random_state=seed),
    )
    pipe.fit(prepare(X_train), y_train)
    return pipe.predict_proba(prepare(X_test))[:, 1]


def _oracle_for_label(scores: pd.Series, index: pd.MultiIndex, truth: pd.DataFrame | None, kind: str) -> np.ndarray:
    """The oracle's probability for these rows, completed where the simulator leaves it empty.

    The simulator gives no probability once a defection is visible (an account defects at most once). The
    orders-based label of such a row is still decided by that defection: an account whose orders stopped
    (full) will have no revenue in the window, so its probability is 1; for a partial defection it is 1 for
    the partial label and 0 for the full one.
    """
    p = scores.reindex(index).to_numpy(dtype=float)
    if truth is None:
        return np.nan_to_num(p, nan=0.0)
    visible = truth.drop_duplicates("account_id").set_index("account_id")
    ids = index.get_level_values("account_id")
    as_of = index.get_level_values("as_of").to_numpy()
    visible_on = pd.to_datetime(visible["visible_on"]).reindex(ids).to_numpy(dtype="datetime64[ns]")
    gone_kind = visible["kind"].reindex(ids).to_numpy()
    already = (visible_on < as_of) & ((gone_kind == "full") | (kind == "partial"))
    return np.where(np.isnan(p), np.where(already, 1.0, 0.0), p)


def _reason_fidelity(pred: pd.DataFrame, truth: pd.DataFrame, horizon: pd.Timedelta) -> dict[str, float]:
    """How often ``cause_family`` names the simulator's planted cause, for accounts the model puts in the
    high band whose defection becomes visible within the horizon (planted cause ``none`` excluded)."""
    first = truth.drop_duplicates("account_id").set_index("account_id")
    ids = pred.index.get_level_values("account_id")
    as_of = pred.index.get_level_values("as_of").to_numpy()
    visible_on = pd.to_datetime(first["visible_on"]).reindex(ids).to_numpy(dtype="datetime64[ns]")
    cause = first["cause"].reindex(ids).to_numpy()
    within = (visible_on >= as_of) & (visible_on < as_of + horizon.to_timedelta64())
    rows = within & (pred["band"].to_numpy() == "high") & (cause != "none") & pd.notna(cause)
    pred["planted_cause"] = np.where(within, cause, None)
    if not rows.any():
        return {"reason_rows": 0.0}
    hits = pred["cause_family"].to_numpy()[rows] == cause[rows]
    return {"reason_accuracy": float(hits.mean()), "reason_rows": float(rows.sum())}


def _group_metrics(pred: pd.DataFrame, scorers: list[str]) -> pd.DataFrame:
    rows = []
    for by in ("segment", "channel", "revenue_tier"):
        if by not in pred:
            continue
        for value, group in pred.groupby(by, observed=True, dropna=False):
            for scorer in scorers:
                m = evaluate(group["label"], group[scorer], group["revenue"],
                             probability=scorer != "recency")
                rows.append({"by": by, "group": "unknown" if pd.isna(value) else str(value), "scorer": scorer, **m})
    return pd.DataFrame(rows)


def backtest(
    data: Any,
    config: str | ModelConfig | dict[str, Any] = "default",
    *,
    table: tuple[pd.DataFrame, pd.DataFrame] | None = None,
    oracle: pd.DataFrame | None = None,
    truth: pd.DataFrame | None = None,
    on_fold: Callable[[int, int], None] | None = None,
) -> BacktestResult:
    """Backtest a recipe with rolling-origin folds.

    Parameters
    ----------
    data : AccountData
    config : recipe name, path, mapping or ModelConfig
    table : (features, labels) already built by :func:`training_table`, to avoid building them twice
    oracle : the simulator's ``oracle.parquet`` (account_id, as_of, p_visible_90d, p_visible_180d)
    truth : the simulator's ``truth.parquet`` (completes the oracle for defections already visible)
    on_fold : called with (fold, folds) after each fold, e.g. to advance a progress bar

    Returns
    -------
    BacktestResult
    """
    from ._model import RiskModel

    cfg = load_config(config)
    X, labels = table if table is not None else training_table(data, cfg)
    y_all = labels["label"]
    dates = X.index.get_level_values("as_of")
    unique_dates = pd.DatetimeIndex(np.sort(dates.unique()))
    labelled = pd.DatetimeIndex(dates[y_all.notna().to_numpy()])
    plan = _fold_plan(unique_dates, labelled, cfg)
    horizon = pd.Timedelta(days=cfg.horizon_days)
    attributes = data.accounts.set_index("account_id")
    oracle_column = f"p_visible_{cfg.horizon_days}d"
    use_oracle = oracle is not None and oracle_column in oracle
    if use_oracle:
        oracle_scores = oracle.assign(as_of=pd.to_datetime(oracle["as_of"]).astype("datetime64[ns]")).set_index(
            ["account_id", "as_of"])[oracle_column]

    parts = []
    for i, fold in plan.iterrows():
        test_as_of = fold["test_as_of"]
        train_mask = ((dates + horizon) <= test_as_of) & y_all.notna().to_numpy()
        test_mask = (dates == test_as_of) & y_all.notna().to_numpy()
        # the guarantee the whole backtest rests on: no training label window reaches the test date
        assert (dates[train_mask] + horizon).max() <= test_as_of
        X_train, y_train = X[train_mask], y_all[train_mask].to_numpy()
        X_test, y_test = X[test_mask], y_all[test_mask].to_numpy()
        model = RiskModel(cfg).fit(X_train, y_train)
        part = pd.DataFrame(index=X_test.index)
        part["fold"] = int(fold["fold"])
        part["label"] = y_test
        part["model"] = model.predict_risk(X_test).to_numpy()
        part["recency"] = _recency_score(X_test)
        part["logistic"] = _logistic_scores(X_train, y_train, X_test, cfg.seed)
        if use_oracle:
            part["oracle"] = _oracle_for_label(oracle_scores, X_test.index, truth, cfg.label_kind)
        if truth is not None:
            from ._catalog import load_catalog
            from ._explain import explain

            explained = explain(model, X_test, load_catalog(), reasons="at_risk")
            part["band"] = explained["band"].to_numpy()
            part["cause_family"] = explained["cause_family"].to_numpy()
        part["revenue"] = X_test[REVENUE_FEATURE].to_numpy(dtype=float) if REVENUE_FEATURE in X_test else np.nan
        parts.append(part)
        if on_fold is not None:
            on_fold(i + 1, len(plan))
    pred = pd.concat(parts)
    ids = pred.index.get_level_values("account_id")
    for column in ("segment", "region", "channel"):
        if column in attributes:
            pred[column] = attributes[column].reindex(ids).to_numpy()
    rank = pred.groupby(level="as_of")["revenue"].rank(pct=True)
    pred["revenue_tier"] = np.where(rank > 0.8, "top20", "rest")
    scorers = [s for s in SCORERS if s in pred and pred[s].notna().any()]

    fold_rows = []
    for fold, group in pred.groupby("fold"):
        for scorer in scorers:
            m = evaluate(group["label"], group[scorer], group["revenue"], probability=scorer != "recency")
            fold_rows.append({"fold": fold, "scorer": scorer, **m})
    overall = pd.DataFrame(
        {s: evaluate(pred["label"], pred[s], pred["revenue"], probability=s != "recency") for s in scorers}
    ).T
    extras = _reason_fidelity(pred, truth, horizon) if truth is not None else {}
    digest = hashlib.sha256(pd.util.hash_pandas_object(data.orders, index=False).to_numpy().tobytes()).hexdigest()
    return BacktestResult(
        config=cfg,
        predictions=pred,
        folds=pd.DataFrame(fold_rows),
        overall=overall,
        segments=_group_metrics(pred, scorers),
        fold_plan=plan,
        data_digest=digest[:16],
        extras=extras,
    )
