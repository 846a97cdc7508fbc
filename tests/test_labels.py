"""Defection labels from orders: full and partial, hand-checked, censored past the data's end."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kamrisk import AccountData, ConfigError, build_features, make_labels

T = pd.Timestamp("2024-01-01")


def d(days: int) -> pd.Timestamp:
    """The date ``days`` after T (negative: before)."""
    return T + pd.Timedelta(days=days)


@pytest.fixture(scope="module")
def book() -> AccountData:
    orders = pd.DataFrame(
        [
            # each active account bought 3,650 in the 365 days before T: 1,800 expected over 180 days
            ("A", d(-100), 3650.0), ("A", T, 100.0),  # on as_of: inside the horizon
            ("B", d(-50), 3650.0), ("B", d(10), 500.0), ("B", d(180), 10000.0),  # on as_of + 180: outside
            ("C", d(-300), 3650.0), ("C", d(60), 2000.0), ("C", d(200), 1.0),  # the data ends at d(201)
            ("D", d(-400), 5000.0),  # nothing in the 365 days before T: not active
            ("E", d(-30), 1000.0), ("E", d(-20), -1000.0),  # all returned: nothing to lose
            ("F", d(-10), 3650.0), ("F", d(-5), -1.0), ("F", d(90), 180.0),  # exactly 10% of expected
        ],
        columns=["account_id", "order_date", "amount"],
    )
    return AccountData(orders=orders)


def test_full_labels_by_hand(book):
    labels = make_labels(book, [T], horizon="180d", kind="full")
    assert labels.index.tolist() == [(a, T) for a in "ABCEF"]
    assert labels.loc[("A", T), "expected"] == pytest.approx(3650 * 180 / 365)  # 1,800
    assert labels["actual"].tolist() == [100.0, 500.0, 2000.0, 0.0, 180.0]
    # full: actual < 10% of 1,800 = 180; F at exactly 180 is not below it (expected 3,649 -> 179.95)
    assert labels.loc[("A", T), "label"] == 1.0
    assert labels.loc[("B", T), "label"] == 0.0
    assert labels.loc[("C", T), "label"] == 0.0
    assert np.isnan(labels.loc[("E", T), "label"])  # trailing revenue 0: nothing to lose
    assert labels.loc[("F", T), "expected"] == pytest.approx(3649 * 180 / 365)
    assert labels.loc[("F", T), "label"] == 0.0
    assert labels.attrs == {"horizon": "180d", "kind": "full", "threshold": 0.1, "active_days": 365, "lead": "0d"}


def test_partial_labels_include_full_ones(book):
    full = make_labels(book, [T], horizon="180d", kind="full")
    partial = make_labels(book, [T], horizon="180d", kind="partial")
    # partial: actual < 50% of 1,800 = 900: A (100) and B (500) and F (180); C (2,000) kept its share
    assert partial["label"].tolist()[:3] == [1.0, 1.0, 0.0]
    assert partial.loc[("F", T), "label"] == 1.0
    assert ((full["label"] == 1) <= (partial["label"] == 1)).all()
    looser = make_labels(book, [T], horizon="180d", kind="partial", partial_threshold=0.2)
    assert looser.loc[("B", T), "label"] == 0.0  # 500 >= 20% of 1,800


def test_rows_whose_horizon_passes_the_end_are_censored(book):
    assert book.end == d(201)
    labels = make_labels(book, [T, d(21), d(22)], horizon="180d")
    # d(21) + 180 = d(201): observed to the end; d(22) + 180 runs one day past it
    at_21 = labels.xs(d(21), level="as_of")
    at_22 = labels.xs(d(22), level="as_of")
    assert at_21["label"].notna().any()
    assert at_22["label"].isna().all() and at_22["actual"].isna().all()
    assert at_22["expected"].notna().all()
    short = make_labels(book, [d(22)], horizon="90d")
    assert short["label"].notna().any()


def test_labels_align_with_features(book):
    dates = [T, d(30)]
    assert make_labels(book, dates).index.equals(build_features(book, dates).index)


@pytest.mark.parametrize(
    ("options", "pattern"),
    [
        ({"horizon": "6M"}, r"horizon: expected a duration such as '90d' \(days\), '12w' \(weeks\), got '6M'"),
        ({"horizon": "0d"}, "horizon: expected a duration"),
        ({"kind": "half"}, r"kind must be one of \['full', 'partial'\]"),
        ({"full_threshold": 1.5}, r"full_threshold must be a number in \(0, 1\]"),
        ({"kind": "partial", "partial_threshold": 0}, "partial_threshold"),
        ({"active_days": -1}, "active_days"),
    ],
)
def test_bad_definitions_raise_config_errors(book, options, pattern):
    with pytest.raises(ConfigError, match=pattern):
        make_labels(book, [T], **options)


def test_a_lead_asks_still_buying_now_gone_later():
    """lead 90d, horizon 180d: judged on [T + 90, T + 180); gone already in the lead is censored."""
    orders = pd.DataFrame(
        [
            # each bought 3,650 in the 365 days before T: 900 expected over the 90 days judged
            ("G", d(-100), 3650.0), ("G", d(30), 900.0), ("G", d(60), 900.0),  # buys in the lead, then stops: 1
            ("H", d(-100), 3650.0),  # stops at T: gone in the lead too, nothing to warn of: censored
            ("K", d(-100), 3650.0), ("K", d(30), 900.0), ("K", d(120), 900.0),  # still buying later: 0
            ("M", d(-100), 3650.0), ("M", d(100), 89.0),  # nothing in the lead, under 10% later: censored
            ("N", d(-100), 3650.0), ("N", d(10), 50.0), ("N", d(95), 90.0),  # exactly 10% of 900 later: 0
            ("Z", d(-30), 1.0), ("Z", d(200), 1.0),  # the data ends at d(201)
        ],
        columns=["account_id", "order_date", "amount"],
    )
    labels = make_labels(AccountData(orders=orders), [T], horizon="180d", kind="full", lead="90d")
    assert labels.attrs["lead"] == "90d"
    assert labels.loc[("G", T), "expected"] == pytest.approx(900.0)
    got = labels["label"].to_dict()
    assert got[("G", T)] == 1.0 and got[("K", T)] == 0.0 and got[("N", T)] == 0.0
    assert np.isnan(got[("H", T)]) and np.isnan(got[("M", T)])
    plain = make_labels(AccountData(orders=orders), [T], horizon="180d", kind="full")["label"]
    assert plain[("H", T)] == 1.0  # without a lead an account that already stopped is a positive
    with pytest.raises(ConfigError, match="lead .180 days. must be shorter than the horizon"):
        make_labels(AccountData(orders=orders), [T], horizon="180d", lead="180d")
