"""Early warning on the default simulated book, out of time, against the simulator's oracle.

    python benchmarks/early_warning.py [--accounts 2000] [--months 36] [--seed 3] [--config default]
                                       [--cutoff 2025-06-01]

Trains the recipe (``kamrisk.train(..., track=False)``) on the orders and events dated before the cutoff
only, then scores the full book point in time at every month start from the cutoff on (``kamrisk.score``),
and prints, with :mod:`kamrisk.sim`'s evaluators:

- early-warning AUC at the cutoff and the month after (accounts not yet decided at as_of; positive: decides
  within the horizon) for the model, the recency baseline, a logistic regression on the same features and
  the oracle's ``p_decide``;
- catch: future deciders in the model's high band against the oracle's top accounts of the same count;
- reason accuracy of ``cause_family`` against the planted cause, beside the oracle cause's accuracy;
- lead time over the monthly scores: days between an account's first high band and the day its orders
  stop, median and share warned at least 90 days ahead, against the oracle at the same alert budget.

The recency and logistic baselines are the backtest's own.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

import kamrisk
from kamrisk._backtest import _logistic_scores, _recency_score
from kamrisk.sim import evaluation, lead_times, reason_accuracy


def _before(book: kamrisk.sim.SimulatedBook, cutoff: pd.Timestamp) -> kamrisk.AccountData:
    """The book as an export at ``cutoff`` shows it: facts dated before it, resolutions not yet known."""
    orders = book.orders[book.orders["order_date"] < cutoff]
    events = book.events[book.events["event_date"] < cutoff].copy()
    events.loc[events["resolved_date"] >= cutoff, "resolved_date"] = pd.NaT
    return kamrisk.AccountData(orders=orders, events=events, accounts=book.accounts)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--recipe", "--config", dest="recipe", default="default")
    parser.add_argument("--cutoff", default="2025-06-01")
    args = parser.parse_args()
    cutoff = pd.Timestamp(args.cutoff)
    started = time.perf_counter()
    book = kamrisk.simulate(accounts=args.accounts, months=args.months, seed=args.seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", kamrisk.DataWarning)
        full = book.to_account_data()
        past = _before(book, cutoff)
    trained = kamrisk.train(past, args.recipe, track=False)
    horizon = trained.recipe.horizon_days
    label_kind = trained.recipe.label_kind
    dates = pd.DatetimeIndex(sorted(book.oracle["as_of"].unique()))  # the month starts the oracle covers
    dates = dates[dates >= cutoff]
    test_dates = dates[:2]
    model = trained.trained
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # drift warnings: the point of scoring out of time
        scores = kamrisk.score(full, model, as_of=dates, reasons="none").scores
        explained = kamrisk.score(full, model, as_of=test_dates, reasons="all").scores
    print(f"{book.summary()}\ntrained on data before {cutoff.date()} ({args.recipe!r}, {horizon}-day horizon); "
          f"scored monthly {dates[0].date()} to {dates[-1].date()}; {time.perf_counter() - started:.0f} s")

    # early warning at the cutoff and the month after, every scorer on the same (scored) rows
    scored = explained[explained["status"] == "scored"]
    pred = scored.set_index(["account_id", "as_of"])[["risk", "band", "cause_family"]].rename(columns={"risk": "model"})
    X = kamrisk.build_features(full, test_dates, catalog=model.catalog).reindex(pred.index)
    pred["recency"] = _recency_score(X)
    labelled = trained.labels["label"].notna().to_numpy()
    columns = list(trained.X.columns)
    pred["logistic"] = _logistic_scores(trained.X[labelled], trained.labels.loc[labelled, "label"].to_numpy(),
                                        X[columns], trained.recipe.seed)
    _, evaluators = evaluation(book, horizon_days=horizon, label_kind=label_kind)
    figures: dict[str, float] = {}
    for evaluate in evaluators:
        figures.update(evaluate(pred))
    print(f"\nEarly warning at {', '.join(str(d.date()) for d in test_dates)}: {int(figures['early_rows'])} undecided "
          f"rows, {int(figures['early_positives'])} decide within {horizon} days")
    print("  AUC  " + "  ".join(f"{s} {figures[f'early_auc_{s}']:.3f}" for s in ("model", "recency", "logistic",
                                                                                "oracle")))
    print(f"  catch: the high band ({int(figures['early_alerts'])} alerts) holds {int(figures['early_catch_model'])} "
          f"future deciders; the oracle's top {int(figures['early_alerts'])} hold {int(figures['early_catch_oracle'])}")
    # the same on the rows an early-warning model is for: orders still intact at as_of (stage not declining)
    intact = explained[explained["status"] == "scored"].set_index(["account_id", "as_of"])["stage"] != "declining"
    kept: dict[str, float] = {}
    for evaluate in evaluators:
        kept.update(evaluate(pred[intact.reindex(pred.index).to_numpy()]))
    print(f"  orders intact only ({int(kept['early_rows'])} rows, {int(kept['early_positives'])} decide): AUC  "
          + "  ".join(f"{s} {kept[f'early_auc_{s}']:.3f}" for s in ("model", "recency", "logistic", "oracle")))
    # reasons where the model alerts (its high band), and in its top 20% (more rows, as the issue measured)
    top = pred.groupby(level="as_of")["model"].rank(ascending=False, pct=True) <= 0.2
    wide = reason_accuracy(pred.assign(band=np.where(top, "top20", "")), book.truth, book.oracle,
                           horizon_days=horizon, alert="top20")
    for where, found in (("the high band", figures), ("the top 20% by risk", wide)):
        if found.get("reason_rows"):
            print(f"  reasons in {where}: cause_family names the planted cause for {found['reason_accuracy']:.0%} "
                  f"of {int(found['reason_rows'])} in-play defectors; the oracle cause for "
                  f"{found['oracle_reason_accuracy']:.0%}")
        else:
            print(f"  reasons in {where}: no in-play defector with a planted cause")

    # lead time over every monthly score from the cutoff on
    leads = lead_times(scores[["account_id", "as_of", "risk", "band"]], book, horizon_days=horizon)
    print(f"\nLead time, monthly scores {dates[0].date()} to {dates[-1].date()} (alert: high band; the oracle "
          "gets as many alerts each month):")
    print(leads.summary.to_string(float_format=lambda v: f"{v:.2f}"))
    # leads are capped by how long before the stop scoring began: the defectors with room for 90 days
    later = leads.accounts[leads.accounts["visible_on"] >= cutoff + pd.Timedelta(days=90)]
    room = (cutoff + pd.Timedelta(days=90)).date()
    print(f"  the {len(later)} whose orders stop on {room} or later (room for 90 days):")
    for who in ("model", "oracle"):
        lead = later[f"{who}_lead_days"]
        warned = later[f"{who}_first_alert"].notna()
        print(f"    {who}: warned {warned.mean():.0%}, median lead {lead.median():.0f} days "
              f"({lead[warned].median():.0f} among the warned), warned >= 90 days {(lead >= 90).mean():.0%}")


if __name__ == "__main__":
    main()
