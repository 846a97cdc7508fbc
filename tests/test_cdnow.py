"""kamrisk on real order-only data: the public CDNOW purchase log (see benchmarks/cdnow.py).

Skipped when ``shared/data/cdnow/CDNOW_master.txt`` (or ``$KAMRISK_CDNOW``) is absent.
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import pandas as pd
import pytest

import kamrisk

_SPEC = importlib.util.spec_from_file_location(
    "kamrisk_benchmark_cdnow", Path(__file__).resolve().parents[1] / "benchmarks" / "cdnow.py"
)
bench = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(bench)

CDNOW = bench.find_cdnow(Path(__file__).parent)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CDNOW is None, reason="CDNOW_master.txt not found (set KAMRISK_CDNOW)"),
]


@pytest.fixture(scope="module")
def loaded():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", kamrisk.DataWarning)
        data = kamrisk.read_cdnow(CDNOW)
    return data, [w for w in caught if issubclass(w.category, kamrisk.DataWarning)]


@pytest.fixture(scope="module")
def cdnow(loaded):
    return loaded[0]


def test_read_cdnow_keeps_one_copy_of_duplicates_and_says_so(loaded):
    data, caught = loaded
    assert [str(w.message) for w in caught if "duplicate" in str(w.message)], "duplicates must be reported"
    assert "255 exact duplicate row(s)" in str(caught[0].message)
    assert data.report.rows_in["orders"] == 69_659
    assert data.report.rows_dropped["orders"] == 255
    assert len(data.orders) == 69_659 - 255
    assert len(data.accounts) == 23_570
    assert data.events is None
    assert data.start == pd.Timestamp("1997-01-01") and data.end == pd.Timestamp("1998-07-01")
    assert (data.orders["amount"] == 0).sum() > 0  # zero-value rows are kept (they are not activity)
    assert data.orders["account_id"].iloc[0] == "00001"
    assert set(data.orders.columns) == {"account_id", "order_date", "amount", "quantity"}


def test_read_cdnow_folder_and_missing_file(tmp_path):
    with pytest.raises(kamrisk.DataError, match="no such file"):
        kamrisk.read_cdnow(tmp_path)
    (tmp_path / "CDNOW_master.txt").write_text("a b c\n1 2 3\n")
    with pytest.raises(kamrisk.DataError, match="expected the columns"):
        kamrisk.read_cdnow(tmp_path)


def test_recency_alone_matches_the_published_figure(cdnow):
    # The published definition: every customer active at the 1997-09-30 cut-off, churn = no purchase in the
    # next 39 weeks (kamrisk's full label: revenue below 10% of the trailing year's pace). Published AUC
    # of days-since-last-purchase about 0.77, churn about 71%; kamrisk's features and labels give 0.754 and
    # 0.704 on 23,500 active customers (70 had no order above $0 before the cut-off, so are not active).
    check = bench.published_check(cdnow)
    assert 0.70 <= check["recency_roc_auc"] <= 0.85
    assert 0.65 <= check["churn_share"] <= 0.75


def test_model_at_least_as_good_as_recency_on_the_same_rows(cdnow):
    # 273-day horizon at the cut-off. A rolling-origin split cannot train for it (training label windows
    # would have to close before the first day of the data), so the model trains on half of the customers
    # and is tested on the other half at the cut-off. As in every kamrisk backtest, rows of customers who
    # have already lapsed (about three quarters at the cut-off) are left out: the recency AUC on the
    # remaining, hard rows is well below the published 0.77, which is why the band above is checked on all
    # customers and this comparison on the backtest's own rows.
    overall, info = bench.split_backtest(cdnow, every=14)
    assert info["test_rows_lapsed"] > 0.5 * info["test_rows_all"]
    auc = overall["roc_auc"]
    assert auc["model"] >= auc["recency"] - 0.005, overall
    assert auc["model"] >= auc["days_since_last_order"] - 0.005, overall
    assert overall.loc["model", "rows"] == overall.loc["recency", "rows"] > 1000


def test_rolling_origin_backtest_beats_recency_out_of_time(cdnow):
    # the product's own backtest, out of time, at the longest horizon the 18 months allow (182 days)
    result = bench.rolling_backtest(cdnow, folds=1)
    assert result.fold_plan["test_as_of"].iloc[0] == pd.Timestamp("1997-12-31")
    assert result.metric("roc_auc") >= result.metric("roc_auc", "recency") - 0.005, result.summary()


def test_trained_out_of_time_ranks_at_least_as_well_as_recency(cdnow):
    """Issue 15's check: `kamrisk train` on the nine months before the 1997-09-30 cut-off (weekly as_of dates,
    90-day horizon), scored at the cut-off; customers listed as lapsed count as certain to leave. It ranks
    at least as well as days since the last order (0.763 on the same customers) and the published BG/NBD
    figure for that cut (about 0.76)."""
    found = bench.out_of_time(cdnow)
    assert found["customers"] == 23_500 and 0.8 < found["churn_share"] < 0.85
    assert found["lapsed_share"] < 0.05  # the occasional-buyer rule: a quiet quarter is not a defection
    assert found["days_since_last_order_roc_auc"] == pytest.approx(0.7625, abs=0.002)
    assert found["kamrisk_roc_auc"] >= found["days_since_last_order_roc_auc"]
    assert found["kamrisk_roc_auc"] >= bench.PUBLISHED["bgnbd_roc_auc"]
    assert found["folds"] >= 2  # nine months are enough for weekly folds
