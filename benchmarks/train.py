"""Train + backtest time and quality of the default recipe on the default simulated book.

    python benchmarks/train.py [--accounts 5000] [--months 36] [--config default]

Prints the backtest table (model, recency and logistic baselines, oracle) and the wall time.
"""

from __future__ import annotations

import argparse
import time
import warnings

import kamrisk


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=5000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--config", default="default")
    args = parser.parse_args()
    book = kamrisk.simulate(accounts=args.accounts, months=args.months, seed=args.seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", kamrisk.DataWarning)
        data = book.to_account_data()
    start = time.perf_counter()
    recipe = kamrisk.load_recipe(args.config)
    scorers, evaluators = kamrisk.sim.evaluation(book, horizon_days=recipe.horizon_days, label_kind=recipe.label_kind)
    result = kamrisk.train(data, recipe, scorers=scorers, evaluators=evaluators, track=False)
    seconds = time.perf_counter() - start
    print(result.backtest.summary())
    print(f"lapsed rows left out: {result.X.attrs.get('lapsed_rows')}; trees: {result.model.best_iteration_}")
    extras = result.backtest.extras
    if "reason_accuracy" in extras:
        print(f"reason_accuracy: {extras['reason_accuracy']:.3f} on {int(extras['reason_rows'])} rows")
    gap = result.backtest.overall.loc["oracle", "roc_auc"] - result.backtest.overall.loc["model", "roc_auc"]
    print(f"oracle gap (roc_auc): {gap:.3f}")
    print(f"train + backtest of {args.config!r} on {args.accounts} accounts x {args.months} months: {seconds:.1f} s")


if __name__ == "__main__":
    main()
