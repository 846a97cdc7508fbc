"""Training end to end: features and labels, backtest, final fit, and (optionally) MLflow tracking."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._backtest import BacktestResult, backtest, training_table
from ._config import ModelConfig, load_config
from ._model import RiskModel

__all__ = ["train", "TrainResult"]


@dataclass
class TrainResult:
    """A trained recipe: the final model, its backtest, and what it was trained on."""

    config: ModelConfig
    model: RiskModel
    backtest: BacktestResult
    catalog: Any
    X: pd.DataFrame
    labels: pd.DataFrame
    reference: dict[str, float] = field(default_factory=dict)
    registry: Any = None
    artifacts: dict[str, Callable[[Any], None]] = field(default_factory=dict)

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

    def bundle(self) -> dict[str, Any]:
        from ._predict import make_bundle

        # drift is judged against the latest months of training: scoring happens after them, and the
        # earliest as_of dates lack a prior year for the year-on-year signs
        dates = self.X.index.get_level_values("as_of")
        recent = self.X[dates >= np.sort(dates.unique())[-6]]
        sample = recent.sample(min(len(recent), 10_000), random_state=self.config.seed)
        return make_bundle(self.model, self.catalog, self.config, reference=self.reference,
                           training_sample=sample)

    def extra_artifacts(self) -> dict[str, Callable[[Any], None]]:
        """Further files to log with the run: ``{relative name: writer(path)}``."""
        return dict(self.artifacts)

    def model_card(self) -> str:
        """The recipe's MODEL_CARD.md filled with this training's figures."""
        from jinja2 import Environment

        from ._resources import model_config_path

        try:
            template = (model_config_path(self.config.name).parent / "MODEL_CARD.md").read_text(encoding="utf-8")
        except Exception:  # noqa: BLE001 - a recipe outside models/ may have no card; use the default one
            template = (model_config_path("default").parent / "MODEL_CARD.md").read_text(encoding="utf-8")
        cfg = self.config.raw
        overall = self.backtest.overall
        cols = ["roc_auc", "pr_auc", "brier", "ece", "lift_top10", "revenue_recall_top10", "rows", "positives"]
        seg = self.backtest.segments
        seg = seg[seg["scorer"] == "model"][["by", "group", "roc_auc", "pr_auc", "lift_top10", "rows", "positives"]]
        labelled = self.labelled
        env = Environment(autoescape=False, keep_trailing_newline=True)
        threshold = cfg["label"]["full_threshold" if self.config.label_kind == "full" else "partial_threshold"]
        return env.from_string(template).render(
            name=self.config.name,
            description=cfg.get("description", ""),
            horizon_days=self.config.horizon_days,
            label_kind=self.config.label_kind,
            threshold_pct=int(round(100 * threshold)),
            rows=int(labelled.sum()),
            accounts=self.X[labelled].index.get_level_values("account_id").nunique(),
            dates=self.X[labelled].index.get_level_values("as_of").nunique(),
            positives=int(self.labels.loc[labelled, "label"].sum()),
            data_digest=self.backtest.data_digest,
            catalog_hash=self.catalog.hash,
            families=", ".join(self.config.families),
            trees=self.model.best_iteration_,
            num_leaves=cfg["lightgbm"].get("num_leaves", 31),
            calibration=cfg["calibration"]["method"],
            calibration_share_pct=int(round(100 * cfg["calibration"]["share"])),
            band_high=cfg["bands"]["high"],
            band_medium=cfg["bands"]["medium"],
            folds=len(self.backtest.fold_plan),
            backtest_table=_markdown(overall[cols].reset_index(names="scorer")),
            segment_table=_markdown(seg),
            has_oracle="oracle" in overall.index,
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


def train(
    data: Any,
    config: str | ModelConfig | dict[str, Any] = "default",
    *,
    oracle: pd.DataFrame | None = None,
    truth: pd.DataFrame | None = None,
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
    config : recipe name (``"default"``), path, mapping or ModelConfig
    oracle : the simulator's oracle table, to report the oracle's AUC on the same rows
    truth : the simulator's truth table, to complete the oracle and measure reason fidelity
    track : log the run and register the model (``False`` for a quick in-memory fit)
    tracking_uri, experiment, register : where and under which names to track (see ``kamrisk train``)
    on_step : called with a short description as each stage starts (progress display)

    Returns
    -------
    TrainResult
        ``.registry`` says which alias the new version got and why.
    """
    from ._catalog import load_catalog
    from ._explain import healthy_reference

    step = on_step or (lambda _: None)
    cfg = load_config(config)
    catalog = load_catalog()
    step("Building features and labels")
    X, labels = training_table(data, cfg)
    step("Backtesting")
    result_backtest = backtest(data, cfg, table=(X, labels), oracle=oracle, truth=truth)
    step("Fitting the final model")
    labelled = labels["label"].notna().to_numpy()
    y = labels.loc[labelled, "label"].to_numpy()
    model = RiskModel(cfg).fit(X[labelled], y)
    result = TrainResult(config=cfg, model=model, backtest=result_backtest, catalog=catalog, X=X, labels=labels,
                         reference=healthy_reference(X[labelled], y, catalog))
    if track:
        from ._tracking import log_training

        step("Logging to MLflow")
        result.registry = log_training(result, data, tracking_uri=tracking_uri, experiment=experiment,
                                       register=register)
    return result
