"""Throughput (rows/s) of ``kamrisk.spark`` in local[2] mode on a simulated book of 100,000 accounts x 36 months.

    python benchmarks/spark.py [--accounts 100000] [--months 36] [--dates 12] [--cores 2] [--groups N]
                               [--data DIR] [--model URI] [--driver-memory 6g] [--no-pandas]

The book is simulated, written as parquet (not timed) and read by Spark as a cluster job would; with
``--data DIR`` the book is read from ``DIR/{orders,events,accounts}.parquet`` (your own book, or a
simulated one written there by an earlier run, which saves simulating it again). Measures, each as a full
Spark job written to the ``noop`` sink (nothing collected to the driver): feature building at the latest
as_of and at ``--dates`` monthly as_of dates (a year of them by default, as a training frame or a
backtest needs), and scoring the latest as_of's feature rows
with reasons ``all``, ``at_risk`` and ``none`` (the model's whole answer, flattened). A warm-up job first
starts the Python workers and loads the model in each, as a long-running cluster would have. The pandas
builder's and the pyfunc model's times on the same rows (one process) are shown for comparison
(``--no-pandas`` skips them). Without ``--model`` the default recipe is trained first (two backtest folds,
on a 1,000-account simulated book) and registered in a temporary SQLite MLflow store.

Targets (issue 16, ``local[2]``, a quiet machine): scoring at least 10,000 rows/s with every reason,
features at least 20,000 rows/s.
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


def _data(args: argparse.Namespace, folder: str):
    """The book as AccountData, written as parquet to ``--data`` (when absent there) or to ``folder``."""
    import kamrisk

    files = [os.path.join(args.data or folder, f"{name}.parquet") for name in ("orders", "events", "accounts")]
    if args.data and all(os.path.exists(f) for f in files):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", kamrisk.DataWarning)
            data = kamrisk.load_data(args.data)
        print(f"read {len(data.accounts):,} accounts from {args.data}", flush=True)
        return data
    started = time.perf_counter()
    data = _book(args.accounts, args.months, 7)
    print(f"simulated {args.accounts:,} accounts x {args.months} months in {time.perf_counter() - started:.0f} s",
          flush=True)
    os.makedirs(args.data or folder, exist_ok=True)
    for name, file in zip(("orders", "events", "accounts"), files, strict=True):
        getattr(data, name).to_parquet(file, index=False, coerce_timestamps="us")
    return data


def _train_model(folder: str) -> str:
    import mlflow

    import kamrisk

    recipe = kamrisk.load_recipe("default").with_overrides(backtest={"folds": 2})
    uri = f"sqlite:///{folder}/mlflow.db"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kamrisk.train(_book(1000, 36, 11), recipe, track=True, tracking_uri=uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return "models:/kamrisk@champion"


def _timed(frame) -> float:
    started = time.perf_counter()
    frame.write.format("noop").mode("overwrite").save()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--dates", type=int, default=12, help="monthly as_of dates of the second features job")
    parser.add_argument("--data", default=None,
                        help="folder of orders/events/accounts.parquet (written there by simulating when absent)")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--groups", type=int, default=None, help="account groups (default: 2 x cores)")
    parser.add_argument("--model", default=None, help="a kamrisk MLflow model URI (default: train one)")
    parser.add_argument("--driver-memory", default="6g")
    parser.add_argument("--no-pandas", action="store_true", help="skip the one-process pandas comparison")
    args = parser.parse_args()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # one bar per worker drowns the table
    warnings.filterwarnings("ignore", message=".*does not yet fully support pandas")

    import mlflow.pyfunc
    from pyspark.sql import functions as F

    import kamrisk
    from kamrisk import spark as kspark

    groups = args.groups or 2 * args.cores
    with tempfile.TemporaryDirectory() as folder:
        data = _data(args, folder)
        latest = data.end - pd.offsets.MonthBegin(1)
        dates = pd.date_range(end=latest, periods=args.dates, freq="MS")
        books = args.data or folder
        model = args.model or _train_model(folder)
        session = kspark.local_session(args.cores, shuffle_partitions=groups, app_name="kamrisk-benchmark",
                                       config={"spark.driver.memory": args.driver_memory})
        session.sparkContext.setLogLevel("ERROR")
        try:
            tables = {name: session.read.parquet(f"{books}/{name}.parquet")
                      for name in ("orders", "events", "accounts")}
            print(f"{len(data.accounts):,} accounts, {len(data.orders):,} orders, {len(data.events):,} events; "
                  f"Spark local[{args.cores}], {groups} account groups, Arrow batches of "
                  f"{session.conf.get('spark.sql.execution.arrow.maxRecordsPerBatch')} rows")
            print("(a machine shared with other work: read the figures with its load in mind)")
            print(f"{'job':<44} {'rows':>9} {'seconds':>8} {'rows/s':>9}")

            def report(job: str, rows: int, seconds: float) -> None:
                print(f"{job:<44} {rows:>9,} {seconds:>8.1f} {rows / seconds:>9,.0f}", flush=True)

            _timed(kspark.build_features(session, **tables, as_of=latest, groups=groups))  # warm-up
            for label, as_of in (("features, latest as_of", latest),
                                 (f"features, {args.dates} monthly as_of", dates)):
                features = kspark.build_features(session, **tables, as_of=as_of, groups=groups)
                seconds = _timed(features)
                rows = features.count()
                report(label, rows, seconds)
                if not args.no_pandas:
                    started = time.perf_counter()
                    kamrisk.build_features(data, as_of)
                    report("  (pandas, one process)", rows, time.perf_counter() - started)
            features = kspark.build_features(session, **tables, as_of=latest, groups=groups)
            features = features.repartition(args.cores).cache()  # the rows to score, one partition per core
            rows = features.count()
            _timed(kspark.score(features.limit(100 * args.cores), model, partitions=args.cores))  # warm-up
            if not args.no_pandas:
                pyfunc = mlflow.pyfunc.load_model(model)
                local = features.withColumn("as_of", F.date_format("as_of", "yyyy-MM-dd")).toPandas()
            for reasons in ("all", "at_risk", "none"):
                seconds = _timed(kspark.score(features, model, reasons=reasons, flatten=True))
                report(f"score, latest as_of, reasons={reasons}", rows, seconds)
                if not args.no_pandas:
                    started = time.perf_counter()
                    pyfunc.predict(local, params={"lang": "en", "reasons": reasons})
                    report("  (pandas pyfunc, one process)", rows, time.perf_counter() - started)
        finally:
            session.stop()


if __name__ == "__main__":
    main()
