"""Shared fixtures: a small simulated book, a model trained on it, and a live MLflow server."""

from __future__ import annotations

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
    from kamrisk import load_config

    return load_config("default").with_overrides(
        lightgbm={"n_estimators": 150, "num_leaves": 7, "min_child_samples": 20},
        backtest={"folds": 2},
    )


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

    return train(sim_data, small_recipe(), oracle=sim_book.oracle, truth=sim_book.truth, track=False)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """A real `mlflow server` on 127.0.0.1 with its own SQLite store and artifact folder."""
    root = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    log = open(root / "server.log", "w")  # noqa: SIM115 - closed at teardown
    process = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
         "--artifacts-destination", str(root / "artifacts"), "--workers", "1"],
        stdout=log, stderr=subprocess.STDOUT, env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mlflow server exited: {(root / 'server.log').read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        process.kill()
        raise RuntimeError(f"mlflow server did not start: {(root / 'server.log').read_text()[-2000:]}")
    yield url
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()
