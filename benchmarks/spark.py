"""Throughput (rows/s) of ``kamrisk.spark`` in local[2] mode on a simulated book of 5,000 accounts.

    python benchmarks/spark.py [--accounts 5000] [--dates 36] [--cores 2] [--groups N] [--model URI]

Measures, each as a full Spark job (written to the ``noop`` sink, so nothing is collected to the driver):
feature building at the latest as_of and at ``--dates`` monthly as_of dates, and scoring the latest
as_of with reasons (``all``, ``at_risk``, ``none``). The pandas builder's and the pyfunc model's times on
the same rows (one process) are shown for comparison. Without ``--model`` a model is trained first (the
default recipe with fewer trees, on a 400-account simulated book) and registered in a temporary SQLite
MLflow store.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings

import pandas as pd


def _book(accounts: int, months: int, seed: int):
    import kamrisk

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return kamrisk.simulate(accounts=accounts, months=months, seed=seed).to_account_data()


def _train_model(folder: str) -> str:
    import mlflow

    import kamrisk

    recipe = kamrisk.load_recipe("default").with_overrides(
        lightgbm={"n_estimators": 150, "num_leaves": 7, "min_child_samples": 20}, backtest={"folds": 2})
    uri = f"sqlite:///{folder}/mlflow.db"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kamrisk.train(_book(400, 36, 11), recipe, track=True, tracking_uri=uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return "models:/kamrisk@champion"


def _timed(frame) -> float:
    started = time.perf_counter()
    frame.write.format("noop").mode("overwrite").save()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=5000)
    parser.add_argument("--dates", type=int, default=36)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--groups", type=int, default=None, help="account groups (default: 4 x cores)")
    parser.add_argument("--model", default=None, help="a kamrisk MLflow model URI (default: train one)")
    args = parser.parse_args()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    warnings.filterwarnings("ignore", message=".*does not yet fully support pandas")

    import mlflow.pyfunc

    import kamrisk
    from kamrisk import spark as kspark

    groups = args.groups or 4 * args.cores
    data = _book(args.accounts, 48, 7)
    latest = data.end - pd.offsets.MonthBegin(1)
    dates = pd.date_range(end=latest, periods=args.dates, freq="MS")
    with tempfile.TemporaryDirectory() as folder:
        model = args.model or _train_model(folder)
        session = kspark.local_session(args.cores, shuffle_partitions=groups, app_name="kamrisk-benchmark")
        session.sparkContext.setLogLevel("ERROR")
        try:
            tables = {}
            for name in ("orders", "events", "accounts"):
                frame = getattr(data, name)
                tables[name] = session.createDataFrame(frame).cache()
                tables[name].count()
            print(f"{args.accounts} accounts, {len(data.orders)} orders, {len(data.events)} events; "
                  f"Spark local[{args.cores}], {groups} account groups")
            print(f"{'job':<38} {'rows':>8} {'seconds':>8} {'rows/s':>9}")

            def report(job: str, rows: int, seconds: float) -> None:
                print(f"{job:<38} {rows:>8} {seconds:>8.1f} {rows / seconds:>9.0f}", flush=True)

            _timed(kspark.build_features(session, **tables, as_of=latest, groups=groups))  # warm-up
            for label, as_of in (("features, latest as_of", latest), (f"features, {args.dates} monthly as_of", dates)):
                features = kspark.build_features(session, **tables, as_of=as_of, groups=groups)
                seconds = _timed(features)
                rows = features.count()
                started = time.perf_counter()
                kamrisk.build_features(data, as_of)
                report(label, rows, seconds)
                report("  (pandas, one process)", rows, time.perf_counter() - started)
            features = kspark.build_features(session, **tables, as_of=latest, groups=groups).cache()
            rows = features.count()
            _timed(kspark.score(features.limit(50), model))  # warm-up: model load on the workers
            pyfunc = mlflow.pyfunc.load_model(model)
            local = features.toPandas()
            local["as_of"] = pd.to_datetime(local["as_of"]).dt.strftime("%Y-%m-%d")
            for reasons in ("all", "at_risk", "none"):
                seconds = _timed(kspark.score(features, model, reasons=reasons))
                report(f"score, latest as_of, reasons={reasons}", rows, seconds)
                started = time.perf_counter()
                pyfunc.predict(local, params={"lang": "en", "reasons": reasons})
                report("  (pandas pyfunc, one process)", rows, time.perf_counter() - started)
        finally:
            session.stop()


if __name__ == "__main__":
    main()
