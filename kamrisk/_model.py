"""The risk model: LightGBM on the defection signs, time-aware early stopping, out-of-time calibration.

``RiskModel(recipe, directions=catalog.directions).fit(X, y)`` follows the scikit-learn contract:
constructor arguments are stored unchanged, what ``fit`` learns ends in ``_``, and ``sklearn.base.clone`` works.

Rows are (account, as_of) snapshots, so the model splits by time, never at random: of the training
as_of dates, the latest ``calibration.share`` calibrate the probabilities, the ``early_stopping.share``
before them choose the number of trees, and the rest train the trees.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError as _SklearnNotFitted

from ._errors import ModelError
from ._recipe import Recipe, load_recipe

__all__ = ["RiskModel", "NotFittedError", "cast_categories", "check_columns", "risk_band", "BANDS"]


class NotFittedError(ModelError, _SklearnNotFitted):
    """The model is used before ``fit``: both a kamrisk :class:`~kamrisk.ModelError` and scikit-learn's
    ``NotFittedError``, so either ``except`` catches it."""

BANDS = ("high", "medium", "low")
_ONE_THREAD_ROWS = 512  # up to this many rows, predicting on one thread is faster than waking the others


def cast_categories(X: pd.DataFrame, levels: Mapping[str, list[Any]]) -> pd.DataFrame:
    """Cast categorical columns to the training levels; unseen levels become missing."""
    copied = False
    for column, values in levels.items():
        if column in X:
            dtype = X[column].dtype
            if isinstance(dtype, pd.CategoricalDtype) and list(dtype.categories) == list(values):
                continue  # already cast (scoring casts once, then predicts several times)
            if not copied:  # the caller's frame is never changed
                X, copied = X.copy(deep=False), True
            # each distinct value read as text once, then placed among the training levels by position
            codes, uniques = pd.factorize(X[column].to_numpy(dtype=object), use_na_sentinel=True)
            dtype = pd.CategoricalDtype(values)
            position = dtype.categories.get_indexer([str(v) for v in uniques]) if len(uniques) else np.zeros(0, int)
            codes = np.where(codes >= 0, position[np.maximum(codes, 0)] if len(uniques) else -1, -1)
            X[column] = pd.Categorical.from_codes(codes, dtype=dtype)
    return X


def check_columns(expected: list[str], given: Any) -> None:
    """Refuse data missing a training column, showing the difference both ways."""
    given, known = list(given), set(expected)  # sets built once: this runs on every (one-row) request
    present = set(given)
    missing = [c for c in expected if c not in present]
    unexpected = [c for c in given if c not in known]
    if missing:
        raise ModelError(
            f"Columns of the scoring data differ from training: missing {missing}; unexpected {unexpected}."
        )


def risk_band(risk: np.ndarray | pd.Series, bands: Mapping[str, float]) -> np.ndarray:
    """``high`` at or above ``bands['high']``, ``medium`` at or above ``bands['medium']``, else ``low``."""
    risk = np.asarray(risk, dtype=float)
    return np.where(risk >= bands["high"], "high", np.where(risk >= bands["medium"], "medium", "low"))


def _time_slices(dates: pd.DatetimeIndex, es_share: float, cal_share: float) -> tuple[Any, Any, Any]:
    """Split the sorted unique as_of dates into train / early-stopping / calibration, latest last."""
    unique = np.sort(dates.unique())
    n = len(unique)
    n_cal = int(np.ceil(cal_share * n)) if cal_share > 0 else 0
    n_es = int(np.ceil(es_share * n)) if es_share > 0 else 0
    if n - n_cal - n_es < 1:
        raise ModelError(
            f"RiskModel needs more as_of dates: {n} given, but early stopping and calibration take "
            f"{n_es} and {n_cal} of them and leave none to train on. Add as_of dates or lower the shares."
        )
    train_end = unique[n - n_cal - n_es - 1]
    es_end = unique[n - n_cal - 1] if n_es else train_end
    train = dates <= train_end
    es = (dates > train_end) & (dates <= es_end)
    cal = dates > es_end
    return np.asarray(train), np.asarray(es), np.asarray(cal)


class RiskModel(ClassifierMixin, BaseEstimator):
    """Calibrated probability that a key account's defection becomes visible within the horizon.

    Parameters
    ----------
    recipe : str, path, dict or Recipe, default "default"
        A model recipe (``models/<name>/config.yaml``): LightGBM parameters, early stopping,
        calibration and risk bands.
    directions : dict, optional
        Monotone direction per feature (+1, -1, 0), e.g. ``catalog.directions``; features not named are
        unconstrained (no constraint at all when None).
    n_jobs : int, default 2
        Threads LightGBM uses (``-1``: all cores).

    Attributes
    ----------
    booster_ : lightgbm.Booster
    calibrator_ : fitted calibrator or None
    feature_names_in_ : ndarray of str
    categories_ : dict of column -> training levels
    monotone_constraints_ : list of int
    catalog_hash_ : str or None
        The catalog hash of the training features (``X.attrs["catalog_hash"]``).
    best_iteration_ : int

    Examples
    --------
    >>> model = RiskModel("default").fit(X_train, y_train)          # doctest: +SKIP
    >>> model.predict_risk(X_new)                                     # doctest: +SKIP
    """

    def __init__(
        self,
        recipe: str | Mapping[str, Any] | Recipe = "default",
        directions: Mapping[str, int] | None = None,
        n_jobs: int = 2,
    ) -> None:
        self.recipe = recipe
        self.directions = directions
        self.n_jobs = n_jobs

    # -- fit ------------------------------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, y: pd.Series | np.ndarray, as_of: Any = None) -> RiskModel:
        """Fit on labelled snapshots.

        Parameters
        ----------
        X : DataFrame
            Feature rows; the index must have an ``as_of`` level unless ``as_of`` is given.
        y : array-like of 0/1
            Labels aligned with ``X``; censored (missing) labels are not allowed.
        as_of : array-like of dates, optional
            The as_of date of each row, when ``X`` is not indexed by it.
        """
        import lightgbm as lgb

        cfg = load_recipe(self.recipe)
        if not isinstance(X, pd.DataFrame):
            raise ModelError(f"RiskModel.fit expects a DataFrame of features, got {type(X).__name__}.")
        y = np.asarray(y, dtype=float)
        if len(y) != len(X):
            raise ModelError(f"X has {len(X)} rows but y has {len(y)}.")
        if np.isnan(y).any():
            raise ModelError(
                f"{int(np.isnan(y).sum())} labels are missing (censored rows): drop them before fit."
            )
        if not set(np.unique(y)) <= {0.0, 1.0} or len(np.unique(y)) < 2:
            raise ModelError(f"y must hold both classes 0 and 1, got {sorted(np.unique(y))}.")
        dates = pd.DatetimeIndex(
            as_of if as_of is not None else self._dates_of(X)
        )
        directions = self.directions or {}
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        self.categories_ = {
            c: [str(v) for v in X[c].astype("category").cat.categories]
            for c in X.columns
            if isinstance(X[c].dtype, pd.CategoricalDtype) or X[c].dtype == object or pd.api.types.is_string_dtype(X[c])
        }
        self.monotone_constraints_ = [
            0 if c in self.categories_ else int(directions.get(c, 0)) for c in X.columns
        ]
        self.catalog_hash_ = X.attrs.get("catalog_hash")
        self.classes_ = np.array([0, 1])
        Xc = cast_categories(X, self.categories_)
        train, es, cal = _time_slices(dates, cfg.early_stopping.share,
                                      cfg.calibration.share if cfg.calibration.method != "none" else 0.0)
        params = {
            "objective": "binary",
            "verbosity": -1,
            "seed": cfg.seed,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": int(self.n_jobs) if self.n_jobs and self.n_jobs > 0 else 0,
            "monotone_constraints": self.monotone_constraints_,
            "monotone_constraints_method": "intermediate",
        }
        lgbm = dict(cfg.lightgbm)
        rounds = int(lgbm.pop("n_estimators", 300))
        params.update(lgbm)
        train_set = lgb.Dataset(Xc[train], y[train], free_raw_data=False)
        callbacks = []
        valid_sets = []
        if es.any():
            valid_sets = [lgb.Dataset(Xc[es], y[es], reference=train_set)]
            callbacks = [lgb.early_stopping(cfg.early_stopping.rounds, verbose=False)]
        booster = lgb.train(params, train_set, num_boost_round=rounds, valid_sets=valid_sets,
                            callbacks=callbacks)
        self.best_iteration_ = int(booster.best_iteration or booster.current_iteration())
        # keep only the trees that early stopping chose, so predictions and contributions agree
        self.booster_ = lgb.Booster(model_str=booster.model_to_string(num_iteration=self.best_iteration_))
        self.calibrator_ = None
        self.split_ = {
            "train_rows": int(train.sum()), "early_stopping_rows": int(es.sum()),
            "calibration_rows": int(cal.sum()),
        }
        if cal.any():
            self.calibrator_ = self._fit_calibrator(cfg.calibration.method,
                                                    self._raw(Xc[cal]), y[cal])
        self.bands_ = cfg.bands.as_dict()
        return self

    @staticmethod
    def _dates_of(X: pd.DataFrame) -> pd.Index:
        if isinstance(X.index, pd.MultiIndex) and "as_of" in X.index.names:
            return X.index.get_level_values("as_of")
        raise ModelError("X must be indexed by (account_id, as_of) as build_features returns, or pass as_of=.")

    @staticmethod
    def _fit_calibrator(method: str, raw: np.ndarray, y: np.ndarray) -> Any:
        if len(np.unique(y)) < 2:
            return None
        if method == "isotonic":
            from sklearn.isotonic import IsotonicRegression

            return IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, y)
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=1e6).fit(raw.reshape(-1, 1), y)

    # -- predict --------------------------------------------------------------------------------------
    def _check(self, X: pd.DataFrame) -> pd.DataFrame:
        if not hasattr(self, "booster_"):
            raise NotFittedError("RiskModel is not fitted yet: call fit(X, y) first.")
        expected = list(self.feature_names_in_)
        check_columns(expected, X.columns)
        return cast_categories(X[expected], self.categories_)

    def _raw(self, Xc: pd.DataFrame) -> np.ndarray:
        return self.booster_.predict(Xc, raw_score=True)

    def matrix(self, X: pd.DataFrame) -> np.ndarray:
        """``X`` as the float matrix the booster predicts on: the training columns in training order,
        a categorical column as the code of its training level (NaN when missing or unseen), as LightGBM
        reads a frame. Build it once and predict on it several times (:meth:`raw_score_matrix`): one row
        converted from pandas costs far more than predicting it."""
        Xc = self._check(X)
        out = np.empty((len(Xc), Xc.shape[1]), dtype=np.float64)
        categorical = np.array([isinstance(dtype, pd.CategoricalDtype) for dtype in Xc.dtypes], dtype=bool)
        numbers = np.flatnonzero(~categorical)
        if len(numbers):  # the numeric columns in one block, not one Series per column
            out[:, numbers] = Xc.iloc[:, numbers].to_numpy(dtype=np.float64, na_value=np.nan)
        for j in np.flatnonzero(categorical):
            codes = Xc.iloc[:, j].cat.codes.to_numpy()
            out[:, j] = np.where(codes >= 0, codes, np.nan)
        return out

    def raw_score_matrix(self, matrix: np.ndarray) -> np.ndarray:
        """Log-odds of rows of :meth:`matrix` (equal to :meth:`raw_score` of the frame it came from)."""
        if not hasattr(self, "booster_"):
            raise NotFittedError("RiskModel is not fitted yet: call fit(X, y) first.")
        if len(matrix) == 0:
            return np.zeros(0)
        # a few rows (a REST request, a what-if) on the calling thread: waking LightGBM's OpenMP threads
        # costs more than predicting them, and on a busy machine milliseconds per call
        threads = {"num_threads": 1} if len(matrix) <= _ONE_THREAD_ROWS else {}
        return self.booster_.predict(matrix, raw_score=True, **threads)

    def raw_score(self, X: pd.DataFrame) -> np.ndarray:
        """The model's log-odds before calibration (what TreeSHAP contributions add up to)."""
        return self._raw(self._check(X))

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        """Turn raw log-odds into calibrated probabilities."""
        raw = np.asarray(raw, dtype=float)
        if raw.size == 0:  # scikit-learn's calibrators refuse an empty input
            return np.zeros(raw.shape)
        if self.calibrator_ is None:
            return 1.0 / (1.0 + np.exp(-raw))
        if hasattr(self.calibrator_, "predict_proba"):
            return self.calibrator_.predict_proba(raw.reshape(-1, 1))[:, 1]
        return np.clip(self.calibrator_.predict(raw), 0.0, 1.0)

    def predict_risk(self, X: pd.DataFrame) -> pd.Series:
        """Calibrated risk per row, indexed like ``X``."""
        return pd.Series(self.calibrate(self.raw_score(X)), index=X.index, name="risk")

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        risk = self.calibrate(self.raw_score(X))
        return np.column_stack([1.0 - risk, risk])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """1 where the risk reaches the high band."""
        return (self.predict_proba(X)[:, 1] >= self.bands_["high"]).astype(int)

    def band(self, risk: np.ndarray | pd.Series) -> np.ndarray:
        return risk_band(risk, self.bands_)
