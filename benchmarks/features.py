"""Time and peak memory of ``build_features`` at 36 monthly as-of dates, for 2,500 and 5,000 accounts.

    python benchmarks/features.py [--accounts 2500 5000] [--dates 36]

Uses ``kamrisk.simulate`` when the simulator is available, else a synthetic book generated here
(orders with categories and returns, the whole event vocabulary, account master data). Peak memory is
the process's peak resident set size after the run (Linux ``ru_maxrss``), so each size runs in its own
subprocess. Target: under 30 s and 3 GiB at 5,000 accounts on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings

import numpy as np
import pandas as pd

_EVENTS_PER_YEAR = {  # mean events per account per year in the synthetic book
    "visit": 10, "satisfaction_survey": 2, "complaint": 1.5, "quality_complaint": 0.8, "price_dispute": 0.6,
    "cross_region_selling": 0.3, "late_delivery": 1.2, "stock_out": 0.8, "escalation": 0.3,
    "competitor_offer": 0.6, "competitor_visit": 0.5, "retender_notice": 0.15, "purchasing_model_change": 0.1,
    "new_buyer": 0.2, "payment_term_change": 0.2, "backward_integration": 0.05, "private_label": 0.05,
    "merger_acquisition": 0.05, "leadership_change": 0.15, "contraction": 0.08,
}


def synthetic_book(accounts: int, months: int = 48, seed: int = 7):
    """A synthetic book: about 4 orders per account a month, 15% of accounts fading out."""
    import kamrisk

    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2021-01-01")
    span = int(months * 30.44)
    ids = np.array([f"K{i:05d}" for i in range(accounts)])
    rate = rng.gamma(4.0, 1.0, accounts) / 30.44  # orders a day
    first = rng.integers(0, span // 3, accounts)
    fades = rng.random(accounts) < 0.15
    stop = np.where(fades, rng.integers(span // 3, span, accounts), span)
    n = rng.poisson(rate * (stop - first))
    account = np.repeat(np.arange(accounts), n)
    day = np.repeat(first, n) + (rng.random(n.sum()) * np.repeat(stop - first, n)).astype(int)
    amount = rng.lognormal(8.0, 0.8, n.sum()).round(2)
    amount[rng.random(n.sum()) < 0.03] *= -0.5  # returns and cancellations
    orders = pd.DataFrame({
        "account_id": ids[account],
        "order_date": start + pd.to_timedelta(day, unit="D"),
        "amount": amount,
        "category": rng.choice([f"line{i}" for i in range(8)], n.sum()),
    })
    frames = []
    for event_type, per_year in _EVENTS_PER_YEAR.items():
        k = rng.poisson(per_year * span / 365, accounts)
        who = np.repeat(np.arange(accounts), k)
        when = (rng.random(k.sum()) * span).astype(int)
        frame = pd.DataFrame({"account_id": ids[who], "event_date": start + pd.to_timedelta(when, unit="D"),
                              "event_type": event_type})
        if event_type in ("complaint", "quality_complaint", "price_dispute", "cross_region_selling",
                          "late_delivery", "stock_out"):
            late = rng.exponential(40, k.sum()).astype(int)
            resolved = start + pd.to_timedelta(when + late, unit="D")
            frame["resolved_date"] = resolved.where(rng.random(k.sum()) > 0.1)
        if event_type == "visit":
            frame["level"] = rng.choice(["executive", "manager", "operational"], k.sum(), p=[0.15, 0.5, 0.35])
        if event_type == "satisfaction_survey":
            frame["value"] = rng.integers(1, 6, k.sum()).astype(float)
        if event_type in ("competitor_offer", "payment_term_change"):
            frame["value"] = rng.normal(8, 5, k.sum()).round()
        frames.append(frame)
    events = pd.concat(frames, ignore_index=True)
    end = orders["order_date"].max()
    events = events.loc[events["event_date"] <= end]
    events.loc[events["resolved_date"] > end, "resolved_date"] = pd.NaT
    master = pd.DataFrame({
        "account_id": ids,
        "segment": rng.choice(["food", "chemicals", "electronics", "textiles", "auto", "pharma"], accounts),
        "region": rng.choice(["east", "south", "north", "west", "central"], accounts),
        "channel": rng.choice(["distributor", "dealer", "retail_chain", "direct"], accounts),
        "tier": rng.choice(["A", "B", "C"], accounts),
        "since": start + pd.to_timedelta(first - rng.integers(0, 2000, accounts), unit="D"),
    })
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return kamrisk.AccountData(orders=orders, events=events, accounts=master)


def book(accounts: int):
    import kamrisk

    try:
        simulated = kamrisk.simulate(accounts=accounts, months=48, seed=7)
    except (AttributeError, ImportError, TypeError):
        return synthetic_book(accounts), "synthetic"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return simulated.to_account_data(), "kamrisk.simulate"


def run_one(accounts: int, dates: int) -> dict:
    import kamrisk

    started = time.perf_counter()
    data, source = book(accounts)
    built = time.perf_counter() - started
    end = data.end
    as_of = pd.date_range(end=end - pd.offsets.MonthBegin(1), periods=dates, freq="MS")
    kamrisk.load_catalog()
    started = time.perf_counter()
    features = kamrisk.build_features(data, as_of)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB -> GiB
    return {"accounts": accounts, "source": source, "orders": len(data.orders),
            "events": 0 if data.events is None else len(data.events), "rows": len(features),
            "features": features.shape[1], "book_seconds": round(built, 1), "seconds": round(seconds, 2),
            "peak_gib": round(peak, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, nargs="+", default=[2500, 5000])
    parser.add_argument("--dates", type=int, default=36)
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.accounts[0], args.dates)))
        return
    print(f"{'accounts':>8} {'source':>16} {'orders':>9} {'events':>8} {'rows':>7} {'cols':>4} "
          f"{'seconds':>8} {'peak GiB':>8}")
    for accounts in args.accounts:
        out = subprocess.run([sys.executable, __file__, "--one", "--accounts", str(accounts), "--dates",
                              str(args.dates)], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{r['accounts']:>8} {r['source']:>16} {r['orders']:>9} {r['events']:>8} {r['rows']:>7} "
              f"{r['features']:>4} {r['seconds']:>8} {r['peak_gib']:>8}")


if __name__ == "__main__":
    main()
