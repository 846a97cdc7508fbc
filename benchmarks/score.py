"""Scoring a big book, stage by stage: seconds and peak memory, from the data folder to the report.

    python benchmarks/score.py [--accounts 10000 [100000]] [--reasons all] [--train-accounts 5000]

Trains the default recipe once on a simulated book of ``--train-accounts`` (not timed). Then, for each
size, simulates ``N`` accounts x 36 months (``kamrisk.simulate``), writes it as parquet and:

1. scores it end to end as ``kamrisk score`` does: load + validate, ``kamrisk.score`` at the latest
   as_of (features, predict, reasons, drift) and write ``scores.parquet``;
2. times each stage on its own, from a fresh load (so the features stage starts from the raw tables):
   load + validate, features, predict, reasons, drift, write parquet, write xlsx, report (HTML + xlsx);
3. prints the ratio of the end-to-end time to plain LightGBM predict on the same feature rows.

Peak memory per stage is the largest resident set size sampled every 10 ms while the stage runs (Linux
``/proc/self/statm``). Each stage also prints the CPU seconds of the process (all its threads) and the
machine's load average, so figures taken on a shared machine can be read: a stage whose CPU seconds are far
below its wall seconds was waiting for a core.

Targets (issue 16, 2 cores, quiet machine): 100,000 accounts end to end under 60 s, features under 10 s,
scores.xlsx under 15 s, report under 20 s with the HTML under 15 MB.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kamrisk
from kamrisk._explain import explain
from kamrisk._score import DriftWarning, population_stability, write_scores

_PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * _PAGE


class _Stage:
    """Times a block and samples the resident set size while it runs."""

    def __init__(self, table: list[tuple[str, float, float]], name: str) -> None:
        self.table, self.name = table, name

    def __enter__(self) -> _Stage:
        self.peak, self.running = _rss(), True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        self.start, self.cpu = time.perf_counter(), time.process_time()
        return self

    def _sample(self) -> None:
        while self.running:
            self.peak = max(self.peak, _rss())
            time.sleep(0.01)

    def __exit__(self, *exc: Any) -> None:
        self.seconds = seconds = time.perf_counter() - self.start
        cpu = time.process_time() - self.cpu
        self.running = False
        self.thread.join()
        self.peak = max(self.peak, _rss())
        self.table.append((self.name, seconds, self.peak / 2**30))
        print(f"  {self.name:<44} {seconds:7.2f} s   peak {self.peak / 2**30:5.2f} GiB   cpu {cpu:6.2f} s   "
              f"load {os.getloadavg()[0]:4.1f}", flush=True)


def _run(n: int, trained: Any, reasons: str, timed: Callable[[str], _Stage]) -> None:
    model, catalog = trained.model, trained.catalog
    active_days = int(trained.recipe.activity.active_days)
    book = kamrisk.simulate(accounts=n, months=36, seed=11)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        book.write(folder / "book")
        orders, events = len(book.orders), len(book.events)
        del book
        print(f"{n:,} accounts x 36 months: {orders:,} order rows, {events:,} events")

        with timed("end to end: load, score, write scores.parquet") as whole:
            data = kamrisk.load_data(folder / "book")
            result = kamrisk.score(data, trained, as_of=data.end, reasons=reasons)
            write_scores(result.scores, folder / "scores.parquet")
        del data, result

        with timed("load + validate"):
            data = kamrisk.load_data(folder / "book")
        with timed("features at one as_of"):
            features = kamrisk.build_features(data, data.end, active_days=active_days)
        X = features[list(model.feature_names_in_)]
        with timed(f"predict ({len(X):,} rows, LightGBM)") as predict:
            model.predict_proba(X)
        with timed(f"reasons={reasons}"):
            explain(model, X, catalog, reasons=reasons, reference=trained.reference or None)
        sample = trained.training_sample
        with timed("drift"):
            if sample is not None:
                population_stability(sample[list(model.feature_names_in_)], X)
        scores = kamrisk.score(data, trained, as_of=data.end, reasons=reasons).scores
        with timed(f"write scores.parquet ({len(scores):,} rows)"):
            write_scores(scores, folder / "scores.parquet")
        with timed(f"write scores.xlsx ({len(scores):,} rows)"):
            write_scores(scores, folder / "scores.xlsx")
        with timed("report (HTML + xlsx, default 200 cards)"):
            kamrisk.write_report(scores, folder / "report.html", xlsx=folder / "report.xlsx")
        html = (folder / "report.html").stat().st_size / 2**20
        xlsx = (folder / "report.xlsx").stat().st_size / 2**20
        print(f"  report.html {html:.1f} MiB, report.xlsx {xlsx:.1f} MiB")
        ratio = whole.seconds / predict.seconds if predict.seconds else float("nan")
        print(f"  end to end / plain predict on the same rows: {ratio:.0f}x\n", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, nargs="+", default=[10_000],
                        help="book sizes to score (default 10000; the issue's targets are for 100000)")
    parser.add_argument("--reasons", default="all", choices=["all", "at_risk", "none"])
    parser.add_argument("--train-accounts", type=int, default=5000, help="size of the training book (not timed)")
    args = parser.parse_args()
    warnings.simplefilter("ignore", kamrisk.DataWarning)
    warnings.simplefilter("ignore", DriftWarning)
    start = time.perf_counter()
    training = kamrisk.simulate(accounts=args.train_accounts, months=36, seed=7)
    trained = kamrisk.train(training.to_account_data(), "default", track=False).trained
    del training
    print(f"trained the default recipe on {args.train_accounts:,} accounts in {time.perf_counter() - start:.0f} s "
          f"(not part of the figures)\n")

    table: list[tuple[str, float, float]] = []

    for n in args.accounts:
        _run(n, trained, args.reasons, lambda name: _Stage(table, name))


if __name__ == "__main__":
    main()
