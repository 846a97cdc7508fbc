"""Speed work must not move a feature: a fixed book's features equal the reference written before it.

``tests/data/feature_equality/`` holds a small simulated book (150 accounts, 24 months, messy, with some
lines of unknown category and product) and its features at seven as-of dates, written with the feature
code as it stood before the speed rewrite (``features.parquet``; ``features_by_product.parquet`` for the
same book without a ``category`` column). The comparison is by column, exact (NaN where NaN), so signs
added to the catalog later do not break it; a sign removed or renamed does.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kamrisk
from kamrisk import AccountData, build_features

DATA = Path(__file__).parent / "data" / "feature_equality"
KEY = ["account_id", "as_of"]


def _book(drop: tuple[str, ...] = ()) -> AccountData:
    orders = pd.read_parquet(DATA / "orders.parquet").drop(columns=list(drop))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", kamrisk.DataWarning)
        return AccountData(orders=orders, events=pd.read_parquet(DATA / "events.parquet"),
                           accounts=pd.read_parquet(DATA / "accounts.parquet"))


def _compare(reference: pd.DataFrame, features: pd.DataFrame) -> None:
    features = features.reset_index()
    assert features[KEY].astype(str).equals(reference[KEY].astype(str)), "the (account, as_of) rows differ"
    missing = [c for c in reference.columns if c not in features.columns]
    assert not missing, f"signs of the reference are no longer computed: {missing}"
    differ = []
    for column in reference.columns.drop(KEY):
        expected, actual = reference[column], features[column]
        if isinstance(expected.dtype, pd.CategoricalDtype):
            same = expected.astype(object).where(expected.notna(), None).tolist() == \
                actual.astype(object).where(actual.notna(), None).tolist()
        else:
            same = np.array_equal(expected.to_numpy(float), actual.to_numpy(float), equal_nan=True)
        if not same:
            differ.append(column)
    assert not differ, f"features differ from the reference in {differ}"


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return pd.read_parquet(DATA / "features.parquet")


def test_features_equal_the_reference(reference):
    as_of = pd.DatetimeIndex(reference["as_of"].unique())
    _compare(reference, build_features(_book(), as_of))


def test_product_lines_from_products_equal_the_reference():
    reference = pd.read_parquet(DATA / "features_by_product.parquet")
    as_of = pd.DatetimeIndex(reference["as_of"].unique())
    _compare(reference, build_features(_book(drop=("category",)), as_of, families=["shrinking_orders"]))


def test_one_date_at_a_time_equals_the_reference(reference):
    last = reference["as_of"].max()
    _compare(reference.loc[reference["as_of"] == last].reset_index(drop=True), build_features(_book(), [last]))
