"""Defection-sign features: point in time, order-free, and hand-checked on a tiny book, family by family."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kamrisk
from kamrisk import AccountData, ConfigError, OptionError, build_features, load_catalog
from kamrisk._features import active_accounts

T = pd.Timestamp("2024-07-01")  # the as-of date of the golden book


def d(days: int) -> pd.Timestamp:
    """The date ``days`` before T (negative: after T)."""
    return T - pd.Timedelta(days=days)


def _book(events: bool = True, **tables) -> AccountData:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", kamrisk.DataWarning)  # events dated after the last order
        return AccountData(orders=tables.get("orders", _orders()), events=_events() if events else None,
                           accounts=tables.get("accounts", _accounts()))


def _orders() -> pd.DataFrame:
    return pd.DataFrame(
        [
            # A: a buyer whose last 90 days fell against the 90 before; z-lines are at or after as_of
            ("A", d(400), 1000.0, "x"), ("A", d(200), 2000.0, "x"), ("A", d(150), 1000.0, "y"),
            ("A", d(100), 3000.0, "x"), ("A", d(60), 1000.0, "y"), ("A", d(20), 500.0, "x"),
            ("A", d(10), -100.0, "x"), ("A", T, 9999.0, "z"), ("A", d(-5), 7777.0, "z"),
            # B: bought until 250 days ago, then stopped: its defection became visible in the last 180 days
            ("B", d(500), 1000.0, "x"), ("B", d(300), 1000.0, "x"), ("B", d(250), 1000.0, "x"),
            ("C", d(300), 500.0, "x"), ("C", d(100), 500.0, "x"), ("C", d(30), 500.0, "x"),
            ("D", d(50), 200.0, "x"),
            # E: stopped 400 days ago (inactive; its defection was visible before the window)
            ("E", d(400), 1000.0, "x"),
            ("F", d(400), 1000.0, "x"), ("F", d(200), 800.0, "x"),
            ("G", d(10), 100.0, "x"),
        ],
        columns=["account_id", "order_date", "amount", "category"],
    )


def _events() -> pd.DataFrame:
    def a(days, event_type, **extra):
        return {"account_id": "A", "event_date": d(days), "event_type": event_type, **extra}

    return pd.DataFrame(
        [
            a(100, "complaint", resolved_date=d(50)),
            a(80, "quality_complaint", resolved_date=T),  # resolved on as_of: still open at as_of
            a(30, "price_dispute"),
            a(200, "late_delivery", resolved_date=d(190)),
            a(20, "stock_out", resolved_date=d(-10)),
            a(110, "stock_out", resolved_date=d(105)),  # in March, A's peak month
            a(15, "escalation"),
            a(-3, "complaint"),  # after as_of
            a(40, "retender_notice"), a(400, "retender_notice"), a(5, "new_buyer"),
            a(100, "payment_term_change", value=15.0), a(30, "payment_term_change", value=-5.0),
            a(-1, "payment_term_change", value=99.0),
            a(60, "private_label"), a(500, "leadership_change"),
            a(10, "competitor_offer", value=12.0), a(200, "competitor_offer", value=8.0), a(50, "competitor_offer"),
            a(95, "competitor_visit"),
            a(10, "visit", level="operational"), a(120, "visit", level="manager"),
            a(200, "visit", level="executive"), a(300, "visit", level="executive"),
            a(400, "visit", level="manager"), a(420, "visit", level="operational"),
            a(-2, "visit", level="executive"),
            a(300, "satisfaction_survey", value=4.0), a(30, "satisfaction_survey", value=2.5),
            a(-1, "satisfaction_survey", value=5.0),
        ]
    )


def _accounts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": list("ABCDEFG"),
            "segment": ["retail"] * 6 + [None],
            "region": ["east", "east", "east", "west", "east", "west", "east"],
            "channel": ["distributor", "dealer", "dealer", None, "dealer", "dealer", "direct"],
            "since": [pd.Timestamp("2020-01-01"), None, pd.Timestamp("2030-01-01"), None, None, None, None],
        }
    )


@pytest.fixture(scope="module")
def golden() -> pd.DataFrame:
    return build_features(_book(), [T])


def test_shape_index_dtypes_and_catalog_hash(golden):
    catalog = load_catalog()
    assert list(golden.columns) == catalog.feature_ids
    assert golden.index.names == ["account_id", "as_of"]
    # E's last order is 400 days old: not active, no row
    assert golden.index.tolist() == [(a, T) for a in "ABCDFG"]
    assert golden.attrs["catalog_hash"] == catalog.hash
    for column in golden.columns:
        expected = "category" if column in catalog.categorical else "float64"
        assert str(golden[column].dtype) == expected, column


def test_shrinking_orders_by_hand(golden):
    a = golden.loc[("A", T)]
    # windows end the day before as_of: the 9999 on as_of and the 7777 after it are never seen
    assert a["revenue_30d"] == 500 - 100
    assert a["revenue_90d"] == 1000 + 500 - 100
    assert a["revenue_180d"] == 1000 + 3000 + 1400
    assert a["revenue_365d"] == 2000 + 5400
    assert a[["order_count_30d", "order_count_90d", "order_count_180d", "order_count_365d"]].tolist() == [1, 2, 4, 5]
    assert a["revenue_change_30d"] == pytest.approx(400 / 1000 - 1)
    assert a["revenue_change_90d"] == pytest.approx(1400 / 4000 - 1)
    assert a["revenue_change_180d"] == pytest.approx(5400 / 2000 - 1)
    assert a["revenue_change_365d"] == pytest.approx(7400 / 1000 - 1)
    assert a["revenue_yoy_change_90d"] == pytest.approx(1400 / 1000 - 1)  # vs the 90 days 455-365 days ago
    assert np.isnan(a["revenue_yoy_change_30d"])  # nothing 395-365 days ago: base 0
    assert a["order_count_change_90d"] == 0.0
    # monthly buckets back from as_of: [400, 1000, 0, 3000, 1000, 0, 2000, 0, 0, 0, 0, 0]; x centred = 5.5 - k
    slope = (5.5 * 400 + 4.5 * 1000 + 2.5 * 3000 + 1.5 * 1000 - 0.5 * 2000) / 143
    assert a["revenue_slope_365d"] == pytest.approx(slope / (7400 / 12))
    assert a["days_since_last_order"] == 20  # the return 10 days ago is not an order
    assert a["typical_reorder_gap_days"] == pytest.approx((400 - 20) / 5)  # 6 order days in 730
    assert a["recency_gap_ratio"] == pytest.approx(20 / 76)
    assert a["average_order_size_change_90d"] == pytest.approx((1500 / 2) / (4000 / 2) - 1)
    assert a[["product_lines_90d", "product_lines_180d"]].tolist() == [2, 2]
    assert a["product_lines_change_90d"] == 0  # {x, y} vs {x, y}
    assert a["product_lines_change_180d"] == 1  # {x, y} vs {x}
    assert a["returns_share_180d"] == pytest.approx(100 / 5500)
    b = golden.loc[("B", T)]
    assert b["revenue_365d"] == 2000 and b["revenue_change_180d"] == -1.0
    assert b["recency_gap_ratio"] == pytest.approx(250 / 125)


def test_procurement_change_by_hand(golden):
    a = golden.loc[("A", T)]
    assert a["retender_notices_365d"] == 1 and a["days_since_retender_notice"] == 40
    assert a["purchasing_model_changes_365d"] == 0 and np.isnan(a["days_since_purchasing_model_change"])
    assert a["new_buyers_365d"] == 1 and a["days_since_new_buyer"] == 5
    assert a["payment_term_change_days_365d"] == 15 - 5  # the +99 is dated after as_of
    assert golden.loc[("B", T), "retender_notices_365d"] == 0


def test_channel_conflict_by_hand(golden):
    a = golden.loc[("A", T)]
    # open at as_of: the quality complaint (resolved on as_of), the price dispute, the recent stock-out
    assert a["open_complaints"] == 3
    assert a["oldest_open_complaint_days"] == 80
    assert a["complaints_90d"] == 3
    assert a["complaints_365d"] == 6
    assert a["mean_resolution_days_365d"] == pytest.approx((50 + 10 + 5) / 3)
    assert a["escalations_180d"] == 1 and a["price_disputes_365d"] == 1
    assert a["cross_region_selling_365d"] == 0 and a["late_deliveries_180d"] == 0
    assert a["stock_outs_180d"] == 2
    # A's busiest month before as_of is March (3,000); season Feb-Apr holds the stock-out of 13 March only
    assert d(100).month == 3 and d(110).month == 3 and d(20).month == 6
    assert a["peak_season_stock_outs_365d"] == 1
    b = golden.loc[("B", T)]
    assert b["open_complaints"] == 0 and np.isnan(b["oldest_open_complaint_days"])


def test_strategy_and_competitor_by_hand(golden):
    a = golden.loc[("A", T)]
    assert a["private_label_365d"] == 1 and a["days_since_private_label"] == 60
    assert a["leadership_change_365d"] == 0 and a["days_since_leadership_change"] == 500
    assert a["competitor_offers_90d"] == 2 and a["competitor_offers_365d"] == 3
    assert a["days_since_competitor_offer"] == 10
    assert a["competitor_price_gap_365d"] == (12 + 8) / 2  # the offer without a value is not averaged
    assert a["competitor_visits_90d"] == 0 and a["competitor_visits_365d"] == 1
    assert a["days_since_competitor_visit"] == 95


def test_relationship_by_hand(golden):
    a = golden.loc[("A", T)]
    assert a["days_since_last_visit"] == 10
    assert a["visits_90d"] == 1 and a["visits_365d"] == 4
    # norm: 5 visits in the 365 days before the last 90, i.e. 5 * 90 / 365 per 90 days
    assert a["visits_90d_vs_norm"] == pytest.approx(1 / (5 * 90 / 365))
    assert a["executive_visit_share_365d"] == 0.5
    assert a["satisfaction_last"] == 2.5 and a["satisfaction_change"] == -1.5
    assert np.isnan(golden.loc[("B", T), "satisfaction_last"])


def test_contagion_by_hand(golden):
    # retail/east: A, B, C, E. Customers in the year before the window: all four. B stopped inside the
    # window (visible now, not 180 days ago); E stopped long ago (visible then already).
    assert golden.loc[("A", T), "peer_defection_share_segment_region_180d"] == pytest.approx(1 / 3)
    assert golden.loc[("A", T), "peer_defections_segment_region_180d"] == 1
    assert golden.loc[("B", T), "peer_defection_share_segment_region_180d"] == 0  # not its own peer
    # retail: + D (no revenue before the window: not a customer) and F (defected in the window)
    assert golden.loc[("A", T), "peer_defection_share_segment_180d"] == pytest.approx(2 / 4)
    assert golden.loc[("B", T), "peer_defection_share_segment_180d"] == pytest.approx(1 / 4)
    assert golden.loc[("D", T), "peer_defection_share_segment_region_180d"] == 1.0  # F, its only peer
    assert np.isnan(golden.loc[("F", T), "peer_defection_share_segment_region_180d"])  # no customer peer
    assert golden.loc[("G", T), ["peer_defection_share_segment_180d"]].isna().all()  # segment unknown


def test_account_context_by_hand(golden):
    assert golden.loc[("A", T), "tenure_days"] == (T - pd.Timestamp("2020-01-01")).days
    assert golden.loc[("B", T), "tenure_days"] == 500  # since unknown: first order
    assert golden.loc[("C", T), "tenure_days"] == 300  # since after as_of: first order
    # revenue_365d: G 100 < D 200 < F 800 < C 1500 < B 2000 < A 7400
    assert golden["revenue_rank_pct"].tolist() == pytest.approx([6 / 6, 5 / 6, 4 / 6, 2 / 6, 3 / 6, 1 / 6])
    assert golden["revenue_top20_flag"].tolist() == [1, 0, 0, 0, 0, 0]
    assert golden["segment"].tolist()[:2] == ["retail", "retail"] and pd.isna(golden.loc[("G", T), "segment"])
    assert list(golden["channel"].cat.categories) == ["dealer", "direct", "distributor"]
    assert golden["tier"].isna().all()  # no tier column


def test_missing_events_give_nan_families():
    features = build_features(_book(events=False), [T])
    catalog = load_catalog()
    for sign in catalog.signs:
        if sign.family in ("procurement_change", "channel_conflict", "strategy_shift", "competitor_pressure",
                           "relationship"):
            assert features[sign.id].isna().all(), sign.id
    assert features.loc[("A", T), "revenue_90d"] == 1400


def test_missing_optional_columns_give_nan_signs():
    book = _book(orders=_orders().drop(columns="category"),
                 accounts=_accounts().drop(columns=["segment", "channel"]))
    book.events = book.events.drop(columns=["resolved_date"])
    features = build_features(book, [T])
    assert features["product_lines_90d"].isna().all()
    assert features["open_complaints"].isna().all() and features["complaints_90d"].notna().all()
    assert features["peer_defection_share_segment_180d"].isna().all()
    assert features["segment"].isna().all() and str(features["segment"].dtype) == "category"


def test_several_dates_at_once_equal_one_at_a_time():
    book = _book()
    dates = [d(200), d(30), T]
    together = build_features(book, dates)
    for date in dates:
        alone = build_features(book, [date])
        pd.testing.assert_frame_equal(together.xs(date, level="as_of", drop_level=False), alone,
                                      check_exact=True)


def test_active_account_rule():
    orders = pd.DataFrame({"account_id": ["edge", "gone", "today", "return"],
                           "order_date": [d(365), d(366), T, d(5)], "amount": [10.0, 10.0, 10.0, -10.0]})
    book = _book(orders=orders, accounts=pd.DataFrame({"account_id": ["edge", "gone", "today", "return"]}))
    assert active_accounts(book, T).tolist() == [("edge", T)]
    assert build_features(book, [T]).index.tolist() == [("edge", T)]
    assert active_accounts(book, T, active_days=30).empty
    golden_book = _book()
    assert active_accounts(golden_book, [T, d(365)]).equals(build_features(golden_book, [T, d(365)]).index)
    with pytest.raises(ConfigError, match="active_days"):
        active_accounts(book, T, active_days=0)


def test_families_option_and_errors():
    book = _book()
    only = build_features(book, [T], families=["relationship", "contagion"])
    catalog = load_catalog()
    assert list(only.columns) == [s.id for s in catalog.signs if s.family in ("relationship", "contagion")]
    with pytest.raises(ConfigError, match=r"Unknown sign families \['gossip'\]"):
        build_features(book, [T], families=["gossip"])
    with pytest.raises(OptionError, match="as_of must be an ISO date YYYY-MM-DD"):
        build_features(book, ["not a date"])
    early = build_features(book, ["2000-01-01"])
    assert early.empty and list(early.columns) == catalog.feature_ids


# -- properties ------------------------------------------------------------------------------------------
START = pd.Timestamp("2022-01-01")
EVENT_TYPES = sorted(kamrisk.load_vocabulary())
_day = st.integers(0, 800)
_amount = st.floats(-300, 5000, allow_nan=False).map(lambda v: round(v, 2))
_order = st.tuples(st.sampled_from("ABC"), _day, _amount, st.sampled_from(["x", "y", None]))
_event = st.tuples(st.sampled_from("ABC"), _day, st.sampled_from(EVENT_TYPES),
                   st.one_of(st.none(), st.integers(0, 150)), st.one_of(st.none(), st.sampled_from([1.0, 2.5, 4.0])),
                   st.sampled_from(["executive", "manager", "operational", None]))


def _orders_frame(rows) -> pd.DataFrame:
    return pd.DataFrame({"account_id": [r[0] for r in rows],
                         "order_date": [START + pd.Timedelta(days=r[1]) for r in rows],
                         "amount": [r[2] for r in rows], "category": [r[3] for r in rows]})


def _events_frame(rows) -> pd.DataFrame:
    return pd.DataFrame({
        "account_id": [r[0] for r in rows],
        "event_date": [START + pd.Timedelta(days=r[1]) for r in rows],
        "event_type": [r[2] for r in rows],
        "resolved_date": [START + pd.Timedelta(days=r[1] + r[3]) if r[3] is not None else pd.NaT for r in rows],
        "value": [r[4] for r in rows], "level": [r[5] for r in rows],
    })


_ACCOUNTS = pd.DataFrame({"account_id": list("ABC"), "segment": ["s", "s", "t"], "region": ["e", "e", "e"]})


def _data(orders, events, accounts=_ACCOUNTS) -> AccountData:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", kamrisk.DataWarning)
        return AccountData(orders=orders, events=events, accounts=accounts)


_SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(orders=st.lists(_order, min_size=1, max_size=25), events=st.lists(_event, max_size=25),
       as_of=st.integers(30, 800),
       later_orders=st.lists(st.tuples(st.sampled_from("ABCZ"), st.integers(0, 300), _amount,
                                       st.sampled_from(["x", "w"])), min_size=1, max_size=8),
       later_events=st.lists(st.tuples(st.sampled_from("ABCZ"), st.integers(0, 300), st.sampled_from(EVENT_TYPES),
                                       st.one_of(st.none(), st.integers(0, 50)), st.just(3.0),
                                       st.just("executive")), max_size=8))
def test_facts_at_or_after_as_of_never_change_features(orders, events, as_of, later_orders, later_events):
    date = START + pd.Timedelta(days=as_of)
    # events raised before as_of may be resolved later: that is open at as_of, whenever the data says it ends
    base = _data(_orders_frame(orders), _events_frame(events))
    shift = [(r[0], as_of + r[1], *r[2:]) for r in later_orders]
    shifted_events = [(r[0], as_of + r[1], *r[2:]) for r in later_events]
    more = _data(pd.concat([_orders_frame(orders), _orders_frame(shift)], ignore_index=True),
                 pd.concat([_events_frame(events), _events_frame(shifted_events)], ignore_index=True))
    pd.testing.assert_frame_equal(build_features(base, [date]), build_features(more, [date]), check_exact=True)


@_SETTINGS
@given(orders=st.lists(_order, min_size=1, max_size=30), events=st.lists(_event, max_size=30),
       as_of=st.lists(st.integers(30, 800), min_size=1, max_size=3), seed=st.integers(0, 2**16))
def test_shuffling_input_rows_changes_nothing(orders, events, as_of, seed):
    dates = [START + pd.Timedelta(days=k) for k in as_of]
    rng = np.random.default_rng(seed)
    order_frame, event_frame = _orders_frame(orders), _events_frame(events)
    base = build_features(_data(order_frame, event_frame), dates)
    shuffled = _data(order_frame.sample(frac=1, random_state=rng), event_frame.sample(frac=1, random_state=rng),
                     _ACCOUNTS.sample(frac=1, random_state=rng))
    pd.testing.assert_frame_equal(base, build_features(shuffled, dates), check_exact=True)


def test_an_order_id_shared_by_two_accounts_counts_once_for_each():
    # "X1" is an order of A (two lines, two days: counted on its first day) and, by coincidence, of B
    orders = pd.DataFrame({
        "account_id": ["A", "A", "A", "B", "B", "B"],
        "order_id": ["X1", "X1", "X2", "X1", "X3", "X3"],
        "order_date": [d(100), d(20), d(10), d(15), d(5), d(5)],
        "amount": [100.0, 50.0, 70.0, 30.0, 20.0, 25.0],
    })
    features = build_features(_book(events=False, orders=orders, accounts=pd.DataFrame({"account_id": ["A", "B"]})),
                              [T], families=["shrinking_orders"])
    counts = features["order_count_90d"].droplevel("as_of")
    assert counts["A"] == 1.0  # X2 only: X1 was placed 100 days ago, its second line does not count again
    assert counts["B"] == 2.0  # its own X1 and X3 (two lines, one order)
    assert features.loc[("A", T), "order_count_180d"] == 2.0


def test_a_book_and_its_sorted_tables_are_freed_with_it():
    import gc
    import weakref

    data = _book()
    build_features(data, [T])
    alive = weakref.ref(data)
    del data
    gc.collect()
    assert alive() is None  # the features' cache of sorted tables does not keep a scored book in memory


@_SETTINGS
@given(orders=st.lists(st.tuples(st.sampled_from("ABC"), st.integers(0, 1200), st.integers(-300, 5000),
                                 st.just("x")), min_size=1, max_size=40),
       as_of=st.lists(st.integers(0, 1400), min_size=1, max_size=3), history=st.sampled_from([30, 365, 730]),
       edges=st.booleans())
def test_peak_month_is_the_month_with_most_gross_orders(orders, as_of, history, edges):
    # whole amounts: every sum is exact, so the busiest month (the first of equals) is found by hand
    from kamrisk._features._base import Context, as_of_index
    from kamrisk._features._channel_conflict import peak_month

    if edges:  # big orders on each as_of (not yet known there) and on the first day of its window (known)
        orders = orders + [("A", k, 1_000_000, "x") for k in as_of] + [("A", k - history, 999_999, "x") for k in as_of]
    frame = _orders_frame(orders)
    ctx = Context(_data(frame, None), as_of_index([START + pd.Timedelta(days=k) for k in as_of]), 5000)
    got = peak_month(ctx, history)
    for row, (account, date) in enumerate(ctx.index):
        window = frame[(frame["account_id"] == account) & (frame["order_date"] < date)
                       & (frame["order_date"] >= date - pd.Timedelta(days=history))]
        gross = np.bincount(window["order_date"].dt.month - 1, weights=window["amount"].clip(lower=0), minlength=12)
        assert got[row] == (gross.argmax() if gross.max() > 0 else -1), (account, date)
