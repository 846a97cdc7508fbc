"""kamrisk on real order-only data: the CDNOW purchase log, against the published churn figures.

    python benchmarks/cdnow.py [--path shared/data/cdnow] [--every 7]

CDNOW (23,570 customers who first bought in 1997 Q1, orders to 1998-06-30) is consumer data with orders
only; it checks the order-only path (features, labels, backtest) on real data. Published: churn as "no
purchase in the next 39 weeks" after a 1997-09-30 cut-off (about 71% of customers); the AUC of
days-since-last-purchase alone is about 0.77 (BG/NBD about 0.76).

The recipe is ``models/default`` with a 273-day (39-week) full-defection label, a 90-day warm-up and
as_of dates every ``--every`` days. It prints three things:

1. The published definition: every customer active at the cut-off (features through 1997-09-30, label
   on [1997-10-01, 1998-07-01)); days since the last order alone. No model, so no split.
2. The model at that cut-off and horizon, all scorers on the same rows. A rolling-origin backtest cannot
   test 1997-10-01 at a 273-day horizon: a training label window must close by the test date, so
   training as_of dates would have to precede 1997-01-01, the first day of the data. Instead the
   customers are split in two (stable hash of the id): the model and the logistic baseline train on one
   half (as_of dates up to the cut-off) and are tested on the other half at the cut-off. Out of sample
   but not out of time: both halves live through the same months, which mostly moves the level of the
   probabilities, not their ranking. Rows of accounts that have already lapsed (no order for more than
   90 days and 3 reorder gaps) are left out, as in every kamrisk backtest: kamrisk lists them as already
   defected instead of scoring them. On CDNOW that is about three quarters of the customers at the
   cut-off (most bought once in 1997 Q1), so the remaining rows are the hard ones and every AUC is lower
   than on all customers.
3. The product's own rolling-origin backtest (``kamrisk.backtest``, out of time) at the longest horizon
   the 18 months allow with a full gap: 182 days (26 weeks), test dates 1997-11-30 and 1997-12-31.
4. Out of time as a user would run it: ``kamrisk train`` with the ``occasional`` recipe (weekly as_of
   dates, 90-day horizon, lapsed only after 270 quiet days) on the nine months of orders before the
   cut-off only, then ``kamrisk score`` at
   1997-10-01 (orders through 1997-09-30). Every customer active at the cut-off is ranked: the ones kamrisk
   lists as lapsed count as certain to leave (risk 1), the rest by the model's risk. Against days since
   the last order on the same customers and label (no purchase in the 90 days after the cut-off).
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import kamrisk
from kamrisk._backtest import (
    RECENCY_FEATURE,
    REVENUE_FEATURE,
    BacktestResult,
    _logistic_scores,
    training_table,
)
from kamrisk._datasets import CDNOW_FILE
from kamrisk._metrics import evaluate
from kamrisk._stages import lapsed

PUBLISHED = {"cut_off": "1997-09-30", "churn_share": 0.71, "recency_roc_auc": 0.77, "bgnbd_roc_auc": 0.76}
CUT_OFF = pd.Timestamp("1997-10-01")  # features see orders up to 1997-09-30, the published cut-off
HORIZON = "273d"  # 39 weeks: [1997-10-01, 1998-07-01) ends exactly at the data's end
FIRST_AS_OF = pd.Timestamp("1997-04-01")  # the 90-day warm-up after the first order date
DAYS_SINCE = "days_since_last_order"
COLUMNS = ["roc_auc", "pr_auc", "brier", "ece", "lift_top10", "revenue_recall_top10", "rows", "positives"]


def find_cdnow(start: str | Path | None = None) -> Path | None:
    """``$KAMRISK_CDNOW``, or ``shared/data/cdnow/CDNOW_master.txt`` in a folder above ``start`` (or this file)."""
    if os.environ.get("KAMRISK_CDNOW"):
        path = Path(os.environ["KAMRISK_CDNOW"])
        return path if path.exists() else None
    for base in [Path(start or Path.cwd()).resolve(), Path(__file__).resolve().parent]:
        for folder in [base, *base.parents]:
            candidate = folder / "shared" / "data" / "cdnow" / CDNOW_FILE
            if candidate.is_file():
                return candidate
    return None


def read(path: str | Path) -> kamrisk.AccountData:
    """CDNOW as AccountData, without repeating the (expected) duplicate-rows warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", kamrisk.DataWarning)
        return kamrisk.read_cdnow(path)


def recipe(horizon: str = HORIZON, folds: int = 1) -> Any:
    """``models/default`` with the horizon, a short warm-up and monthly folds."""
    return kamrisk.load_recipe("default").with_overrides(
        label={"horizon": horizon, "kind": "full"},
        calendar={"warmup": "90d"},
        backtest={"folds": folds, "step": "1M"},
    )


def _label(cfg: Any) -> dict[str, Any]:
    """The recipe's label rule as make_labels' arguments."""
    label = cfg.label
    return {"horizon": label.horizon_days, "kind": label.kind, "full_threshold": label.full_threshold,
            "partial_threshold": label.partial_threshold}


def published_check(data: kamrisk.AccountData) -> dict[str, float]:
    """Every customer active at the cut-off, kamrisk's own features and 273-day full label: how well does
    days-since-last-order alone rank them (the published figure's definition)?"""
    cfg = recipe()
    X = kamrisk.build_features(data, [CUT_OFF], active_days=365, families=["shrinking_orders"])
    labels = kamrisk.make_labels(data, [CUT_OFF], active_days=365, **_label(cfg))["label"]
    keep = labels.notna().to_numpy()
    y = labels.to_numpy()[keep]
    from sklearn.metrics import roc_auc_score

    return {
        "rows": float(keep.sum()),
        "churn_share": float(y.mean()),
        "recency_roc_auc": float(roc_auc_score(y, X[DAYS_SINCE].to_numpy()[keep])),
        "lapsed_share": float(lapsed(X)[keep].mean()),
    }


def _in_test_half(ids: pd.Index) -> np.ndarray:
    return np.fromiter((zlib.crc32(str(i).encode()) % 2 == 1 for i in ids), dtype=bool, count=len(ids))


def split_backtest(data: kamrisk.AccountData, every: int = 7) -> tuple[pd.DataFrame, dict[str, float]]:
    """The 273-day recipe at the cut-off, trained on half of the customers and tested on the other half.

    Returns the metrics of each scorer on the same (non-lapsed, test-half) rows, and counts.
    """
    cfg = recipe()
    dates = pd.date_range(end=CUT_OFF, periods=(CUT_OFF - FIRST_AS_OF).days // every + 1, freq=f"{every}D")
    X, labels = training_table(data, cfg, kamrisk.load_catalog(), as_of=dates)
    y_all = labels["label"]
    labelled = y_all.notna().to_numpy()
    test_half = _in_test_half(X.index.get_level_values("account_id"))
    at_cut_off = (X.index.get_level_values("as_of") == CUT_OFF)
    train, test = labelled & ~test_half, labelled & test_half & at_cut_off
    X_train, y_train = X[train], y_all[train].to_numpy()
    X_test, y_test = X[test], y_all[test].to_numpy()
    model = kamrisk.RiskModel(cfg, directions=kamrisk.load_catalog().directions).fit(X_train, y_train)
    revenue = X_test[REVENUE_FEATURE].to_numpy(dtype=float)
    scores = {
        "model": (model.predict_risk(X_test).to_numpy(), True),
        "recency": (X_test[RECENCY_FEATURE].to_numpy(dtype=float), False),
        "days_since_last_order": (X_test[DAYS_SINCE].to_numpy(dtype=float), False),
        "logistic": (_logistic_scores(X_train, y_train, X_test, cfg.seed), True),
    }
    overall = pd.DataFrame({name: evaluate(y_test, s, revenue, probability=p) for name, (s, p) in scores.items()}).T
    # the test half at the cut-off before lapsed rows were left out: how many, and how the whole looks
    everyone = kamrisk.build_features(data, [CUT_OFF], active_days=365, families=["shrinking_orders"])
    full_labels = kamrisk.make_labels(data, [CUT_OFF], active_days=365, **_label(cfg))["label"]
    half = _in_test_half(everyone.index.get_level_values("account_id")) & full_labels.notna().to_numpy()
    # kamrisk as a whole on every test customer: lapsed ones are listed as already defected (risk 1)
    whole = pd.Series(np.where(lapsed(everyone), 1.0, np.nan), index=everyone.index)[half]
    risk = pd.Series(scores["model"][0], index=X_test.index)
    whole.loc[risk.index] = risk.to_numpy()
    y_whole = full_labels[half].to_numpy()
    revenue_whole = everyone.loc[half, REVENUE_FEATURE].to_numpy(dtype=float)
    overall.loc["all: lapsed=1, else model"] = pd.Series(evaluate(y_whole, whole.to_numpy(), revenue_whole))
    overall.loc["all: days_since_last_order"] = pd.Series(
        evaluate(y_whole, everyone.loc[half, DAYS_SINCE].to_numpy(dtype=float), revenue_whole, probability=False))
    info = {
        "as_of_dates": float(len(dates)),
        "train_rows": float(train.sum()),
        "train_accounts": float(X_train.index.get_level_values("account_id").nunique()),
        "test_rows_all": float(half.sum()),
        "test_rows_lapsed": float(half.sum() - test.sum()),
        "lapsed_rows_all_dates": float(X.attrs.get("lapsed_rows", 0)),
        "trees": float(model.best_iteration_),
    }
    return overall, info


def rolling_backtest(data: kamrisk.AccountData, horizon: str = "182d", every: int = 14,
                     folds: int = 2) -> BacktestResult:
    """The product's rolling-origin backtest (out of time) at a horizon the data allows."""
    cfg = recipe(horizon, folds=folds)
    days = cfg.horizon_days
    last = data.end - pd.Timedelta(days=days)  # the last as_of whose label window is complete
    tests = [last - pd.DateOffset(months=k) for k in range(folds)]
    train = pd.date_range(FIRST_AS_OF, last - pd.Timedelta(days=days), freq=f"{every}D")
    X, labels = training_table(data, cfg, kamrisk.load_catalog(), as_of=train.union(pd.DatetimeIndex(tests)))
    return kamrisk.backtest(data, cfg, table=(X, labels))


def out_of_time(data: kamrisk.AccountData, recipe: str = "occasional") -> dict[str, float]:
    """Train on the orders before the cut-off only (``kamrisk.train``, no tracking), score every customer at
    the cut-off (``kamrisk.score``) and measure the ranking against days since the last order."""
    from sklearn.metrics import roc_auc_score

    past = kamrisk.AccountData(orders=data.orders[data.orders["order_date"] < CUT_OFF], accounts=data.accounts)
    started = time.perf_counter()
    trained = kamrisk.train(past, recipe, track=False)
    seconds = time.perf_counter() - started
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # drift: scoring the month after training is what drift is for
        scores = kamrisk.score(past, trained, as_of=CUT_OFF, reasons="none").scores.set_index("account_id")
    label = trained.recipe.label
    labels = kamrisk.make_labels(data, [CUT_OFF], horizon=label.horizon_days, kind=label.kind,
                                 full_threshold=label.full_threshold, active_days=365)["label"]
    labels = labels.droplevel("as_of").dropna()
    active = scores.reindex(labels.index)
    risk = np.where(active["status"] == "scored", active["risk"], 1.0)  # lapsed: listed as already defected
    days = kamrisk.build_features(past, [CUT_OFF], families=["shrinking_orders"])["days_since_last_order"]
    days = days.droplevel("as_of").reindex(labels.index).to_numpy(dtype=float)
    y = labels.to_numpy()
    scored = (active["status"] == "scored").to_numpy()
    return {
        "customers": float(len(y)), "churn_share": float(y.mean()), "lapsed_share": float((~scored).mean()),
        "kamrisk_roc_auc": float(roc_auc_score(y, risk)),
        "days_since_last_order_roc_auc": float(roc_auc_score(y, days)),
        "scored_rows": float(scored.sum()),
        "kamrisk_scored_roc_auc": float(roc_auc_score(y[scored], risk[scored])),
        "days_scored_roc_auc": float(roc_auc_score(y[scored], days[scored])),
        "backtest_roc_auc": trained.backtest.metric("roc_auc"), "folds": float(len(trained.backtest.fold_plan)),
        "seconds": seconds,
    }


def _table(frame: pd.DataFrame) -> str:
    return frame[COLUMNS].to_string(float_format=lambda v: f"{v:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--path", default=None, help="CDNOW_master.txt or its folder (default: found upward)")
    parser.add_argument("--every", type=int, default=7, help="days between as_of dates of the customer split")
    args = parser.parse_args()
    path = Path(args.path) if args.path else find_cdnow()
    if path is None or not path.exists():
        raise SystemExit("CDNOW_master.txt not found: pass --path or set KAMRISK_CDNOW.")
    started = time.perf_counter()
    data = read(path)
    print(f"{data}; {data.report.rows_dropped.get('orders', 0)} exact duplicate rows dropped")

    check = published_check(data)
    print(f"\n1. Published definition, every active customer at the cut-off ({int(check['rows'])} rows):")
    print(f"   churn share {check['churn_share']:.3f} (published about {PUBLISHED['churn_share']:.2f}); "
          f"AUC of days since the last order {check['recency_roc_auc']:.3f} "
          f"(published about {PUBLISHED['recency_roc_auc']:.2f}; BG/NBD {PUBLISHED['bgnbd_roc_auc']:.2f}); "
          f"{check['lapsed_share']:.0%} of them already lapsed")

    t = time.perf_counter()
    overall, info = split_backtest(data, every=args.every)
    print(f"\n2. The 273-day recipe at the cut-off, customer split ({int(info['as_of_dates'])} as_of dates, "
          f"{int(info['train_rows'])} training rows of {int(info['train_accounts'])} accounts, "
          f"{int(info['trees'])} trees; {time.perf_counter() - t:.0f} s).")
    print(f"   Test half: {int(info['test_rows_all'])} customers, {int(info['test_rows_lapsed'])} already lapsed "
          "(left out), the rest scored; same rows for every scorer:")
    print(_table(overall))

    t = time.perf_counter()
    result = rolling_backtest(data)
    print(f"\n3. kamrisk.backtest out of time, 182-day horizon "
          f"({time.perf_counter() - t:.0f} s):")
    print(result.fold_plan.to_string(index=False))
    print(_table(result.overall))
    t = time.perf_counter()
    oot = out_of_time(data)
    print(f"\n4. kamrisk train --recipe occasional on the orders before {CUT_OFF.date()} only "
          f"({int(oot['folds'])} weekly backtest folds, AUC {oot['backtest_roc_auc']:.3f}; "
          f"{time.perf_counter() - t:.0f} s), scored at {CUT_OFF.date()}: {int(oot['customers'])} active customers, "
          f"{oot['churn_share']:.0%} buy nothing in the next 90 days, {oot['lapsed_share']:.0%} listed as lapsed.")
    print(f"   AUC, lapsed = certain to leave, else the model's risk: {oot['kamrisk_roc_auc']:.3f}; days since the "
          f"last order: {oot['days_since_last_order_roc_auc']:.3f} (published BG/NBD for that cut about "
          f"{PUBLISHED['bgnbd_roc_auc']:.2f})")
    print(f"   on the {int(oot['scored_rows'])} scored customers alone: model {oot['kamrisk_scored_roc_auc']:.3f}, "
          f"days since the last order {oot['days_scored_roc_auc']:.3f}")
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
