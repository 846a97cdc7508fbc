"""Tracking: one MLflow run per training, the pyfunc model in the registry, champion/challenger.

Against a local SQLite store and against a real `mlflow server` started on 127.0.0.1.
"""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import sim_evaluation, small_recipe

from kamrisk import train


def _weak_recipe():
    """A recipe that only sees segment, size and tenure: it should not beat the full model."""
    return small_recipe().with_overrides(families=["account_context"])


def _check_run(uri: str, result) -> None:
    import mlflow
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    run = client.get_run(result.registry.run_id)
    assert run.data.params["label.horizon"] == "180d"
    assert run.data.params["lightgbm.num_leaves"] == "7"
    for metric in ("roc_auc", "pr_auc", "brier", "ece", "lift_top10", "revenue_recall_top10",
                   "recency_roc_auc", "logistic_roc_auc", "oracle_roc_auc", "fold1_roc_auc",
                   "early_auc_model", "early_auc_oracle", "reason_accuracy"):  # the simulator's evaluators
        assert metric in run.data.metrics, metric
    assert run.data.tags["kamrisk.catalog_hash"] == result.catalog.hash
    assert run.data.tags["kamrisk.version"]
    (dataset,) = run.inputs.dataset_inputs
    assert dataset.dataset.digest and dataset.tags[0].value == "training"
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"MODEL_CARD.md", "plots", "backtest", "recipe"} <= artifacts
    plots = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    assert {"plots/calibration_curve.png", "plots/gain_chart.png", "plots/feature_importance.png"} <= plots
    explanations = {a.path for a in client.list_artifacts(run.info.run_id, "explanations")}
    assert {"explanations/shap_beeswarm.png", "explanations/family_importance.png",
            "explanations/family_importance.csv", "explanations/sample_reasons.csv"} <= explanations
    assert sum(p.startswith("explanations/dependence_") for p in explanations) == 3
    card = mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/MODEL_CARD.md")
    assert f"{result.backtest.overall.loc['model', 'roc_auc']:.3f}" in card and "{{" not in card


def _check_champion_scores(uri: str, result) -> None:
    import mlflow

    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    model = mlflow.pyfunc.load_model("models:/kamrisk@champion")
    example = result.input_example(8)
    out = model.predict(example)
    assert list(out["account_id"]) == list(example["account_id"])
    expected = result.model.predict_risk(result.X.tail(8)).to_numpy()
    pd.testing.assert_series_equal(out["risk"], pd.Series(expected, name="risk"), check_exact=False, rtol=1e-9)
    assert set(out["band"]) <= {"high", "medium", "low"}
    assert {"reason_1", "reason_family_1", "cause_family", "action", "contrib_channel_conflict"} <= set(out)
    explained = out["reason_1"] != ""
    assert explained.any()
    zh = model.predict(example, params={"lang": "zh"})
    pd.testing.assert_series_equal(zh["risk"], out["risk"])
    assert zh.loc[explained, "reason_1"].str.contains(r"[\u4e00-\u9fff]").all()  # worded in Chinese
    assert not out.loc[explained, "reason_1"].str.contains(r"[\u4e00-\u9fff]").any()


def _champion_challenger(uri: str, sim_data, sim_book, first) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    assert first.registry.alias == "champion" and first.registry.version == "1"
    assert "no champion yet" not in first.registry.message
    weak = train(sim_data, _weak_recipe(), tracking_uri=uri)
    assert weak.registry.alias == "challenger"
    assert "does not beat" in weak.registry.message and "the champion stays" in weak.registry.message
    assert str(client.get_model_version_by_alias("kamrisk", "champion").version) == "1"
    assert str(client.get_model_version_by_alias("kamrisk", "challenger").version) == "2"
    assert weak.backtest.signature == first.backtest.signature  # compared on the same folds


@pytest.mark.slow
def test_local_sqlite_store(sim_data, sim_book, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)  # mlflow.set_tracking_uri exports it
    (tmp_path / "mlruns").mkdir()  # mlflow would silently fall back to it without an explicit URI
    scorers, evaluators = sim_evaluation(sim_book, small_recipe())
    result = train(sim_data, small_recipe(), scorers=scorers, evaluators=evaluators)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert (tmp_path / "mlflow.db").is_file()
    assert not any((tmp_path / "mlruns").iterdir()) or (tmp_path / "mlflow.db").stat().st_size > 0
    _check_run(uri, result)
    _check_champion_scores(uri, result)
    _champion_challenger(uri, sim_data, sim_book, result)


@pytest.mark.slow
def test_live_mlflow_server(sim_data, sim_book, mlflow_server):
    scorers, evaluators = sim_evaluation(sim_book, small_recipe())
    result = train(sim_data, small_recipe(), scorers=scorers, evaluators=evaluators, tracking_uri=mlflow_server)
    _check_run(mlflow_server, result)
    _check_champion_scores(mlflow_server, result)
    _champion_challenger(mlflow_server, sim_data, sim_book, result)
