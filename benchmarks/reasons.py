"""Exact TreeSHAP reasons: LightGBM's pred_contrib against kamrisk's table kernel (issue 9).

    python benchmarks/reasons.py [--rows 100000] [--contrib-rows N] [--default-model]

Two models trained on synthetic data (60 features, 4 pandas categoricals, NaN in every numeric column,
some exact zeros): (a) 120 trees of 15 leaves, (b) 300 trees of 31 leaves. For each, on ``--rows`` rows
passed as the same DataFrame to both: plain predict, pred_contrib, the fast kernel (per feature and
grouped into 8 families, what the reasons need), max abs difference to pred_contrib, table memory and
build time; the numba JIT compile time is measured once, apart (warm-up). ``--contrib-rows`` times
pred_contrib on fewer rows and scales it (it takes minutes on model (b)). ``--default-model`` also
trains kamrisk's default recipe on ``simulate(accounts=3000, months=36)`` and, when that takes under two
minutes, reports on it and ends with its ratio; otherwise the last line is model (a)'s ratio.
"""

from __future__ import annotations

import argparse
import time
import warnings
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from kamrisk._explain._fastshap import FastTreeShap, warm_up

N_FEATURES = 60
CATEGORICAL = {"segment": 6, "region": 12, "channel": 4, "supplier_tier": 30}


def synthetic(rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    numeric = rng.normal(size=(rows, N_FEATURES - len(CATEGORICAL)))
    numeric[:, :10] = np.round(numeric[:, :10], 1)  # some exact zeros
    numeric[rng.random(numeric.shape) < 0.05] = np.nan
    frame = pd.DataFrame(numeric, columns=[f"x{i:02d}" for i in range(numeric.shape[1])])
    codes = {}
    for name, levels in CATEGORICAL.items():
        codes[name] = rng.integers(0, levels, rows)
        shown = np.where(rng.random(rows) > 0.03, codes[name], -1)  # some missing categories
        frame[name] = pd.Categorical.from_codes(shown, categories=[f"{name}_{k}" for k in range(levels)])
    x = np.nan_to_num(numeric)
    logit = (x[:, 0] - 0.8 * x[:, 1] + 0.5 * x[:, 2] * x[:, 3] + 0.6 * np.tanh(x[:, 4] * 2) + 0.3 * x[:, 5:12].sum(1)
             + 0.7 * np.isin(codes["segment"], [1, 4]) - 0.5 * (codes["supplier_tier"] % 7 == 3) - 1.0)
    y = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame, y


def train(frame: pd.DataFrame, y: np.ndarray, trees: int, leaves: int) -> lgb.Booster:
    params = dict(objective="binary", num_leaves=leaves, learning_rate=0.05, min_child_samples=20,
                  feature_fraction=0.8, bagging_fraction=0.8, bagging_freq=1, verbose=-1, seed=3)
    return lgb.train(params, lgb.Dataset(frame, y), num_boost_round=trees)


def best_of(fn: Any, repeats: int) -> tuple[float, Any]:
    seconds, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        seconds.append(time.perf_counter() - start)
    return min(seconds), result


def report(name: str, booster: lgb.Booster, X: pd.DataFrame, contrib_rows: int, repeats: int = 3) -> float:
    fast = FastTreeShap(booster)
    if not fast.supported:
        raise SystemExit(f"{name}: fast path not supported: {fast.reason}")
    groups = np.arange(booster.num_feature()) % 8
    times = {"predict": [], "fast": [], "grouped": []}
    for _ in range(repeats):  # interleaved, best of: the machine may be shared
        times["predict"].append(best_of(lambda: booster.predict(X, raw_score=True), 1)[0])
        seconds, values = best_of(lambda: fast.contributions(X), 1)
        times["fast"].append(seconds)
        seconds, grouped = best_of(lambda: fast.grouped(X, groups, 8), 1)
        times["grouped"].append(seconds)
    predict, fast_s, grouped_s = (min(times[k]) for k in ("predict", "fast", "grouped"))
    sub = X.iloc[:contrib_rows]
    contrib_s, reference = best_of(lambda: booster.predict(sub, pred_contrib=True), 1)
    contrib_s *= len(X) / len(sub)
    diff = float(np.abs(values[:len(sub)] - reference).max())
    summed = np.column_stack([np.stack([values[:, :-1][:, groups == g].sum(1) for g in range(8)], 1), values[:, -1]])
    group_diff = float(np.abs(grouped - summed).max())
    trees = booster.num_trees()
    leaves = booster.dump_model()["tree_info"][0]["num_leaves"]
    scaled = "" if len(sub) == len(X) else f" (timed on {len(sub):,} rows, scaled)"
    print(f"\n{name}: {trees} trees, up to {leaves} leaves, {len(X):,} rows x {X.shape[1]} features")
    print(f"  predict (raw score)      {predict:8.3f} s")
    print(f"  pred_contrib             {contrib_s:8.3f} s{scaled}")
    print(f"  fast contributions       {fast_s:8.3f} s   ratio to predict {fast_s / predict:.2f}")
    print(f"  fast grouped (8 groups)  {grouped_s:8.3f} s   ratio to predict {grouped_s / predict:.2f}")
    print(f"  max abs diff vs pred_contrib {diff:.2e} (grouped vs summed contributions {group_diff:.2e})")
    print(f"  tables {fast.table_bytes / 2**20:.1f} MiB, built in {fast.build_seconds:.2f} s")
    return grouped_s / predict


def default_model(rows: int) -> tuple[lgb.Booster, pd.DataFrame, float]:
    import kamrisk

    start = time.perf_counter()
    book = kamrisk.simulate(accounts=3000, months=36)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = book.to_account_data()
        result = kamrisk.train(data, "default", track=False)
    seconds = time.perf_counter() - start
    X = result.X
    reps = int(np.ceil(rows / len(X)))
    return result.model.booster_, pd.concat([X] * reps, ignore_index=True).iloc[:rows], seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--contrib-rows", type=int, default=None, help="time pred_contrib on fewer rows, scaled")
    parser.add_argument("--train-rows", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--default-model", action="store_true", help="also train and time kamrisk's default recipe")
    args = parser.parse_args()
    contrib_rows = min(args.rows, args.contrib_rows or args.rows)

    print(f"numba JIT compile (once per process, excluded below): {warm_up():.2f} s")
    frame, y = synthetic(args.train_rows + args.rows, args.seed)
    train_X, train_y, X = frame.iloc[:args.train_rows], y[:args.train_rows], frame.iloc[args.train_rows:]
    X = X.reset_index(drop=True)
    ratio = report("model (a)", train(train_X, train_y, 120, 15), X, contrib_rows)
    report("model (b)", train(train_X, train_y, 300, 31), X, contrib_rows)
    if args.default_model:
        booster, dX, seconds = default_model(args.rows)
        print(f"\nkamrisk default model trained in {seconds:.0f} s")
        if seconds < 120:
            ratio = report("kamrisk default model", booster, dX, contrib_rows)
        else:
            print("  (over two minutes: not reported; the last line is model (a)'s)")
    print(f"\nreasons/predict ratio: {ratio:.2f}")


if __name__ == "__main__":
    main()
