"""REST serving: `mlflow models serve --workers 2` on the registered champion answers with risks and reasons,
the same stage/unscorable rules as batch scoring, and one-line HTTP 400s for a client's mistakes."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

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
    args = ["models", "serve", "-m", "models:/kamrisk@champion", "--env-manager", "local", "-h", "127.0.0.1",
            "--workers", "2"]
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
    assert first["risk"] is None and first["band"] == ""  # JSON null, not NaN
    assert second["status"] == "scored" and second["band"] in ("high", "medium", "low")
    assert first["model_version"] == second["model_version"] == f"run {result.registry.run_id[:8]}"
    assert second["horizon_days"] == 180 and second["label_kind"] == "full"


def _one_row(result, **params) -> dict:
    example = result.input_example(1)
    return {"dataframe_split": json.loads(example.to_json(orient="split", index=False)), "params": params}


def _assert_400(status: int, body: dict, *words: str, one_line: bool = True) -> None:
    assert status == 400, body
    message = body["message"]
    if one_line:
        assert "\n" not in message and len(message) < 300, message
    assert "stack_trace" not in body and "Traceback" not in json.dumps(body)
    assert not re.search(r"(/[\w.-]+){2,}\.py|site-packages", json.dumps(body)), body  # no server paths
    for word in words:
        assert word in message, (word, message)


@pytest.mark.slow
@pytest.mark.parametrize(("params", "words"), [
    ({"lang": "fr"}, ("lang", "'fr'", "en", "zh")),
    ({"reasons": "x"}, ("reasons", "'x'", "at_risk")),
])
def test_bad_parameters_are_a_one_line_400(served, params, words):
    url, result = served
    status, body = _post(f"{url}/invocations", _one_row(result, **params))
    _assert_400(status, body, *words)


@pytest.mark.slow
@pytest.mark.parametrize(("params", "name"), [({"lang": ["en"]}, "lang"), ({"reasons": {"a": 1}}, "reasons")])
def test_parameters_of_the_wrong_type_are_a_400_without_a_stack_trace(served, params, name):
    """MLflow checks parameter types against the signature before kamrisk sees them; its message names the
    parameter and quotes the input frame (so it spans lines), but has no stack trace or server path."""
    url, result = served
    status, body = _post(f"{url}/invocations", _one_row(result, **params))
    _assert_400(status, body, name, one_line=False)


@pytest.mark.slow
def test_missing_key_columns_are_a_one_line_400(served):
    url, result = served
    payload = _one_row(result)
    split = payload["dataframe_split"]
    keep = [i for i, c in enumerate(split["columns"]) if c != "as_of"]
    split["columns"] = [split["columns"][i] for i in keep]
    split["data"] = [[row[i] for i in keep] for row in split["data"]]
    status, body = _post(f"{url}/invocations", payload)
    assert status == 400 and "as_of" in json.dumps(body)


@pytest.mark.slow
def test_concurrent_clients_on_several_workers_get_the_same_answers(served):
    """40 one-row requests from 10 clients at once: every one answered 200, each with its own row."""
    url, result = served
    example = result.input_example(40)
    payloads = [{"dataframe_split": json.loads(example.iloc[[i]].to_json(orient="split", index=False))}
                for i in range(len(example))]
    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda p: _post(f"{url}/invocations", p), payloads))
    assert [status for status, _ in answers] == [200] * len(payloads)
    rows = [body["predictions"][0] for _, body in answers]
    assert [r["account_id"] for r in rows] == list(example["account_id"])
    expected = result.model.predict_risk(result.X.tail(40)).to_numpy()
    assert [round(r["risk"], 9) for r in rows] == [round(float(v), 9) for v in expected]
