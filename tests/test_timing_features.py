"""Sign kinds that carry the signs' timing: hand-checked on a tiny book, point in time, order-free, and NaN
when the events table or the column they read is absent."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kamrisk
from kamrisk import AccountData, build_features, load_catalog
from kamrisk._features import KINDS
from kamrisk._features._base import Context, as_of_index

T = pd.Timestamp("2024-07-01")
COMPLAINTS = ["complaint", "quality_complaint", "stock_out"]
TIMING_KINDS = ("event_decay", "event_kernel", "open_age_load", "event_rate_change", "value_vs_norm",
                "value_decay_mean", "days_since_level")
# one or more parameter sets per timing kind, over the event types of the tiny book and the properties
SPECS = {
    "decay_retender_90d": ("event_decay", {"types": ["retender_notice"], "half_life": "90d"}),
    "decay_complaints_30d": ("event_decay", {"types": COMPLAINTS, "half_life": "30d"}),
    "kernel_retender_90d": ("event_kernel", {"types": ["retender_notice"], "peak": "90d"}),
    "kernel_complaints_45d": ("event_kernel", {"types": COMPLAINTS, "peak": "45d"}),
    "open_load": ("open_age_load", {"types": COMPLAINTS}),
    "open_load_cap_60d": ("open_age_load", {"types": COMPLAINTS, "cap": "60d"}),
    "visit_rate_change_90d": ("event_rate_change", {"types": ["visit"], "window": "90d", "norm": "365d"}),
    "complaint_rate_change_30d": ("event_rate_change", {"types": COMPLAINTS, "window": "30d", "norm": "180d"}),
    "satisfaction_vs_norm_180d": ("value_vs_norm", {"types": ["satisfaction_survey"], "window": "180d",
                                                     "norm": "365d"}),
    "satisfaction_recent_90d": ("value_decay_mean", {"types": ["satisfaction_survey"], "half_life": "90d"}),
    "days_since_executive": ("days_since_level", {"types": ["visit"], "level": "executive"}),
}


def d(days: int) -> pd.Timestamp:
    """The date ``days`` before T (negative: after T)."""
    return T - pd.Timedelta(days=days)


def _data(orders: pd.DataFrame, events: pd.DataFrame | None, accounts: pd.DataFrame | None = None) -> AccountData:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", kamrisk.DataWarning)  # events dated after the last order
        return AccountData(orders=orders, events=events, accounts=accounts)


def _timing(data: AccountData, dates) -> pd.DataFrame:
    """Every spec of :data:`SPECS`, computed by its kind, one column each."""
    ctx = Context(data, as_of_index(dates))
    return pd.DataFrame({name: np.asarray(KINDS[kind].compute(ctx, params), dtype=float)
                         for name, (kind, params) in SPECS.items()}, index=ctx.index)


def _orders() -> pd.DataFrame:
    return pd.DataFrame({"account_id": ["A", "A", "A", "A", "B"],
                         "order_date": [d(400), d(100), d(10), T, d(50)],
                         "amount": [100.0, 100.0, 100.0, 100.0, 50.0]})


def _events() -> pd.DataFrame:
    def a(days, event_type, **extra):
        return {"account_id": "A", "event_date": d(days), "event_type": event_type, **extra}

    return pd.DataFrame([
        a(90, "retender_notice"), a(180, "retender_notice"), a(0, "retender_notice"), a(-20, "retender_notice"),
        a(100, "complaint", resolved_date=d(50)),  # settled before as_of
        a(30, "complaint"),  # never settled: open, 30 days old
        a(400, "quality_complaint", resolved_date=T),  # settled on as_of: open at as_of, 400 days old
        a(20, "stock_out", resolved_date=d(-5)),  # settled after as_of: open, 20 days old
        a(0, "complaint"),  # raised on as_of: not yet seen
        a(10, "visit", level="manager"), a(100, "visit", level="operational"),
        a(200, "visit", level="executive"), a(300, "visit", level="manager"), a(0, "visit", level="executive"),
        a(300, "satisfaction_survey", value=4.0), a(120, "satisfaction_survey", value=3.0),
        a(30, "satisfaction_survey", value=2.0), a(0, "satisfaction_survey", value=1.0),
    ])


@pytest.fixture(scope="module")
def golden() -> pd.DataFrame:
    return _timing(_data(_orders(), _events()), [T])


def test_recency_and_delayed_response_by_hand(golden):
    a, b = golden.loc[("A", T)], golden.loc[("B", T)]
    # re-tenders 90 and 180 days old; the ones on and after as_of are not seen
    assert a["decay_retender_90d"] == pytest.approx(0.5 + 0.25)
    assert a["kernel_retender_90d"] == pytest.approx(1.0 + 2.0 * math.exp(-1.0))  # at its peak, and past it
    # complaints 100, 30, 400 and 20 days old (whether settled or not)
    assert a["decay_complaints_30d"] == pytest.approx(2 ** (-100 / 30) + 2 ** (-1) + 2 ** (-400 / 30) + 2 ** (-20 / 30))
    assert b["decay_retender_90d"] == 0 and b["kernel_retender_90d"] == 0  # no events: no weight


def test_open_age_load_by_hand(golden):
    a = golden.loc[("A", T)]
    assert a["open_load"] == 30 + 365 + 20  # the 400-day-old one capped at a year; the settled one left out
    assert a["open_load_cap_60d"] == 30 + 60 + 20
    assert golden.loc[("B", T), "open_load"] == 0


def test_change_against_the_accounts_own_norm_by_hand(golden):
    a, b = golden.loc[("A", T)], golden.loc[("B", T)]
    # visits: 1 in the last 90 days against 3 over the norm period, which A's history (first order and
    # first event 400 days ago) covers for 400 - 90 = 310 days
    assert a["visit_rate_change_90d"] == pytest.approx(1 * 365 / 90 - 3 * 365 / 310)
    # complaints: 2 raised in the last 30 days (30 and 20 days ago; the window includes its first day)
    # against 1 (100 days ago) in the 180 days before; the 400-day-old one is older than the norm
    assert a["complaint_rate_change_30d"] == pytest.approx(2 * 365 / 30 - 1 * 365 / 180)
    assert np.isnan(b["visit_rate_change_90d"])  # B's history (50 days) does not reach the norm period
    # satisfaction: 2.5 in the last 180 days against 4.0 before
    assert a["satisfaction_vs_norm_180d"] == pytest.approx(-1.5)
    weights = [2 ** (-300 / 90), 2 ** (-120 / 90), 2 ** (-30 / 90)]
    assert a["satisfaction_recent_90d"] == pytest.approx(np.dot(weights, [4.0, 3.0, 2.0]) / sum(weights))
    assert np.isnan(b["satisfaction_vs_norm_180d"]) and np.isnan(b["satisfaction_recent_90d"])


def test_days_since_level_by_hand(golden):
    assert golden.loc[("A", T), "days_since_executive"] == 200
    assert golden.loc[("B", T), "days_since_executive"] == 50  # never met an executive: since its first order


def test_every_timing_kind_is_exercised():
    assert {kind for kind, _ in SPECS.values()} == set(TIMING_KINDS)
    catalog = load_catalog()
    assert {KINDS[s.kind].name for s in catalog.signs} >= set(TIMING_KINDS)  # the catalog uses every one


def test_shipped_timing_signs_are_nan_without_events_or_their_column():
    catalog = load_catalog()
    timing = [s for s in catalog.signs if s.kind in TIMING_KINDS]
    without = build_features(_data(_orders(), None), [T])
    assert without[[s.id for s in timing]].isna().all().all()
    for column in ("resolved_date", "value", "level"):
        features = build_features(_data(_orders(), _events().drop(columns=column)), [T])
        for sign in timing:
            needs = column in KINDS[sign.kind].columns
            assert features[sign.id].isna().all() == needs, (column, sign.id)


# -- properties ------------------------------------------------------------------------------------------
START = pd.Timestamp("2022-01-01")
_TYPES = ["retender_notice", "complaint", "quality_complaint", "stock_out", "visit", "satisfaction_survey"]
_order = st.tuples(st.sampled_from("ABC"), st.integers(0, 800), st.floats(1, 5000).map(lambda v: round(v, 2)))
_event = st.tuples(st.sampled_from("ABC"), st.integers(0, 800), st.sampled_from(_TYPES),
                   st.one_of(st.none(), st.integers(0, 150)), st.one_of(st.none(), st.sampled_from([1.0, 2.5, 4.0])),
                   st.sampled_from(["executive", "manager", None]))


def _orders_frame(rows) -> pd.DataFrame:
    return pd.DataFrame({"account_id": [r[0] for r in rows],
                         "order_date": [START + pd.Timedelta(days=r[1]) for r in rows],
                         "amount": [r[2] for r in rows]})


def _events_frame(rows) -> pd.DataFrame:
    return pd.DataFrame({
        "account_id": [r[0] for r in rows],
        "event_date": [START + pd.Timedelta(days=r[1]) for r in rows],
        "event_type": [r[2] for r in rows],
        "resolved_date": [START + pd.Timedelta(days=r[1] + r[3]) if r[3] is not None else pd.NaT for r in rows],
        "value": [r[4] for r in rows], "level": [r[5] for r in rows],
    })


_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(orders=st.lists(_order, min_size=1, max_size=20), events=st.lists(_event, max_size=30),
       as_of=st.integers(30, 800),
       later_orders=st.lists(st.tuples(st.sampled_from("ABCZ"), st.integers(0, 300), st.just(10.0)), max_size=5),
       later_events=st.lists(st.tuples(st.sampled_from("ABCZ"), st.integers(0, 300), st.sampled_from(_TYPES),
                                       st.one_of(st.none(), st.integers(0, 50)), st.just(1.0),
                                       st.just("executive")), min_size=1, max_size=10))
def test_facts_at_or_after_as_of_change_nothing(orders, events, as_of, later_orders, later_events):
    # facts dated on as_of (offset 0) or later never change a value; an event raised before as_of and
    # settled later is open at as_of whatever date the data gives the settlement
    date = START + pd.Timedelta(days=as_of)
    base = _timing(_data(_orders_frame(orders), _events_frame(events)), [date])
    more = _data(_orders_frame(orders + [(r[0], as_of + r[1], r[2]) for r in later_orders]),
                 _events_frame(events + [(r[0], as_of + r[1], *r[2:]) for r in later_events]))
    pd.testing.assert_frame_equal(base, _timing(more, [date]).loc[base.index], check_exact=True)


@_SETTINGS
@given(orders=st.lists(_order, min_size=1, max_size=25), events=st.lists(_event, max_size=40),
       as_of=st.lists(st.integers(30, 800), min_size=1, max_size=3), seed=st.integers(0, 2**16))
def test_shuffling_rows_changes_nothing_and_dates_are_independent(orders, events, as_of, seed):
    dates = [START + pd.Timedelta(days=k) for k in as_of]
    rng = np.random.default_rng(seed)
    order_frame, event_frame = _orders_frame(orders), _events_frame(events)
    base = _timing(_data(order_frame, event_frame), dates)
    shuffled = _timing(_data(order_frame.sample(frac=1, random_state=rng),
                             event_frame.sample(frac=1, random_state=rng)), dates)
    pd.testing.assert_frame_equal(base, shuffled, check_exact=True)
    for date in dates:  # several dates at once give what each date gives alone
        alone = _timing(_data(order_frame, event_frame), [date])
        pd.testing.assert_frame_equal(base[base.index.get_level_values("as_of") == date], alone, check_exact=True)
