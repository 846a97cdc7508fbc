"""MLflow tracking and registry: the only kamrisk module (with the pyfunc model) that imports mlflow.

Default store: ``sqlite:///<cwd>/mlflow.db`` set explicitly (MLflow silently falls back to a file store
when ``./mlruns`` exists and no URI is set). ``tracking_uri=`` or ``MLFLOW_TRACKING_URI`` points it at a
server instead. A server that cannot be reached is found before any work (:func:`check_store`); requests
to it are retried at most twice and time out after 30 s (MLflow's own ``MLFLOW_HTTP_REQUEST_*`` settings,
unless the user set them). A run that fails midway is marked FAILED while the store still answers; a run
whose kamrisk process died before it could close it (the server was down at that moment) is marked FAILED
by the next training on the same host and experiment. A registered model is never left without a version.
Which alias a new version gets is decided by training (:mod:`kamrisk._train`); this module records it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ._errors import ModelError, TrackingError
from ._progress import quiet_third_parties

__all__ = ["resolve_tracking_uri", "check_store", "log_training", "champion_record", "set_alias",
           "load_trained", "LoggedRun", "ChampionRecord"]

_PYFUNC_CODE = Path(__file__).with_name("_pyfunc_code.py")
# bounded retries and timeouts for a tracking server (mlflow's defaults retry for minutes)
_HTTP_LIMITS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
                "MLFLOW_HTTP_REQUEST_TIMEOUT": "30"}


def resolve_tracking_uri(uri: str | None = None) -> str:
    """The explicit URI, else ``MLFLOW_TRACKING_URI``, else a SQLite store in the working directory."""
    return uri or os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path.cwd() / 'mlflow.db'}"


def _use(uri: str) -> None:
    import mlflow

    for key, value in _HTTP_LIMITS.items():
        os.environ.setdefault(key, value)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)


def check_store(tracking_uri: str | None = None, timeout: float = 5.0) -> str:
    """Fail fast, in one line, when the tracking store cannot be used: a server that does not answer, or
    a SQLite file whose folder does not exist or cannot be written. Returns the URI."""
    uri = resolve_tracking_uri(tracking_uri)
    if uri.startswith(("http://", "https://")):
        import urllib.error
        import urllib.request

        try:
            with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout) as answer:
                answer.read(64)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise TrackingError(
                f"The MLflow tracking server {uri} does not answer ({reason}). Start it, or point "
                "--tracking-uri / MLFLOW_TRACKING_URI at a running one."
            ) from None
    elif uri.startswith("sqlite:///"):
        folder = Path(uri.removeprefix("sqlite:///")).parent
        if not folder.is_dir() or not os.access(folder, os.W_OK):
            raise TrackingError(f"The MLflow store {uri} cannot be written: {folder} is not a writable folder.")
    return uri


@dataclass
class LoggedRun:
    """A finished training run and its logged model."""

    run_id: str
    model_uri: str


@dataclass
class ChampionRecord:
    """The registry's current champion: its version, run metrics, fold signature and recipe."""

    version: str
    metrics: dict[str, float]
    fold_signature: str | None
    recipe: Any


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


def _experiment(name: str, uri: str) -> None:
    """Use experiment ``name``; a new one on a SQLite store keeps its artifacts beside the store
    (``<store folder>/mlartifacts``), not in ``./mlruns`` of whatever folder the command ran in."""
    import mlflow

    if uri.startswith("sqlite:///") and mlflow.get_experiment_by_name(name) is None:
        root = Path(uri.removeprefix("sqlite:///")).parent / "mlartifacts"
        mlflow.create_experiment(name, artifact_location=root.resolve().as_uri())
    mlflow.set_experiment(name)


def _unreachable(exc: BaseException) -> bool:
    """True when an MLflow error means the store did not answer (rather than "no such model/alias")."""
    code = getattr(exc, "error_code", "")
    return code in ("INTERNAL_ERROR", "TEMPORARILY_UNAVAILABLE") or "API request to" in str(exc)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def _close_orphans(client: Any, experiment_id: str) -> None:
    """Mark FAILED the runs this host's kamrisk processes started and could not close (their process is
    gone: killed, or the server was down when it tried). Best effort: a store that does not answer here
    fails in the next step with a clear error."""
    host = socket.gethostname()
    with contextlib.suppress(Exception):
        orphans = client.search_runs([experiment_id], "attributes.status = 'RUNNING' and "
                                     f"tags.`kamrisk.host` = '{host}'", max_results=200)
        for run in orphans:
            pid = run.data.tags.get("kamrisk.pid", "")
            if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
                client.set_tag(run.info.run_id, "kamrisk.failure",
                               "the kamrisk process ended before it could close this run")
                client.set_terminated(run.info.run_id, "FAILED")


def _end_failed(client: Any, run_id: str, patience: float = 10.0) -> None:
    """Mark ``run_id`` FAILED, trying for ``patience`` seconds (a server being restarted comes back)."""
    import mlflow

    deadline = time.monotonic() + patience
    active = mlflow.active_run()
    if active is not None and active.info.run_id == run_id:
        try:  # end_run leaves mlflow's active run first, then tells the store (its exit hook has nothing left)
            mlflow.end_run(status="FAILED")
            return
        except Exception:  # noqa: BLE001
            pass
    while True:
        try:
            client.set_terminated(run_id, "FAILED")
            return
        except Exception:  # noqa: BLE001
            if time.monotonic() > deadline:
                return
            time.sleep(1.0)


def _failed(what: str, uri: str, exc: BaseException) -> TrackingError:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return TrackingError(f"{what} failed on the tracking store {uri}: {first[:300]}")


@quiet_third_parties()
def log_training(result: Any, *, tracking_uri: str | None = None, experiment: str = "kamrisk") -> LoggedRun:
    """Log a :class:`~kamrisk.TrainResult` as one MLflow run with its model; the run ends FINISHED, or
    FAILED (as far as the store still answers) when logging breaks midway."""
    import mlflow
    from mlflow.models import infer_signature

    from . import __version__

    uri = check_store(tracking_uri)
    _use(uri)
    recipe = result.recipe
    trained = result.trained
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    try:
        _experiment(experiment, uri)
        _close_orphans(client, mlflow.get_experiment_by_name(experiment).experiment_id)
        run = mlflow.start_run(run_name=f"{recipe.name}-{pd.Timestamp.now():%Y%m%d-%H%M%S}",
                               tags={"kamrisk.host": socket.gethostname(), "kamrisk.pid": str(os.getpid())})
    except Exception as exc:  # noqa: BLE001 - whatever the store says, the user gets one line
        raise _failed("Starting the MLflow run", uri, exc) from exc
    run_id = run.info.run_id
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            mlflow.log_params(recipe.flat())
            mlflow.log_metrics(result.backtest.metrics())
            mlflow.set_tags({
                "kamrisk.version": __version__,
                "kamrisk.catalog_hash": result.catalog.hash,
                "kamrisk.fold_signature": result.backtest.signature,
                "kamrisk.data_digest": result.backtest.data_digest,
                "kamrisk.recipe": recipe.name,
                "kamrisk.horizon_days": str(recipe.horizon_days),
                "kamrisk.label_kind": recipe.label_kind,
                "kamrisk.selection_metric": recipe.backtest.metric,
            })
            table = result.training_frame()
            dataset = mlflow.data.from_pandas(table, name=f"{recipe.name}-training", targets="label")
            mlflow.log_input(dataset, context="training")
            (folder / "recipe").mkdir()
            (folder / "recipe" / "config.yaml").write_text(recipe.to_yaml(), encoding="utf-8")
            mlflow.log_artifact(str(folder / "recipe" / "config.yaml"), artifact_path="recipe")
            for path in _plots(result, folder):
                mlflow.log_artifact(str(path), artifact_path="plots")
            from ._explain._plots import global_explanations

            labelled = result.X[result.labelled]
            for path in global_explanations(result.model, labelled, result.catalog, folder / "explanations",
                                            seed=recipe.seed, reference=result.reference):
                mlflow.log_artifact(str(path), artifact_path="explanations")
            result.backtest.folds.to_csv(folder / "backtest_folds.csv", index=False)
            result.backtest.segments.to_csv(folder / "backtest_segments.csv", index=False)
            result.backtest.fold_plan.to_csv(folder / "backtest_fold_plan.csv", index=False)
            for name in ("backtest_folds.csv", "backtest_segments.csv", "backtest_fold_plan.csv"):
                mlflow.log_artifact(str(folder / name), artifact_path="backtest")
            # the logged copy knows its run; the caller's model is left as it was
            logged = dataclasses.replace(trained, model_version=f"run {run_id[:8]}",
                                         versions={**trained.versions, "run_id": run_id})
            card = folder / "MODEL_CARD.md"
            card.write_text(result.model_card(model_version=logged.model_version), encoding="utf-8")
            mlflow.log_artifact(str(card))
            for name, content in result.extra_artifacts().items():
                target = folder / name
                target.parent.mkdir(parents=True, exist_ok=True)
                content(target)
                parent = Path(name).parent
                mlflow.log_artifact(str(target), artifact_path=str(parent) if parent != Path(".") else None)
            model_path = logged.save(folder / "trained_model.joblib")
            example = result.input_example()
            output = logged.predict_frame(example)
            signature = infer_signature(example, output, params={"lang": "en", "reasons": "all"})
            with quiet_third_parties():  # mlflow's advice to type-hint predict, and its schema hints
                info = mlflow.pyfunc.log_model(
                    name="model",
                    python_model=str(_PYFUNC_CODE),
                    artifacts={"trained_model": str(model_path)},
                    signature=signature,
                    input_example=example,
                )
    except BaseException as exc:  # Ctrl-C too: the run must not stay RUNNING
        _end_failed(client, run_id, patience=0.0 if isinstance(exc, KeyboardInterrupt) else 10.0)
        if not isinstance(exc, Exception):
            raise
        from ._errors import KamriskError

        if isinstance(exc, KamriskError):
            raise
        raise _failed(f"Logging run {run_id}", uri, exc) from exc
    try:
        mlflow.end_run(status="FINISHED")
    except Exception as exc:  # noqa: BLE001
        _end_failed(client, run_id)
        raise _failed(f"Closing run {run_id}", uri, exc) from exc
    return LoggedRun(run_id, info.model_uri)


@quiet_third_parties()
def champion_record(name: str, *, tracking_uri: str | None = None) -> ChampionRecord | None:
    """The current ``champion`` of registered model ``name``, or None when there is none."""
    import mlflow.artifacts
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from ._recipe import load_recipe

    uri = resolve_tracking_uri(tracking_uri)
    _use(uri)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    try:
        champion = client.get_model_version_by_alias(name, "champion")
    except MlflowException as exc:
        if _unreachable(exc):  # a store that does not answer is not "no champion yet"
            raise _failed(f"Looking up the champion of {name!r}", uri, exc) from exc
        return None
    try:
        run = client.get_run(champion.run_id)
        with tempfile.TemporaryDirectory() as tmp:
            path = mlflow.artifacts.download_artifacts(run_id=champion.run_id, artifact_path="recipe/config.yaml",
                                                       dst_path=tmp, tracking_uri=uri)
            recipe = load_recipe(path)
    except Exception as exc:  # noqa: BLE001
        raise _failed(f"Reading champion v{champion.version} of {name!r}", uri, exc) from exc
    return ChampionRecord(str(champion.version), dict(run.data.metrics),
                          run.data.tags.get("kamrisk.fold_signature"), recipe)


@quiet_third_parties()
def set_alias(logged: LoggedRun, name: str, alias: str, why: str, *, tracking_uri: str | None = None) -> str:
    """Register the run's model under ``name``, give the new version ``alias`` with ``why`` as a tag, and
    return the version. A registered model created here is removed again if no version could be added."""
    import mlflow
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    uri = resolve_tracking_uri(tracking_uri)
    _use(uri)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    try:
        client.get_registered_model(name)
        existed = True
    except MlflowException as exc:
        if _unreachable(exc):
            raise _failed(f"Looking up registered model {name!r}", uri, exc) from exc
        existed = False
    except Exception as exc:  # noqa: BLE001
        raise _failed(f"Looking up registered model {name!r}", uri, exc) from exc
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # mlflow prints its own "Successfully registered" lines
            version = mlflow.register_model(logged.model_uri, name).version
        client.set_registered_model_alias(name, alias, version)
        client.set_model_version_tag(name, version, "kamrisk.alias_reason", why)
    except Exception as exc:  # noqa: BLE001
        if not existed:
            _drop_if_empty(client, name)
        raise _failed(f"Registering run {logged.run_id} as {name!r}", uri, exc) from exc
    return str(version)


def _drop_if_empty(client: Any, name: str, patience: float = 10.0) -> None:
    """Delete registered model ``name`` if it has no version, trying for ``patience`` seconds."""
    deadline = time.monotonic() + patience
    while True:
        try:
            if not client.search_model_versions(f"name='{name}'"):
                client.delete_registered_model(name)
            return
        except Exception:  # noqa: BLE001
            if time.monotonic() > deadline:
                return
            time.sleep(1.0)


def _registry_version(model_uri: str, uri: str) -> str | None:
    """``"<name> v<version>"`` for a ``models:/name@alias`` or ``models:/name/version`` URI."""
    if not model_uri.startswith("models:/"):
        return None
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    rest = model_uri.removeprefix("models:/").strip("/")
    with contextlib.suppress(Exception):
        if "@" in rest:
            name, alias = rest.split("@", 1)
            return f"{name} v{client.get_model_version_by_alias(name, alias).version}"
        name, _, version = rest.partition("/")
        if version.isdigit():
            return f"{name} v{version}"
    return None


@quiet_third_parties()
def load_trained(model_uri: str, tracking_uri: str | None = None) -> Any:
    """The :class:`~kamrisk.TrainedModel` of a kamrisk MLflow model: any model URI or a local model folder."""
    import mlflow
    from mlflow.exceptions import MlflowException

    uri = resolve_tracking_uri(tracking_uri)
    if model_uri.startswith(("models:/", "runs:/")):
        check_store(uri)
    _use(uri)
    try:
        with quiet_third_parties():  # mlflow's advice to type-hint predict: kamrisk logs a signature instead
            loaded = mlflow.pyfunc.load_model(model_uri)
    except (MlflowException, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"Cannot load the model {model_uri!r} (tracking URI {uri}): {first}") from exc
    trained = getattr(loaded.unwrap_python_model(), "trained", None)
    if trained is None:
        raise ModelError(f"{model_uri!r} is not a kamrisk model (it has no kamrisk TrainedModel).")
    trained.model_version = _registry_version(model_uri, uri) or trained.model_version
    return trained
