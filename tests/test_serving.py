"""REST serving: `mlflow models serve` on the registered champion answers with risks and reasons."""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.request

import pytest
from conftest import running_server, small_recipe

from kamrisk import train


def _post(url: str, payload: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@pytest.fixture(scope="module")
def served(sim_data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("serve")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    result = train(sim_data, small_recipe(), tracking_uri=uri)
    args = ["models", "serve", "-m", "models:/kamrisk@champion", "--env-manager", "local", "-h", "127.0.0.1"]
    with running_server(args, "/ping", folder, env={"MLFLOW_TRACKING_URI": uri}) as url:
        yield url, result


@pytest.mark.slow
def test_served_model_returns_risk_and_reasons(served):
    url, result = served
    example = result.input_example(6)
    payload = {"dataframe_split": json.loads(example.to_json(orient="split", index=False)),
               "params": {"lang": "zh"}}
    status, body = _post(f"{url}/invocations", payload)
    assert status == 200, body
    rows = body["predictions"]
    assert [r["account_id"] for r in rows] == list(example["account_id"])
    expected = result.model.predict_risk(result.X.tail(6)).to_numpy()
    assert [round(r["risk"], 9) for r in rows] == [round(float(v), 9) for v in expected]
    assert all(r["band"] in ("high", "medium", "low") for r in rows)
    assert any(r["reason_1"] for r in rows)
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in r["reason_1"]) for r in rows if r["reason_1"])


@pytest.mark.slow
def test_request_with_a_missing_column_is_a_400(served):
    url, result = served
    example = result.input_example(2).drop(columns=["open_complaints"])
    payload = {"dataframe_split": json.loads(example.to_json(orient="split", index=False))}
    status, body = _post(f"{url}/invocations", payload)
    assert status == 400
    assert "open_complaints" in json.dumps(body)


@pytest.mark.slow
def test_served_model_follows_batch_rules_for_lapsed_accounts(served):
    """An account whose orders stopped long ago is unscorable over REST too, as in batch scoring."""
    url, result = served
    example = result.input_example(2)
    example.loc[0, "days_since_last_order"] = 400.0
    payload = {"dataframe_split": json.loads(example.to_json(orient="split", index=False))}
    status, body = _post(f"{url}/invocations", payload)
    assert status == 200, body
    first, second = body["predictions"]
    assert first["status"] == "unscorable" and first["status_reason"] == "already defected: no order for 400 days"
    assert (first["risk"] is None or math.isnan(first["risk"])) and first["band"] == ""
    assert second["status"] == "scored" and second["band"] in ("high", "medium", "low")
    assert first["model_version"] == second["model_version"] == f"run {result.registry.run_id[:8]}"
    assert second["horizon_days"] == 180 and second["label_kind"] == "full"
