"""A tracking server that is missing or dies: one ``Error:`` line, no RUNNING run, no version-less model.

Against a real ``mlflow server`` on 127.0.0.1 that the tests kill and restart on the same store. Subprocess
timeouts here guard against hangs (the issue saw 4 and 8 minutes); they are not speed targets.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import _free_port, small_recipe

from kamrisk import TrackingError


def _start_server(root: Path, port: int) -> subprocess.Popen:
    args = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
            "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
            "--artifacts-destination", str(root / "artifacts"), "--workers", "1"]
    env = {**os.environ, "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")}
    with open(root / "server.log", "a") as log:  # the server keeps its own copy of the descriptor
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root,
                                   start_new_session=True)
    deadline = time.time() + 180
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                return process
        except OSError:
            if process.poll() is not None or time.time() > deadline:
                raise RuntimeError((root / "server.log").read_text()[-3000:]) from None
            time.sleep(0.3)


def _kill(process: subprocess.Popen) -> None:
    """SIGKILL the server and its workers (its own process group), as a crash would."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def _api(url: str, endpoint: str, payload: dict | None = None) -> dict:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(f"{url}/api/2.0/mlflow/{endpoint}", data=data,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def _runs(url: str) -> list[dict]:
    try:
        experiment = _api(url, "experiments/get-by-name?experiment_name=kamrisk")["experiment"]
    except OSError:
        return []
    return _api(url, "runs/search", {"experiment_ids": [experiment["experiment_id"]]}).get("runs", [])


def _registered(url: str) -> dict[str, int]:
    """Registered model name -> number of versions."""
    models = _api(url, "registered-models/search?max_results=100").get("registered_models", [])
    from urllib.parse import quote

    return {m["name"]: len(_api(url, "model-versions/search?filter=" + quote(f"name='{m['name']}'"))
                           .get("model_versions", [])) for m in models}


def _kamrisk(*args: str, timeout: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "kamrisk", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, stderr
    assert len(stderr.strip().splitlines()) <= 3, stderr  # at most a progress line besides the error
    return errors[0]


@pytest.fixture()
def recipe_file(tmp_path):
    path = tmp_path / "recipe.yaml"
    path.write_text(small_recipe().to_yaml(), encoding="utf-8")
    return path


def test_train_without_a_server_fails_before_any_work(sim_dir, recipe_file, tmp_path):
    dead = f"http://127.0.0.1:{_free_port()}"
    process = _kamrisk("train", str(sim_dir), "--recipe", str(recipe_file), "--tracking-uri", dead, timeout=60)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1
    line = _one_error_line(stderr)
    assert dead in line and "does not answer" in line and "--tracking-uri" in line


def test_score_against_a_dead_server_errors_instead_of_hanging(sim_dir, tmp_path):
    dead = f"http://127.0.0.1:{_free_port()}"
    process = _kamrisk("score", str(sim_dir), "--as-of", "2025-06-01", "--out", str(tmp_path / "s.csv"),
                       "--tracking-uri", dead, timeout=30)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 1 and dead in _one_error_line(stderr)
    assert not (tmp_path / "s.csv").exists()
    process = _kamrisk("--verbose", "score", str(sim_dir), "--as-of", "2025-06-01", "--out",
                       str(tmp_path / "s.csv"), "--tracking-uri", dead, timeout=30)
    _, stderr = process.communicate(timeout=30)
    assert "Traceback" in stderr and "TrackingError" in stderr and stderr.rstrip().splitlines()[-1].startswith("Error:")


def test_http_retries_are_bounded():
    """kamrisk's limits reach MLflow's own client: a request to a dead server gives up after 2 retries
    (MLflow's default is 7 with a doubling backoff: about two minutes)."""
    dead = f"http://127.0.0.1:{_free_port()}"
    code = (f"import mlflow, kamrisk._tracking as t; t._use({dead!r}); "
            "from mlflow.environment_variables import MLFLOW_HTTP_REQUEST_MAX_RETRIES as R, "
            "MLFLOW_HTTP_REQUEST_TIMEOUT as T; print(R.get(), T.get()); mlflow.search_experiments()")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_HTTP_REQUEST")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=40, env=env)
    assert done.stdout.split() == ["2", "30"]
    assert done.returncode != 0 and "Max retries exceeded" in done.stderr


def test_a_dead_server_is_not_taken_for_no_champion():
    from kamrisk._tracking import champion_record

    dead = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(TrackingError, match="champion of 'kamrisk'"):
        champion_record("kamrisk", tracking_uri=dead)


@pytest.mark.slow
def test_a_failed_registration_leaves_no_empty_registered_model(mlflow_server):
    """MLflow creates the registered model before its version; when the version cannot be added, kamrisk
    removes the empty model again."""
    from kamrisk._tracking import LoggedRun, set_alias

    missing = LoggedRun("0" * 32, f"runs:/{'0' * 32}/model")
    with pytest.raises(TrackingError, match="Registering run"):
        set_alias(missing, "kamrisk-never", "champion", "test", tracking_uri=mlflow_server)
    assert "kamrisk-never" not in _registered(mlflow_server)


@pytest.mark.slow
def test_server_killed_mid_run_leaves_no_running_run_and_no_empty_model(sim_dir, recipe_file, tmp_path):
    """The server is SIGKILLed while `kamrisk train` logs its run and stays down until kamrisk has exited:
    one Error line; once the server is back, the next training marks the orphaned run FAILED and succeeds."""
    root, port = tmp_path / "server", _free_port()
    root.mkdir()
    url = f"http://127.0.0.1:{port}"
    server = _start_server(root, port)
    train = ["train", str(sim_dir), "--recipe", str(recipe_file), "--tracking-uri", url]
    process = _kamrisk(*train, timeout=300)
    try:
        deadline = time.time() + 240
        while not any(r["info"]["status"] == "RUNNING" for r in _runs(url)):
            assert process.poll() is None and time.time() < deadline, process.communicate()
            time.sleep(0.1)
        _kill(server)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
        if server.poll() is None:
            _kill(server)
    assert process.returncode == 1
    line = _one_error_line(stderr)
    assert url in line and "failed on the tracking store" in line
    server = _start_server(root, port)
    try:
        assert _registered(url) == {}  # nothing registered from the broken run
        process = _kamrisk(*train, timeout=300)
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
        runs = sorted(_runs(url), key=lambda r: r["info"]["start_time"])
        assert [r["info"]["status"] for r in runs] == ["FAILED", "FINISHED"]
        tags = {t["key"]: t["value"] for t in runs[0]["data"]["tags"]}
        assert tags["kamrisk.failure"] == "the kamrisk process ended before it could close this run"
        assert _registered(url) == {"kamrisk": 1}
    finally:
        _kill(server)
