"""RiskModel: the scikit-learn contract, monotone constraints, time-aware calibration."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError as SklearnNotFittedError

from kamrisk import ConfigError, ModelError, RiskModel, load_recipe

DIRECTIONS = {"open_complaints": 1, "revenue_change_90d": -1, "noise": 0}


def _book(n_accounts=400, n_dates=12, seed=0, drift=0.0):
    """Synthetic snapshots where risk rises with complaints and falls with revenue growth."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2023-01-01", periods=n_dates, freq="MS")
    index = pd.MultiIndex.from_product([[f"A{i:04d}" for i in range(n_accounts)], dates],
                                       names=["account_id", "as_of"])
    n = len(index)
    X = pd.DataFrame({
        "open_complaints": rng.poisson(0.6, n).astype(float),
        "revenue_change_90d": rng.normal(0, 30, n),
        "noise": rng.normal(size=n),
        "segment": pd.Categorical(rng.choice(["retail", "industrial", "foodservice"], n)),
    }, index=index)
    logit = -2.6 + 0.9 * X["open_complaints"] - 0.03 * X["revenue_change_90d"] + drift
    logit += np.where(X["segment"] == "retail", 0.4, 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y


@pytest.fixture(scope="module")
def small_config():
    return load_recipe("default").with_overrides(lightgbm={"n_estimators": 120, "num_leaves": 7})


def test_estimator_contract(small_config):
    X, y = _book()
    model = RiskModel(small_config, directions=DIRECTIONS)
    assert model.get_params() == {"recipe": small_config, "directions": DIRECTIONS, "n_jobs": 2}
    assert not hasattr(model, "booster_")
    with pytest.raises(ModelError, match=r"RiskModel is not fitted yet: call fit\(X, y\) first"):
        model.predict_proba(X)
    with pytest.raises(SklearnNotFittedError):  # scikit-learn's own contract holds too
        model.predict_proba(X)
    fitted = model.fit(X, y)
    assert fitted is model
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), 2) and np.allclose(proba.sum(axis=1), 1)
    assert list(model.classes_) == [0, 1]
    assert model.categories_ == {"segment": ["foodservice", "industrial", "retail"]}
    twin = clone(model)
    assert not hasattr(twin, "booster_") and twin.get_params() == model.get_params()
    again = twin.fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X), proba)  # deterministic for a seed


def test_monotone_constraints_hold_when_sweeping_one_feature(small_config):
    X, y = _book()
    model = RiskModel(small_config, directions=DIRECTIONS).fit(X, y)
    rows = X.sample(50, random_state=1)
    sweep = np.linspace(0, 8, 17)
    raw = np.array([model.raw_score(rows.assign(open_complaints=v)) for v in sweep])
    assert (np.diff(raw, axis=0) >= -1e-12).all()
    sweep = np.linspace(-90, 90, 19)
    raw = np.array([model.raw_score(rows.assign(revenue_change_90d=v)) for v in sweep])
    assert (np.diff(raw, axis=0) <= 1e-12).all()


def test_calibration_improves_brier_on_held_out_data(small_config):
    from sklearn.metrics import brier_score_loss

    # the latest dates have a higher base rate than the early ones: the raw model over-ranks low,
    # the out-of-time calibration corrects it
    X, y = _book(n_dates=16, drift=0.0)
    late = X.index.get_level_values("as_of") >= "2024-01-01"
    y = np.where(late, y | (np.random.default_rng(3).random(len(y)) < 0.15), y)
    X_new, y_new = _book(n_dates=2, seed=9)
    y_new = y_new | (np.random.default_rng(4).random(len(y_new)) < 0.15)
    calibrated = RiskModel(small_config, directions=DIRECTIONS).fit(X, y)
    raw = RiskModel(small_config.with_overrides(calibration={"method": "none", "share": 0.0}),
                    directions=DIRECTIONS).fit(X, y)
    assert calibrated.calibrator_ is not None and raw.calibrator_ is None
    assert brier_score_loss(y_new, calibrated.predict_proba(X_new)[:, 1]) < brier_score_loss(
        y_new, raw.predict_proba(X_new)[:, 1])


def test_unseen_category_levels_become_missing(small_config):
    X, y = _book()
    model = RiskModel(small_config, directions=DIRECTIONS).fit(X, y)
    rows = X.head(3).copy()
    unseen = rows.assign(segment=pd.Categorical(["mining"] * 3))
    missing = rows.assign(segment=pd.Categorical([None] * 3, categories=["retail"]))
    np.testing.assert_allclose(model.raw_score(unseen), model.raw_score(missing))
    as_text = rows.assign(segment=rows["segment"].astype(str))
    np.testing.assert_allclose(model.raw_score(as_text), model.raw_score(rows))


def test_column_mismatch_is_shown_as_a_diff(small_config):
    X, y = _book()
    model = RiskModel(small_config, directions=DIRECTIONS).fit(X, y)
    with pytest.raises(ModelError, match=r"missing \['noise'\]; unexpected \['foo'\]"):
        model.predict_proba(X.drop(columns="noise").assign(foo=1.0))


def test_censored_labels_are_refused(small_config):
    X, y = _book()
    y = y.astype(float)
    y[:3] = np.nan
    with pytest.raises(ModelError, match="3 labels are missing"):
        RiskModel(small_config, directions=DIRECTIONS).fit(X, y)


def test_config_refuses_class_weights_and_bad_values():
    with pytest.raises(ConfigError, match="is_unbalance distorts the probabilities"):
        load_recipe("default").with_overrides(lightgbm={"is_unbalance": True})
    with pytest.raises(ConfigError, match="label.horizon: expected a duration such as '90d'"):
        load_recipe("default").with_overrides(label={"horizon": "six months"})
    with pytest.raises(ConfigError, match="bands need 0 < medium < high < 1"):
        load_recipe("default").with_overrides(bands={"high": 0.1, "medium": 0.2})
    with pytest.raises(ConfigError, match="unknown key 'lightgbmm'"):
        load_recipe({**load_recipe("default").raw, "lightgbmm": {}})
    with pytest.raises(ConfigError, match="not found"):
        load_recipe("no-such-recipe")


def test_matrix_scores_like_the_frame_it_came_from(small_config):
    """Scoring builds the float matrix once and predicts on it several times (risk, what-if): it must give
    the frame's own scores for every way a category can arrive (text, codes of other levels, unseen,
    missing, numbers as text) and for a few rows (one thread) as for many."""
    X, y = _book()
    model = RiskModel(small_config, directions=DIRECTIONS).fit(X, y)
    rows = X.head(600).copy()
    levels = list(model.categories_["segment"])
    text = rows["segment"].astype(str).to_numpy(dtype=object)
    text[:5] = ["mining", None, np.nan, levels[-1], levels[0]]
    variants = [rows, rows.assign(segment=text),
                rows.assign(segment=pd.Categorical(text, categories=sorted({*levels, "mining"}, reverse=True)))]
    for variant in variants:
        expected = model.raw_score(variant)
        np.testing.assert_allclose(model.raw_score_matrix(model.matrix(variant)), expected, rtol=0, atol=1e-12)
        np.testing.assert_allclose(model.raw_score_matrix(model.matrix(variant.head(1))), expected[:1], rtol=0,
                                   atol=1e-12)
    matrix = model.matrix(variants[1])
    assert np.isnan(matrix[:3, list(model.feature_names_in_).index("segment")]).all()  # unseen and missing
    assert not np.isnan(matrix[3:5, list(model.feature_names_in_).index("segment")]).any()
