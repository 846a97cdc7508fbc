"""REST serving under load: one-row latency with reasons, then 20 and 200 concurrent clients.

Trains a recipe (``default`` unless told) on a simulated book into a SQLite store in a temporary folder,
times one row scored in-process (``TrainedModel.predict_frame``, what each worker runs per request), serves
the champion with ``mlflow models serve --workers N`` on 127.0.0.1 only, sends a bounded number of one-row
requests (with reasons), prints p50/p99 and failures, and stops the server. Nothing leaves the machine.

    python benchmarks/rest_load.py                 # default recipe, 2 workers
    python benchmarks/rest_load.py --workers 1 --recipe small   # the tests' small model

Targets (issue 13, 2 cores): one row with reasons under 50 ms; 200 requests from 20 concurrent clients
with 0 failures and p99 under 1 s; 200 concurrent clients answered without a single 5xx.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _post(url: str, body: bytes) -> tuple[int, float]:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:
            answer.read()
            status = answer.status
    except urllib.error.HTTPError as error:
        status = error.code
    except OSError:
        status = 0  # refused, reset or timed out
    return status, time.perf_counter() - start


def _phase(url: str, bodies: list[bytes], clients: int) -> str:
    with ThreadPoolExecutor(clients) as pool:
        answers = list(pool.map(lambda b: _post(url, b), bodies))
    seconds = np.array([s for _, s in answers]) * 1000
    statuses = [c for c, _ in answers]
    failures = sum(c != 200 for c in statuses)
    server_errors = sum(c >= 500 for c in statuses)
    return (f"{len(bodies)} requests, {clients:3d} concurrent clients: p50 {np.percentile(seconds, 50):7.1f} ms, "
            f"p99 {np.percentile(seconds, 99):7.1f} ms, failures {failures}, 5xx {server_errors}, "
            f"no answer {statuses.count(0)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--accounts", type=int, default=400)
    parser.add_argument("--recipe", default="default", help="a recipe name or file, or 'small' (the tests' model)")
    args = parser.parse_args()

    from conftest import small_recipe

    import kamrisk

    with tempfile.TemporaryDirectory(prefix="kamrisk-rest-") as tmp:
        folder = Path(tmp)
        uri = f"sqlite:///{folder / 'mlflow.db'}"
        book = kamrisk.simulate(accounts=args.accounts, months=36, seed=11)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            recipe = small_recipe() if args.recipe == "small" else kamrisk.load_recipe(args.recipe)
            result = kamrisk.train(book.to_account_data(), recipe, tracking_uri=uri)
        rows = result.input_example(200)
        one_row = [row.copy() for row in (rows.iloc[[i]] for i in range(50))]
        for row in one_row:
            row.attrs = {}  # as a request arrives: no attributes
        result.trained.predict_frame(one_row[0])
        inside = []
        for row in one_row:
            start = time.perf_counter()
            result.trained.predict_frame(row)
            inside.append((time.perf_counter() - start) * 1000)
        trees = result.trained.model.booster_.num_trees()
        print(f"recipe {recipe.name}, {trees} trees, {len(result.trained.feature_names)} features")
        print(f"in-process, one row with reasons (TrainedModel.predict_frame, 50 rows): "
              f"p50 {np.percentile(inside, 50):.1f} ms, p99 {np.percentile(inside, 99):.1f} ms")
        bodies = [json.dumps({"dataframe_split": json.loads(rows.iloc[[i]].to_json(orient="split", index=False)),
                              "params": {"reasons": "all"}}).encode() for i in range(len(rows))]
        port = _free_port()
        env = {**os.environ, "MLFLOW_TRACKING_URI": uri,
               "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")}
        command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", "models:/kamrisk@champion",
                   "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port), "--workers", str(args.workers)]
        with open(folder / "server.log", "w") as log:
            server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=folder,
                                      start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.time() + 300
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/ping", timeout=2):
                        break
                except OSError:
                    if server.poll() is not None or time.time() > deadline:
                        raise SystemExit((folder / "server.log").read_text()[-3000:]) from None
                    time.sleep(0.5)
            invocations = f"{url}/invocations"
            for body in bodies[:2 * args.workers]:  # each worker's first request
                _post(invocations, body)
            single = [_post(invocations, bodies[i % len(bodies)])[1] * 1000 for i in range(50)]
            print(f"mlflow models serve --workers {args.workers}, {os.cpu_count()} cores, one-row requests "
                  "with reasons:")
            print(f"one client, 50 requests: p50 {np.percentile(single, 50):.1f} ms, "
                  f"p99 {np.percentile(single, 99):.1f} ms")
            print(_phase(invocations, bodies, 20))
            print(_phase(invocations, bodies, 200))
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
