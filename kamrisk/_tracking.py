"""MLflow tracking and registry: the only kamrisk module (with the pyfunc model) that imports mlflow.

Default store: ``sqlite:///<cwd>/mlflow.db`` set explicitly (MLflow silently falls back to a file store
when ``./mlruns`` exists and no URI is set). ``tracking_uri=`` or ``MLFLOW_TRACKING_URI`` points it at a
server instead.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["resolve_tracking_uri", "log_training", "load_bundle", "RegistryOutcome", "LOWER_IS_BETTER"]

LOWER_IS_BETTER = {"brier", "ece"}
_PYFUNC_CODE = Path(__file__).with_name("_pyfunc_code.py")


def resolve_tracking_uri(uri: str | None = None) -> str:
    """The explicit URI, else ``MLFLOW_TRACKING_URI``, else a SQLite store in the working directory."""
    return uri or os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path.cwd() / 'mlflow.db'}"


@dataclass
class RegistryOutcome:
    """What happened in the registry: the run, the new version, and which alias it got and why."""

    run_id: str
    model_uri: str
    name: str | None
    version: str | None
    alias: str | None
    message: str


def _better(new: float, old: float, metric: str) -> bool:
    return new < old if metric in LOWER_IS_BETTER else new > old


def _plots(result: Any, folder: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    pred = result.backtest.predictions
    paths = []
    # calibration curve
    fig, ax = plt.subplots(figsize=(5, 5))
    bins = np.linspace(0, 1, 11)
    which = np.clip(np.digitize(pred["model"], bins) - 1, 0, 9)
    grouped = pred.assign(bin=which).groupby("bin").agg(p=("model", "mean"), y=("label", "mean"), n=("label", "size"))
    ax.plot([0, 1], [0, 1], ls="--", c="grey", label="perfect")
    ax.plot(grouped["p"], grouped["y"], marker="o", label="model")
    ax.set(xlabel="predicted risk", ylabel="observed defection rate", title="Calibration (backtest)")
    ax.legend()
    paths.append(folder / "calibration_curve.png")
    fig.savefig(paths[-1], dpi=100, bbox_inches="tight")
    plt.close(fig)
    # cumulative gain
    fig, ax = plt.subplots(figsize=(5, 5))
    for scorer in [s for s in ("model", "logistic", "recency", "oracle") if s in pred]:
        order = np.argsort(-pred[scorer].fillna(-np.inf).to_numpy(), kind="stable")
        caught = np.cumsum(pred["label"].to_numpy()[order]) / max(pred["label"].sum(), 1)
        ax.plot(np.arange(1, len(order) + 1) / len(order), caught, label=scorer)
    ax.plot([0, 1], [0, 1], ls="--", c="grey")
    ax.axvline(0.1, c="grey", lw=0.5)
    ax.set(xlabel="share of accounts contacted (by risk)", ylabel="share of defections caught",
           title="Cumulative gain (backtest)")
    ax.legend()
    paths.append(folder / "gain_chart.png")
    fig.savefig(paths[-1], dpi=100, bbox_inches="tight")
    plt.close(fig)
    # feature importance (gain)
    booster = result.model.booster_
    gain = pd.Series(booster.feature_importance("gain"), index=booster.feature_name()).nlargest(20)[::-1]
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.barh(gain.index, gain.to_numpy())
    ax.set(xlabel="total gain", title="Feature importance (top 20)")
    paths.append(folder / "feature_importance.png")
    fig.savefig(paths[-1], dpi=100, bbox_inches="tight")
    plt.close(fig)
    return paths


def _champion_metric(client: Any, name: str, result: Any, data: Any, metric: str) -> tuple[float | None, str]:
    """The current champion's backtest metric on the same folds as ``result`` (None when no champion)."""
    from mlflow.exceptions import MlflowException

    try:
        champion = client.get_model_version_by_alias(name, "champion")
    except MlflowException:
        return None, "no champion yet"
    run = client.get_run(champion.run_id)
    if run.data.tags.get("kamrisk.fold_signature") == result.backtest.signature and metric in run.data.metrics:
        return run.data.metrics[metric], f"champion v{champion.version} on the same folds"
    # different data or folds: re-backtest the champion's recipe on this data, the new run's folds
    import mlflow.artifacts

    from ._backtest import backtest
    from ._config import load_config

    with tempfile.TemporaryDirectory() as tmp:
        path = mlflow.artifacts.download_artifacts(run_id=champion.run_id, artifact_path="recipe/config.yaml",
                                                   dst_path=tmp, tracking_uri=client.tracking_uri)
        champion_config = load_config(path)
    rerun = backtest(data, champion_config)
    return rerun.metric(metric), f"champion v{champion.version}'s recipe re-backtested on the same data"


def log_training(
    result: Any,
    data: Any,
    *,
    tracking_uri: str | None = None,
    experiment: str = "kamrisk",
    register: str | None = "kamrisk",
) -> RegistryOutcome:
    """Log a :class:`~kamrisk.TrainResult` as one MLflow run, register the model, move the aliases."""
    import joblib
    import mlflow
    from mlflow import MlflowClient
    from mlflow.models import infer_signature

    from . import __version__
    from ._predict import predict_frame

    uri = resolve_tracking_uri(tracking_uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    mlflow.set_experiment(experiment)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    cfg = result.config
    metric = cfg.raw["backtest"]["metric"]
    with mlflow.start_run(run_name=f"{cfg.name}-{pd.Timestamp.now():%Y%m%d-%H%M%S}") as run, \
            tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        mlflow.log_params(cfg.flat())
        mlflow.log_metrics(result.backtest.metrics())
        mlflow.set_tags({
            "kamrisk.version": __version__,
            "kamrisk.catalog_hash": result.catalog.hash,
            "kamrisk.fold_signature": result.backtest.signature,
            "kamrisk.data_digest": result.backtest.data_digest,
            "kamrisk.recipe": cfg.name,
            "kamrisk.selection_metric": metric,
        })
        table = result.training_frame()
        dataset = mlflow.data.from_pandas(table, name=f"{cfg.name}-training", targets="label")
        mlflow.log_input(dataset, context="training")
        (folder / "recipe").mkdir()
        (folder / "recipe" / "config.yaml").write_text(cfg.to_yaml(), encoding="utf-8")
        mlflow.log_artifact(str(folder / "recipe" / "config.yaml"), artifact_path="recipe")
        for path in _plots(result, folder):
            mlflow.log_artifact(str(path), artifact_path="plots")
        from ._explain._plots import global_explanations

        labelled = result.X[result.labelled]
        for path in global_explanations(result.model, labelled, result.catalog, folder / "explanations",
                                        seed=cfg.seed, reference=result.reference):
            mlflow.log_artifact(str(path), artifact_path="explanations")
        result.backtest.folds.to_csv(folder / "backtest_folds.csv", index=False)
        result.backtest.segments.to_csv(folder / "backtest_segments.csv", index=False)
        result.backtest.fold_plan.to_csv(folder / "backtest_fold_plan.csv", index=False)
        for name in ("backtest_folds.csv", "backtest_segments.csv", "backtest_fold_plan.csv"):
            mlflow.log_artifact(str(folder / name), artifact_path="backtest")
        card = folder / "MODEL_CARD.md"
        card.write_text(result.model_card(), encoding="utf-8")
        mlflow.log_artifact(str(card))
        for name, content in result.extra_artifacts().items():
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            content(target)
            mlflow.log_artifact(str(target), artifact_path=str(Path(name).parent) if Path(name).parent != Path(".")
                                else None)

        bundle_path = folder / "bundle.joblib"
        joblib.dump(result.bundle(), bundle_path)
        example = result.input_example()
        output = predict_frame(result.bundle(), example)
        signature = infer_signature(example, output, params={"lang": "en", "reasons": "all"})
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*Add type hints", category=UserWarning)
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=str(_PYFUNC_CODE),
                artifacts={"bundle": str(bundle_path)},
                signature=signature,
                input_example=example,
            )
        run_id = run.info.run_id
    if not register:
        return RegistryOutcome(run_id, info.model_uri, None, None, None, "not registered (--register not set)")
    old, how = _champion_metric(client, register, result, data, metric)
    with contextlib.redirect_stderr(io.StringIO()):  # mlflow prints its own "Successfully registered" lines
        version = mlflow.register_model(info.model_uri, register).version
    new = result.backtest.metric(metric)
    if old is None or _better(new, old, metric):
        alias = "champion"
        message = (f"v{version} is the champion: backtest {metric} {new:.4f}"
                   + ("" if old is None else f" beats {old:.4f} ({how})") + ".")
    else:
        alias = "challenger"
        message = (f"v{version} is a challenger: backtest {metric} {new:.4f} does not beat {old:.4f} "
                   f"({how}); the champion stays.")
    client.set_registered_model_alias(register, alias, version)
    client.set_model_version_tag(register, version, "kamrisk.alias_reason", message)
    return RegistryOutcome(run_id, info.model_uri, register, str(version), alias, message)


def load_bundle(model_uri: str, tracking_uri: str | None = None) -> dict[str, Any]:
    """The scoring bundle of a kamrisk MLflow model: any model URI or a local model folder."""
    import mlflow
    from mlflow.exceptions import MlflowException

    from ._errors import ModelError

    uri = resolve_tracking_uri(tracking_uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        with warnings.catch_warnings():
            # mlflow's advice to type-hint PythonModel.predict: kamrisk logs an explicit signature instead
            warnings.filterwarnings("ignore", message=".*Add type hints", category=UserWarning)
            loaded = mlflow.pyfunc.load_model(model_uri)
    except (MlflowException, OSError) as exc:
        raise ModelError(f"Cannot load the model {model_uri!r} (tracking URI {uri}): {exc}") from exc
    python_model = loaded.unwrap_python_model()
    bundle = getattr(python_model, "bundle", None)
    if bundle is None:
        raise ModelError(f"{model_uri!r} is not a kamrisk model (it has no kamrisk scoring bundle).")
    return bundle
