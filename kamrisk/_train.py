"""Training end to end: features and labels, backtest, final fit, and (optionally) MLflow tracking with the
champion/challenger decision.

The decision is kamrisk's own policy, made here: a new version becomes ``champion`` only when it beats the
champion's backtest metric on the same folds (the champion's recipe is re-backtested on this data when
its folds differ); tracking only records it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._backtest import BacktestResult, Evaluator, Scorer, backtest, training_table
from ._model import RiskModel
from ._recipe import Recipe, load_recipe
from ._trained import TrainedModel

if TYPE_CHECKING:  # pragma: no cover
    from ._catalog import Catalog

__all__ = ["train", "TrainResult", "RegistryOutcome", "LOWER_IS_BETTER"]

LOWER_IS_BETTER = {"brier", "ece"}


@dataclass
class RegistryOutcome:
    """What happened in the registry: the run, the new version, and which alias it got and why."""

    run_id: str
    model_uri: str
    name: str | None
    version: str | None
    alias: str | None
    message: str


@dataclass
class TrainResult:
    """A trained recipe: the :class:`TrainedModel`, its backtest, and what it was trained on.

    Attributes
    ----------
    trained : TrainedModel
        What scoring, the MLflow model, REST and Spark use.
    backtest : BacktestResult
    X, labels : DataFrame
        Features and labels of every training row (censored labels included, as NaN).
    registry : RegistryOutcome or None
        Where tracking put it, when tracked.
    """

    trained: TrainedModel
    backtest: BacktestResult
    X: pd.DataFrame
    labels: pd.DataFrame
    registry: RegistryOutcome | None = None
    artifacts: dict[str, Callable[[Any], None]] = field(default_factory=dict)

    @property
    def model(self) -> RiskModel:
        return self.trained.model

    @property
    def catalog(self) -> Catalog:
        return self.trained.catalog

    @property
    def recipe(self) -> Recipe:
        return self.trained.recipe

    @property
    def reference(self) -> dict[str, float]:
        return self.trained.reference

    @property
    def labelled(self) -> np.ndarray:
        return self.labels["label"].notna().to_numpy()

    def training_frame(self) -> pd.DataFrame:
        """The rows the final model was fitted on, features and label, as a flat table."""
        frame = self.X[self.labelled].copy()
        frame["label"] = self.labels.loc[self.labelled, "label"].to_numpy()
        frame = frame.reset_index()
        for column in frame.columns:
            if isinstance(frame[column].dtype, pd.CategoricalDtype):
                frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
        return frame

    def input_example(self, rows: int = 5) -> pd.DataFrame:
        """Scoring input as the pyfunc model takes it: keys, features, categoricals as strings."""
        example = self.X.tail(rows).reset_index()
        example["as_of"] = example["as_of"].dt.strftime("%Y-%m-%d")
        for column in self.model.categories_:
            example[column] = example[column].astype(object).where(example[column].notna(), None)
            example[column] = example[column].map(lambda v: None if v is None else str(v))
        return example

    def extra_artifacts(self) -> dict[str, Callable[[Any], None]]:
        """Further files to log with the run: ``{relative name: writer(path)}``."""
        return dict(self.artifacts)

    def model_card(self, model_version: str | None = None) -> str:
        """The recipe's MODEL_CARD.md filled with this training's figures."""
        from jinja2 import Environment

        from ._errors import KamriskError
        from ._resources import model_config_path

        recipe = self.recipe
        try:
            template = (model_config_path(recipe.name).parent / "MODEL_CARD.md").read_text(encoding="utf-8")
        except (KamriskError, OSError):  # a recipe outside models/ may have no card: use the default one
            template = (model_config_path("default").parent / "MODEL_CARD.md").read_text(encoding="utf-8")
        overall = self.backtest.overall
        cols = ["roc_auc", "pr_auc", "brier", "ece", "lift_top10", "revenue_recall_top10", "rows", "positives"]
        seg = self.backtest.segments
        seg = seg[seg["scorer"] == "model"][["by", "group", "roc_auc", "pr_auc", "lift_top10", "rows", "positives"]]
        labelled = self.labelled
        env = Environment(autoescape=False, keep_trailing_newline=True)
        extra = [s for s in overall.index if s not in ("model", "recency", "logistic")]
        return env.from_string(template).render(
            name=recipe.name,
            description=recipe.description,
            horizon_days=recipe.horizon_days,
            label_kind=recipe.label_kind,
            threshold_pct=int(round(100 * recipe.label.threshold)),
            model_version=model_version or self.trained.model_version,
            rows=int(labelled.sum()),
            accounts=self.X[labelled].index.get_level_values("account_id").nunique(),
            dates=self.X[labelled].index.get_level_values("as_of").nunique(),
            positives=int(self.labels.loc[labelled, "label"].sum()),
            data_digest=self.backtest.data_digest,
            catalog_hash=self.catalog.hash,
            families=", ".join(f for f in self.catalog.families
                               if recipe.families is None or f in recipe.families),
            trees=self.model.best_iteration_,
            num_leaves=recipe.lightgbm.get("num_leaves", 31),
            calibration=recipe.calibration.method,
            calibration_share_pct=int(round(100 * recipe.calibration.share)),
            band_high=recipe.bands.high,
            band_medium=recipe.bands.medium,
            folds=len(self.backtest.fold_plan),
            every=str(recipe.calendar.every),
            rows_rule=recipe.label.rows,
            declining_pct=int(round(100 * recipe.stages.declining_share)),
            backtest_table=_markdown(overall[cols].reset_index(names="scorer")),
            segment_table=_markdown(seg),
            has_oracle="oracle" in overall.index,
            extra_scorers=", ".join(extra),
        )


def _markdown(frame: pd.DataFrame) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.0f}" if v.is_integer() and abs(v) >= 10 else f"{v:.3f}"
        return str(v)

    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "---|" * len(frame.columns)
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def _versions(result_backtest: BacktestResult, catalog: Catalog) -> dict[str, str]:
    import lightgbm

    from . import __version__

    return {
        "kamrisk": __version__,
        "lightgbm": lightgbm.__version__,
        "catalog_hash": catalog.hash,
        "data_digest": result_backtest.data_digest,
        "trained_at": pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _training_sample(X: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Drift is judged against the latest months of training: scoring happens after them, and the
    earliest as_of dates lack a prior year for the year-on-year signs."""
    dates = X.index.get_level_values("as_of")
    unique = np.sort(dates.unique())
    recent = X[dates >= unique[max(len(unique) - 6, 0)]]
    return recent.sample(min(len(recent), 10_000), random_state=seed)


def _better(new: float, old: float, metric: str) -> bool:
    return new < old if metric in LOWER_IS_BETTER else new > old


def _decide_alias(result: TrainResult, data: Any, champion: Any, catalog: Catalog) -> tuple[str, str]:
    """``champion`` when the new version beats the current champion on the same folds, else
    ``challenger``; and the sentence that says why."""
    metric = result.recipe.backtest.metric
    new = result.backtest.metric(metric)
    if champion is None:
        return "champion", f"backtest {metric} {new:.4f} (the first version of this registered model)"
    if champion.fold_signature == result.backtest.signature and metric in champion.metrics:
        old, how = champion.metrics[metric], f"champion v{champion.version} on the same folds"
    else:  # different data or folds: re-backtest the champion's recipe on this data, the new run's folds
        rerun = backtest(data, champion.recipe, catalog=catalog)
        old, how = rerun.metric(metric), f"champion v{champion.version}'s recipe re-backtested on the same data"
    if not np.isfinite(new):
        return "challenger", f"backtest {metric} is {new} and cannot be compared; the champion stays"
    if not np.isfinite(old) or _better(new, old, metric):
        return "champion", f"backtest {metric} {new:.4f} beats {old:.4f} ({how})"
    return "challenger", f"backtest {metric} {new:.4f} does not beat {old:.4f} ({how}); the champion stays"


def train(
    data: Any,
    recipe: str | Recipe | Mapping[str, Any] = "default",
    *,
    catalog: Catalog | str | None = None,
    scorers: Mapping[str, Scorer] | None = None,
    evaluators: Sequence[Evaluator] = (),
    track: bool = True,
    tracking_uri: str | None = None,
    experiment: str = "kamrisk",
    register: str | None = "kamrisk",
    on_step: Callable[[str], None] | None = None,
) -> TrainResult:
    """Build features and labels, backtest the recipe, fit the final model, and track it in MLflow.

    Parameters
    ----------
    data : AccountData
    recipe : recipe name (``"default"``, ``"early"``), path, mapping or Recipe
    catalog : Catalog or folder, optional
        The sign catalog; the shipped one by default. A folder is read on top of the shipped catalog
        (your own signs and event types, see ``features/README.md``).
    scorers, evaluators : optional
        Further scorers and evaluators for the backtest (on simulated data: :func:`kamrisk.sim.evaluation`).
    track : log the run and register the model (``False`` for a quick in-memory fit)
    tracking_uri, experiment, register : where and under which names to track (see ``kamrisk train``)
    on_step : called with a short description as each stage starts (progress display); each step is also
        logged to the ``kamrisk`` logger at INFO

    Returns
    -------
    TrainResult
        ``.trained`` is the model to score with; ``.registry`` says which alias the new version got and why.
    """
    from ._catalog import Catalog, load_catalog
    from ._explain import healthy_reference
    from ._progress import reporter

    step = reporter(on_step)  # and to the `kamrisk` logger: a Python caller sees progress too
    recipe = load_recipe(recipe)
    if not isinstance(catalog, Catalog):
        catalog = load_catalog(catalog, extends=True) if catalog is not None else load_catalog()
    if track:  # a tracking store that cannot be reached fails now, not after minutes of fitting
        from ._tracking import check_store

        check_store(tracking_uri)
    step("Building features and labels")
    X, labels = training_table(data, recipe, catalog)
    step("Backtesting")
    result_backtest = backtest(data, recipe, catalog=catalog, table=(X, labels), scorers=scorers,
                               evaluators=evaluators)
    step("Fitting the final model")
    labelled = labels["label"].notna().to_numpy()
    y = labels.loc[labelled, "label"].to_numpy()
    model = RiskModel(recipe, directions=catalog.directions).fit(X[labelled], y)
    trained = TrainedModel(
        model=model, catalog=catalog, recipe=recipe,
        reference=healthy_reference(X[labelled], y, catalog),
        training_sample=_training_sample(X, recipe.seed),
        versions=_versions(result_backtest, catalog),
    )
    result = TrainResult(trained=trained, backtest=result_backtest, X=X, labels=labels)
    if track:
        from ._tracking import champion_record, log_training, set_alias

        step("Logging to MLflow")
        logged = log_training(result, tracking_uri=tracking_uri, experiment=experiment)
        trained.model_version = f"run {logged.run_id[:8]}"
        trained.versions["run_id"] = logged.run_id
        if not register:
            result.registry = RegistryOutcome(logged.run_id, logged.model_uri, None, None, None,
                                              "not registered (no registered model name given)")
            return result
        champion = champion_record(register, tracking_uri=tracking_uri)
        alias, why = _decide_alias(result, data, champion, catalog)
        version = set_alias(logged, register, alias, why, tracking_uri=tracking_uri)
        trained.model_version = f"{register} v{version}"
        verb = "is the champion" if alias == "champion" else "is a challenger"
        result.registry = RegistryOutcome(logged.run_id, logged.model_uri, register, str(version), alias,
                                          f"v{version} {verb}: {why}.")
    return result
