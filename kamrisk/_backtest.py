"""Rolling-origin backtest of a model recipe, against baselines and any scorer given from outside.

Each fold tests one as_of date ``T`` and trains on snapshots whose label window has closed by ``T``
(``as_of + horizon <= T``), so no training label overlaps the test window. Folds step back from the last
as_of whose label is complete. Every scorer is evaluated on the same rows: the model, the recency
baseline (days since the last order relative to the account's own reorder gap), a logistic regression
on the same features, and extra ``scorers`` (the simulator's oracle, :func:`kamrisk.sim.evaluation`).
Extra ``evaluators`` turn the per-row predictions into further figures (reason accuracy, early warning);
the backtest itself knows nothing of where they come from.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._errors import ModelError
from ._metrics import METRICS, evaluate
from ._recipe import Recipe, load_recipe

if TYPE_CHECKING:  # pragma: no cover
    from ._catalog import Catalog

__all__ = ["backtest", "BacktestResult", "training_calendar", "training_table", "Scorer", "Evaluator",
           "RECENCY_FEATURE", "REVENUE_FEATURE"]

RECENCY_FEATURE = "recency_gap_ratio"
REVENUE_FEATURE = "revenue_365d"
BASELINES = ("recency", "logistic")

Scorer = Callable[[pd.DataFrame], np.ndarray]
"""Feature rows of a fold's test date (indexed by account_id, as_of) -> one score per row, higher = riskier."""
Evaluator = Callable[[pd.DataFrame], dict[str, float]]
"""The backtest's per-row predictions -> named figures, logged with the run's metrics."""


def training_calendar(data: Any, recipe: Recipe) -> pd.DatetimeIndex:
    """The recipe's as_of dates from the end of the warm-up to the data's end: month starts for a
    calendar in months (``1M``), else every ``every`` days from the end of the warm-up (``7d``, ``1w``)."""
    warmup = recipe.calendar.warmup_days
    every = recipe.calendar.every
    start = data.start + pd.Timedelta(days=warmup)
    if every.months:
        first = start.to_period("M").to_timestamp()
        if first < start:
            first = first + pd.offsets.MonthBegin(1)
        dates = pd.date_range(first, data.end, freq=f"{every.count}MS")
    else:
        dates = pd.date_range(start.normalize(), data.end, freq=f"{every.days}D")
    if len(dates) == 0:
        raise ModelError(
            f"The data spans {data.start.date()} to {data.end.date()}: too short for a {warmup}-day warm-up "
            "before the first as_of. Provide a longer order history or lower calendar.warmup in the recipe "
            "(the `short` recipe has a 28-day warm-up)."
        )
    return pd.DatetimeIndex(dates, name="as_of").as_unit("ns")


def training_table(data: Any, recipe: Recipe, catalog: Catalog, as_of: Any = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Features and labels of the recipe at its calendar (or the given as_of dates).

    Rows of accounts that have already lapsed (:func:`kamrisk._stages.lapsed`) are left out;
    ``X.attrs["lapsed_rows"]`` counts them. With ``label.rows: intact`` so are rows whose orders already
    fell (:func:`kamrisk._stages.declining`), counted in ``X.attrs["declining_rows"]``.
    """
    from ._features import build_features
    from ._labels import make_labels
    from ._stages import declining, lapsed

    as_of = training_calendar(data, recipe) if as_of is None else pd.DatetimeIndex(as_of)
    active_days = recipe.activity.active_days
    X = build_features(data, as_of, catalog=catalog, active_days=active_days, families=recipe.families)
    gone = lapsed(X, recipe.activity)
    fell = declining(X, recipe.stages) & ~gone if recipe.label.rows == "intact" else np.zeros(len(X), dtype=bool)
    attrs = dict(X.attrs)
    X = X[~gone & ~fell]
    X.attrs.update(attrs, lapsed_rows=int(gone.sum()), declining_rows=int(fell.sum()))
    label = recipe.label
    labels = make_labels(data, as_of, horizon=label.horizon_days, kind=label.kind,
                         full_threshold=label.full_threshold, partial_threshold=label.partial_threshold,
                         active_days=active_days, lead=label.lead_days)
    labels = labels.reindex(X.index)
    return X, labels


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

    recipe: Recipe
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
        name = name or self.recipe.backtest.metric
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
        for scorer in self.overall.index:
            if scorer not in ("model", *BASELINES):
                gap = self.overall.loc[scorer, "roc_auc"] - self.overall.loc["model", "roc_auc"]
                out[f"{scorer}_gap_roc_auc"] = float(gap)
        out.update(self.extras)
        return out

    def summary(self) -> str:
        cols = ["roc_auc", "pr_auc", "brier", "ece", "lift_top10", "revenue_recall_top10", "rows", "positives"]
        table = self.overall[cols].to_string(float_format=lambda v: f"{v:.3f}")
        folds = len(self.fold_plan)
        lines = [f"Backtest of {self.recipe.name!r} ({self.recipe.label.kind} defection within "
                 f"{self.recipe.horizon_days} days) over {folds} folds (same rows for every scorer):", table]
        if self.extras:
            lines.append("Further figures: " + ", ".join(f"{k} {v:.3f}" if abs(v) < 10 else f"{k} {v:,.0f}"
                                                        for k, v in self.extras.items()))
        return "\n".join(lines)


def _fold_plan(dates: pd.DatetimeIndex, labelled: pd.DatetimeIndex, recipe: Recipe) -> pd.DataFrame:
    """Test dates ``backtest.step`` apart, back from the last as_of with a complete label; each one the
    latest labelled as_of at or before its target, with enough training dates whose label closed before it."""
    horizon = pd.Timedelta(days=recipe.horizon_days)
    plan_spec = recipe.backtest
    candidates = pd.DatetimeIndex(np.sort(labelled.unique()))
    if len(candidates) == 0:
        raise ModelError(
            f"No as_of date has a complete label window: the data ({dates.min().date() if len(dates) else '?'} "
            f"onwards) is shorter than the warm-up plus the {recipe.horizon_days}-day horizon. Provide a longer "
            "history, or use a recipe with a shorter horizon and warm-up (e.g. `--recipe short`)."
        )
    last = candidates[-1]
    plan, used = [], set()
    for k in range(plan_spec.folds):
        target = last - plan_spec.step.offset() * k if k else last
        eligible = candidates[candidates <= target]
        if not len(eligible):
            break
        test = eligible[-1]
        if test in used:
            continue
        train_dates = dates[dates + horizon <= test]
        if len(train_dates) < plan_spec.min_train_dates:
            break
        used.add(test)
        plan.append({"test_as_of": test, "train_last_as_of": train_dates.max(),
                     "train_label_end": train_dates.max() + horizon, "train_dates": len(train_dates)})
    if not plan:
        first_test = dates.min() + horizon if len(dates) else None
        raise ModelError(
            f"No backtest fold fits in the data: each fold needs at least {plan_spec.min_train_dates} training "
            f"as_of dates whose {recipe.horizon_days}-day label window closes before the test date, and the test "
            f"date needs its own complete label. The recipe's as_of dates run from "
            f"{dates.min().date()} to {dates.max().date()} and labels are complete up to {last.date()}"
            + (f"; the first possible test date is after {first_test.date()}" if first_test is not None else "")
            + ". Provide more history, or use a recipe with more frequent as_of dates, a shorter horizon and "
            "warm-up (the `short` recipe: weekly, 90 days)."
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
    recipe: str | Recipe | dict[str, Any] = "default",
    *,
    catalog: Catalog | None = None,
    table: tuple[pd.DataFrame, pd.DataFrame] | None = None,
    scorers: Mapping[str, Scorer] | None = None,
    evaluators: Sequence[Evaluator] = (),
    explain: bool | None = None,
    on_fold: Callable[[int, int], None] | None = None,
) -> BacktestResult:
    """Backtest a recipe with rolling-origin folds.

    Parameters
    ----------
    data : AccountData
    recipe : recipe name, path, mapping or Recipe
    catalog : Catalog, optional
        The sign catalog; the shipped one by default.
    table : (features, labels) already built by :func:`training_table`, to avoid building them twice
    scorers : dict of name -> Scorer, optional
        Further scorers to evaluate on the same rows, e.g. the simulator's oracle.
    evaluators : list of Evaluator, optional
        Functions of the per-row predictions whose figures join ``extras`` (and the run's metrics).
    explain : bool, optional
        Add each test row's ``band`` and ``cause_family`` to the predictions (TreeSHAP per fold); by
        default only when evaluators are given.
    on_fold : called with (fold, folds) after each fold, e.g. to advance a progress bar

    Returns
    -------
    BacktestResult
    """
    from ._catalog import load_catalog
    from ._model import RiskModel
    from ._stages import stage

    recipe = load_recipe(recipe)
    catalog = catalog if catalog is not None else load_catalog()
    scorers = dict(scorers or {})
    clash = sorted(set(scorers) & {"model", *BASELINES})
    if clash:
        raise ModelError(f"Extra scorers may not be named {clash}: those names are the backtest's own.")
    explain = bool(evaluators) if explain is None else explain
    X, labels = table if table is not None else training_table(data, recipe, catalog)
    y_all = labels["label"]
    dates = X.index.get_level_values("as_of")
    unique_dates = pd.DatetimeIndex(np.sort(dates.unique()))
    labelled = pd.DatetimeIndex(dates[y_all.notna().to_numpy()])
    plan = _fold_plan(unique_dates, labelled, recipe)
    horizon = pd.Timedelta(days=recipe.horizon_days)
    attributes = data.accounts.set_index("account_id")

    parts = []
    for i, fold in plan.iterrows():
        test_as_of = fold["test_as_of"]
        train_mask = ((dates + horizon) <= test_as_of) & y_all.notna().to_numpy()
        test_mask = (dates == test_as_of) & y_all.notna().to_numpy()
        # the guarantee the whole backtest rests on: no training label window reaches the test date
        if (dates[train_mask] + horizon).max() > test_as_of:  # pragma: no cover - a bug, never data
            raise ModelError(f"Leakage: a training label window of fold {fold['fold']} reaches its test date.")
        X_train, y_train = X[train_mask], y_all[train_mask].to_numpy()
        X_test, y_test = X[test_mask], y_all[test_mask].to_numpy()
        model = RiskModel(recipe, directions=catalog.directions).fit(X_train, y_train)
        part = pd.DataFrame(index=X_test.index)
        part["fold"] = int(fold["fold"])
        part["label"] = y_test
        risk = model.predict_risk(X_test).to_numpy()
        part["model"] = risk
        part["recency"] = _recency_score(X_test)
        part["logistic"] = _logistic_scores(X_train, y_train, X_test, recipe.seed)
        for name, scorer in scorers.items():
            part[name] = np.asarray(scorer(X_test), dtype=float)
        part["band"] = model.band(risk)
        part["stage"] = stage(X_test, part["band"].to_numpy(), recipe.activity, recipe.stages)
        if explain:
            from ._explain import explain as explain_rows

            explained = explain_rows(model, X_test, catalog, reasons="at_risk", risk=risk)
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
    names = [s for s in ("model", *BASELINES, *scorers) if s in pred and pred[s].notna().any()]

    fold_rows = []
    for fold, group in pred.groupby("fold"):
        for scorer in names:
            m = evaluate(group["label"], group[scorer], group["revenue"], probability=scorer != "recency")
            fold_rows.append({"fold": fold, "scorer": scorer, **m})
    overall = pd.DataFrame(
        {s: evaluate(pred["label"], pred[s], pred["revenue"], probability=s != "recency") for s in names}
    ).T
    extras: dict[str, float] = {}
    for evaluator in evaluators:
        extras.update({k: float(v) for k, v in evaluator(pred).items()})
    digest = hashlib.sha256(pd.util.hash_pandas_object(data.orders, index=False).to_numpy().tobytes()).hexdigest()
    return BacktestResult(
        recipe=recipe,
        predictions=pred,
        folds=pd.DataFrame(fold_rows),
        overall=overall,
        segments=_group_metrics(pred, names),
        fold_plan=plan,
        data_digest=digest[:16],
        extras=extras,
    )
