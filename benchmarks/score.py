"""End-to-end scoring time: validate, build features at one as_of, score, explain, check drift, write.

    python benchmarks/score.py [--accounts 5000 50000] [--reasons at_risk]

Trains the default recipe once on a 5,000-account book (not timed), then scores simulated books of each
size at their latest as_of through ``kamrisk.score`` and writes parquet, as ``kamrisk score`` does.
Also prints the cost of explaining 100,000 feature rows against plain prediction.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

import kamrisk
from kamrisk._explain import explain
from kamrisk._score import DriftWarning, write_scores


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, nargs="+", default=[5000, 50000])
    parser.add_argument("--reasons", default="at_risk", choices=["all", "at_risk", "none"])
    args = parser.parse_args()
    warnings.simplefilter("ignore", kamrisk.DataWarning)
    warnings.simplefilter("ignore", DriftWarning)
    book = kamrisk.simulate(accounts=5000, months=36, seed=7)
    trained = kamrisk.train(book.to_account_data(), "default", track=False)
    bundle = trained.bundle()
    print(f"default model: {trained.model.best_iteration_} trees of at most "
          f"{trained.config.lightgbm['num_leaves']} leaves")

    rows = trained.X[trained.labelled]
    X = rows.iloc[np.resize(np.arange(len(rows)), 100_000)]
    timings = {}
    for mode in ("none", "at_risk", "all"):
        start = time.perf_counter()
        explain(trained.model, X, trained.catalog, reasons=mode, reference=trained.reference)
        timings[mode] = time.perf_counter() - start
    start = time.perf_counter()
    trained.model.predict_proba(X)
    timings["predict"] = time.perf_counter() - start
    for mode in ("none", "at_risk", "all"):
        print(f"100,000 rows, reasons={mode}: {timings[mode]:.2f} s "
              f"({timings[mode] / timings['predict']:.1f}x plain predict {timings['predict']:.2f} s)")

    for n in args.accounts:
        scoring_book = kamrisk.simulate(accounts=n, months=36, seed=11)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            scoring_book.write(folder)
            start = time.perf_counter()
            data = kamrisk.load_data(folder)
            result = kamrisk.score(data, bundle=bundle, as_of=data.end, reasons=args.reasons)
            write_scores(result.scores, folder / "scores.parquet")
            seconds = time.perf_counter() - start
        scored = (result.scores["status"] == "scored").sum()
        print(f"score {n} accounts (load + validate + features + score + reasons={args.reasons} + drift + write): "
              f"{seconds:.1f} s; {scored} scored, {len(result.scores) - scored} unscorable")


if __name__ == "__main__":
    main()
