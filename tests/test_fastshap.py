"""kamrisk._explain._fastshap: exact TreeSHAP from tables, checked against LightGBM's own pred_contrib."""

from __future__ import annotations

import logging

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kamrisk._explain._fastshap import FastTreeShap

TOL = 1e-12
# (max_depth_table, max_depth_compact): default tables; compact tables only; direct only; all three
MODES = [(12, 16), (0, 16), (0, 0), (3, 5)]
ODD_CODES = [-0.5, 0.7, 2.5, 3.999, -1.0, -7.0, 1e10, -1e10, 3e9, 2147483647.0, 2147483648.0, -2147483648.0,
             1000.0, 31.0, 32.0, 64.0, np.inf, -np.inf, np.nan, 0.0, -0.0, 1e-40]
ODD_NUMBERS = [np.nan, 0.0, -0.0, 1e-40, -1e-40, 1e-36, -1e-35, np.inf, -np.inf, 1e300, -1e300, 0.5]


def _data(n: int, seed: int, n_numeric: int = 5, n_levels: int = 12, nan: float = 0.12, zeros: float = 0.12):
    """Numeric columns with NaN and exact zeros, one integer-coded categorical column (last), target."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, n_numeric))
    x[rng.random(x.shape) < zeros] = 0.0
    x[rng.random(x.shape) < nan] = np.nan
    cat = rng.integers(0, n_levels, n).astype(float)
    cat[rng.random(n) < nan] = np.nan
    X = np.column_stack([x, cat])
    clean = np.nan_to_num(x)

    def col(j: int) -> np.ndarray:
        return x[:, j % n_numeric]

    y = clean[:, 0] - np.nan_to_num(col(1) * col(2)) + np.isin(cat, [1, 3, 5, 8]) + 0.3 * np.isnan(col(3))
    y = y + (col(4) == 0) + rng.normal(size=n) * 0.3
    return X, y


def _train(X, y, rounds: int = 25, categorical=(-1,), **params) -> lgb.Booster:
    cat = [c % X.shape[1] for c in categorical]
    base = dict(objective="regression", num_leaves=15, learning_rate=0.2, min_data_in_leaf=5, min_data_per_group=5,
                cat_smooth=1.0, max_cat_to_onehot=4, verbose=-1, seed=1)
    base.update(params)
    return lgb.train(base, lgb.Dataset(X, y, categorical_feature=cat), num_boost_round=rounds)


def _probe(X: np.ndarray) -> np.ndarray:
    """The data plus rows of odd values in each column (odd codes in the categorical column)."""
    rows = [X]
    for j in range(X.shape[1]):
        odd = ODD_CODES if j == X.shape[1] - 1 else ODD_NUMBERS
        block = X[:len(odd)].copy()
        block[:, j] = odd
        rows.append(block)
    return np.vstack(rows)


def _missing_types(booster: lgb.Booster) -> set[tuple[str, str]]:
    seen = set()
    stack = [t["tree_structure"] for t in booster.dump_model()["tree_info"]]
    while stack:
        node = stack.pop()
        if "split_index" in node:
            seen.add((node["decision_type"], node["missing_type"]))
            stack.extend((node["left_child"], node["right_child"]))
    return seen


@pytest.fixture(scope="module")
def data():
    return _data(600, seed=0)


@pytest.fixture(scope="module", params=["nan", "zero", "none"])
def booster(request, data):
    X, y = data
    params = {"nan": {}, "zero": {"zero_as_missing": True}, "none": {"use_missing": False}}[request.param]
    b = _train(X, y, **params)
    kinds = _missing_types(b)
    assert ("==", "None") in kinds or ("==", "NaN") in kinds  # categorical splits present
    expected = {"nan": "NaN", "zero": "Zero", "none": "None"}[request.param]
    assert ("<=", expected) in kinds
    return b


@pytest.mark.parametrize("max_depth_table, max_depth_compact", MODES)
def test_contributions_equal_pred_contrib(booster, data, max_depth_table, max_depth_compact):
    X = _probe(data[0])
    fast = FastTreeShap(booster, max_depth_table, max_depth_compact=max_depth_compact)
    assert fast.supported, fast.reason
    got = fast.contributions(X)
    want = booster.predict(X, pred_contrib=True)
    assert got.shape == want.shape == (len(X), X.shape[1] + 1)
    np.testing.assert_allclose(got, want, rtol=0, atol=TOL)
    # rows add up to the raw score; the last column is the base value
    np.testing.assert_allclose(got.sum(1), booster.predict(X, raw_score=True), rtol=0, atol=1e-10)
    assert np.all(got[:, -1] == got[0, -1])
    np.testing.assert_allclose(got[0, -1], want[0, -1], rtol=0, atol=TOL)


def test_table_sizes_and_build_time(booster):
    default = FastTreeShap(booster)
    direct = FastTreeShap(booster, 0, max_depth_compact=0)
    assert default.table_bytes > 0 and direct.table_bytes == 0
    assert default.build_seconds >= 0 and default.reason == ""


def test_grouped_equals_summed_contributions(booster, data):
    X = _probe(data[0])
    fast = FastTreeShap(booster)
    groups = np.array([0, 2, 2, 1, 0, 2])
    got = fast.grouped(X, groups, 4)
    contrib = fast.contributions(X)
    want = np.column_stack([contrib[:, :-1][:, groups == g].sum(1) for g in range(4)] + [contrib[:, -1]])
    assert got.shape == (len(X), 5)
    np.testing.assert_allclose(got, want, rtol=0, atol=TOL)
    assert np.all(got[:, 3] == 0.0)  # an empty group
    with pytest.raises(ValueError):
        fast.grouped(X, groups[:-1], 4)
    with pytest.raises(ValueError):
        fast.grouped(X, groups, 2)


def test_dataframe_with_pandas_categorical_and_unseen_levels():
    X, y = _data(500, seed=3, n_levels=8)
    levels = [f"L{k}" for k in range(8)]
    frame = pd.DataFrame(X[:, :-1], columns=[f"f{j}" for j in range(X.shape[1] - 1)])
    frame["kind"] = pd.Categorical.from_codes(np.where(np.isnan(X[:, -1]), -1, X[:, -1]).astype(int), levels)
    frame["count"] = np.random.default_rng(4).integers(-2, 5, len(frame))  # an int column
    b = lgb.train(dict(objective="regression", num_leaves=12, min_data_in_leaf=5, min_data_per_group=5, cat_smooth=1.0,
                       verbose=-1), lgb.Dataset(frame, y + frame["count"]), num_boost_round=20)
    assert b.pandas_categorical is not None
    # scoring data: other category lists (unseen levels, another order), missing values
    score = frame.copy()
    other = ["L7", "unseen", *levels[:6], "L6"]
    codes = np.random.default_rng(5).integers(-1, len(other), len(score))
    score["kind"] = pd.Categorical.from_codes(codes, other)
    fast = FastTreeShap(b)
    for df in (frame, score):
        np.testing.assert_allclose(fast.contributions(df), b.predict(df, pred_contrib=True), rtol=0, atol=TOL)


def test_input_layouts_and_dtypes(data):
    X, y = data
    b = _train(X, y, rounds=10)
    fast = FastTreeShap(b)
    want = b.predict(X, pred_contrib=True)
    readonly = X.copy()
    readonly.flags.writeable = False
    for variant in (np.asfortranarray(X), X.astype(np.float32), readonly, X.tolist()):
        ref = b.predict(np.asarray(variant), pred_contrib=True)
        np.testing.assert_allclose(fast.contributions(variant), ref, rtol=0, atol=TOL)
    np.testing.assert_allclose(fast.contributions(X[::2]), want[::2], rtol=0, atol=TOL)  # a strided view
    ints = np.nan_to_num(X).astype(np.int64) * 3  # as lightgbm does: cast to float32
    np.testing.assert_allclose(fast.contributions(ints), b.predict(ints, pred_contrib=True), rtol=0, atol=TOL)
    assert fast.contributions(X[:0]).shape == (0, X.shape[1] + 1)
    with pytest.raises(ValueError):
        fast.contributions(X[:, :-1])


def test_best_iteration_and_one_leaf_trees(data):
    X, y = data
    ds = lgb.Dataset(X[:400], y[:400], categorical_feature=[X.shape[1] - 1])
    valid = lgb.Dataset(X[400:], y[400:], reference=ds)
    b = lgb.train(dict(objective="regression", num_leaves=31, learning_rate=0.5, verbose=-1, min_data_in_leaf=5),
                  ds, num_boost_round=60, valid_sets=[valid], callbacks=[lgb.early_stopping(3, verbose=False)],
                  keep_training_booster=True)
    assert 0 < b.best_iteration < b.num_trees()
    np.testing.assert_allclose(FastTreeShap(b).contributions(X), b.predict(X, pred_contrib=True), rtol=0, atol=TOL)
    stump = lgb.train(dict(objective="regression", min_data_in_leaf=len(X), verbose=-1), lgb.Dataset(X, y),
                      num_boost_round=3)
    fast = FastTreeShap(stump)
    assert fast.supported
    np.testing.assert_allclose(fast.contributions(X), stump.predict(X, pred_contrib=True), rtol=0, atol=TOL)


def test_infinite_threshold_of_a_nan_split():
    """A split of NaN against the rest has threshold inf (inf goes left); the JSON dump writes 1e300."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 2))
    x[rng.random(300) < 0.3, 0] = np.nan
    y = np.isnan(x[:, 0]) * 3.0 + rng.normal(size=300) * 0.1
    b = lgb.train(dict(objective="regression", num_leaves=3, min_data_in_leaf=5, verbose=-1), lgb.Dataset(x, y), 3)
    assert b.dump_model()["tree_info"][0]["tree_structure"]["threshold"] == 1e300
    probe = np.array([[np.inf, 0.0], [1e305, 0.0], [1e300, 0.0], [np.nan, 0.0], [-np.inf, 0.0], [0.0, 0.0]])
    np.testing.assert_allclose(FastTreeShap(b).contributions(probe), b.predict(probe, pred_contrib=True), rtol=0,
                               atol=TOL)


def test_linear_tree_falls_back_with_a_debug_log(data, caplog):
    """LightGBM has no pred_contrib for linear trees: the fallback raises its error, as predict does."""
    X, y = data
    b = lgb.train(dict(objective="regression", linear_tree=True, num_leaves=6, verbose=-1),
                  lgb.Dataset(np.nan_to_num(X), y), num_boost_round=5)
    with caplog.at_level(logging.DEBUG, logger="kamrisk.fastshap"):
        fast = FastTreeShap(b)
        assert not fast.supported and "linear" in fast.reason
        with pytest.raises(lgb.basic.LightGBMError, match="linear"):
            fast.contributions(X)
        with pytest.raises(lgb.basic.LightGBMError, match="linear"):
            fast.grouped(X, np.arange(X.shape[1]) % 2, 2)
    messages = [r.getMessage() for r in caplog.records if r.name == "kamrisk.fastshap" and r.levelno == logging.DEBUG]
    assert any("linear" in m and "pred_contrib" in m for m in messages)


def test_multiclass_falls_back_with_a_debug_log(data, caplog):
    X, y = data
    labels = np.digitize(y, np.quantile(y, [0.33, 0.66]))
    b = lgb.train(dict(objective="multiclass", num_class=3, num_leaves=6, verbose=-1), lgb.Dataset(X, labels),
                  num_boost_round=4)
    fast = FastTreeShap(b)
    assert not fast.supported and "multiclass" in fast.reason
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="kamrisk.fastshap"):
        got = fast.contributions(X)
    assert any(r.name == "kamrisk.fastshap" and "multiclass" in r.getMessage() for r in caplog.records)
    np.testing.assert_array_equal(got, b.predict(X, pred_contrib=True))
    assert fast.grouped(X, np.zeros(X.shape[1], dtype=int), 1).shape == (len(X), 3 * 2)


@st.composite
def _models(draw):
    seed = draw(st.integers(0, 2**31 - 1))
    n = draw(st.integers(60, 260))
    n_numeric = draw(st.integers(1, 5))
    levels = draw(st.integers(2, 40))
    nan = draw(st.sampled_from([0.0, 0.05, 0.3]))
    zeros = draw(st.sampled_from([0.0, 0.2]))
    missing = draw(st.sampled_from([{}, {"zero_as_missing": True}, {"use_missing": False}]))
    params = dict(num_leaves=draw(st.integers(2, 31)), min_data_in_leaf=draw(st.integers(1, 10)),
                  max_cat_to_onehot=draw(st.sampled_from([1, 4, 64])), **missing)
    rounds = draw(st.integers(1, 12))
    modes = draw(st.sampled_from(MODES + [(6, 10), (14, 16)]))
    return seed, n, n_numeric, levels, nan, zeros, params, rounds, modes


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_models())
def test_random_models_match_pred_contrib(spec):
    seed, n, n_numeric, levels, nan, zeros, params, rounds, (table, compact) = spec
    X, y = _data(n, seed, n_numeric=n_numeric, n_levels=levels, nan=nan, zeros=zeros)
    b = _train(X, y, rounds=rounds, **params)
    fast = FastTreeShap(b, table, max_depth_compact=compact)
    assert fast.supported, fast.reason
    probe = _probe(X)
    np.testing.assert_allclose(fast.contributions(probe), b.predict(probe, pred_contrib=True), rtol=0, atol=TOL)
