"""Shared fixtures: a small simulated book, a model trained on it, and a live MLflow server."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from pathlib import Path

import pytest

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("MPLBACKEND", "Agg")


def small_recipe():
    """The default recipe, sized for tests: fewer trees, two folds."""
    from kamrisk import load_recipe

    return load_recipe("default").with_overrides(
        lightgbm={"n_estimators": 150, "num_leaves": 7, "min_child_samples": 20},
        backtest={"folds": 2},
    )


def sim_evaluation(book, recipe):
    """The simulator's oracle scorer and truth evaluators for ``recipe``'s label."""
    from kamrisk.sim import evaluation

    return evaluation(book, horizon_days=recipe.horizon_days, label_kind=recipe.label_kind)


@pytest.fixture(scope="session")
def sim_book():
    """A small simulated book (accounts, orders, events, truth, oracle)."""
    import kamrisk

    return kamrisk.simulate(accounts=400, months=36, seed=11)


@pytest.fixture(scope="session")
def sim_data(sim_book):
    from kamrisk import DataWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return sim_book.to_account_data()


@pytest.fixture(scope="session")
def sim_dir(sim_book, tmp_path_factory):
    folder = tmp_path_factory.mktemp("book")
    sim_book.write(folder)
    return folder


@pytest.fixture(scope="session")
def trained(sim_data, sim_book):
    """The small recipe trained (not tracked) on the simulated book."""
    from kamrisk import train

    recipe = small_recipe()
    scorers, evaluators = sim_evaluation(sim_book, recipe)
    return train(sim_data, recipe, scorers=scorers, evaluators=evaluators, track=False)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_server(args: list[str], ready_path: str, folder: Path, env: dict[str, str] | None = None):
    """Start ``python -m mlflow <args> --port <free port>`` on 127.0.0.1, wait until ``ready_path`` answers,
    yield its URL, and stop it. The venv's ``bin`` is on PATH (``mlflow models serve`` execs uvicorn)."""
    port = _free_port()
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, **(env or {}), "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    log_path = folder / "server.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "mlflow", *args, "--port", str(port)], stdout=log,
                                   stderr=subprocess.STDOUT, env=env, cwd=folder)
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 180
        try:
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"mlflow {args[0]} exited: {log_path.read_text()[-3000:]}")
                try:
                    with urllib.request.urlopen(f"{url}{ready_path}", timeout=2):
                        break
                except OSError:
                    if time.time() > deadline:
                        raise RuntimeError(f"mlflow {args[0]} did not start: {log_path.read_text()[-3000:]}") \
                            from None
                    time.sleep(0.5)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """A real `mlflow server` on 127.0.0.1 with its own SQLite store and artifact folder."""
    root = tmp_path_factory.mktemp("mlflow-server")
    args = ["server", "--host", "127.0.0.1", "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
            "--artifacts-destination", str(root / "artifacts"), "--workers", "1"]
    with running_server(args, "/health", root) as url:
        yield url
