"""Exact path-dependent TreeSHAP of a LightGBM model at about the cost of a prediction (issue 9).

``booster.predict(X, pred_contrib=True)`` walks every root-to-leaf path of every tree for every row
(30-90x a plain predict). Under path-dependent TreeSHAP a leaf's contribution to each feature on its path
depends on the row only through *which* of the path's conditions the row satisfies: one bit per distinct
path feature (a feature split twice on a path is one player, its condition the conjunction). So each
leaf gets a table of its contributions for every bit pattern, built once from the model
(:mod:`kamrisk._explain._fastshap_build` reads it, :mod:`kamrisk._explain._fastshap_tables` builds the tables; small
subtrees share one table), and scoring (:mod:`kamrisk._explain._fastshap_kernel`, numba) is: evaluate every split
condition once per row and tree, push a mask of failed conditions down the tree, add one table row per
leaf or subtree. Leaves with more distinct path features than ``max_depth_table`` use a compact table
(``2**d`` floats, a few multiplications per feature), and beyond ``max_depth_compact`` TreeSHAP's own
EXTEND / UNWIND on the leaf's path.

Decisions reproduce LightGBM's, read from its own model dump (``booster.dump_model()``; thresholds beyond
+-1e300, which the JSON dump clamps, from ``booster.model_to_string()``, which keeps ``inf``): ``<=``
thresholds, missing types None / Zero / NaN with ``default_left``, categorical bitsets (NaN, negative and
huge codes go right; fractional codes truncate toward zero), and values with ``|x| <= 1e-35`` read as
zero as its dense reader does. A pandas DataFrame is converted by LightGBM's own
``lightgbm.basic._data_from_pandas`` with the booster's ``pandas_categorical`` (category codes as floats,
NaN for missing or unseen levels), exactly as ``booster.predict`` does; if that private function is
missing or changes its signature, :func:`_frame_to_numpy`, a copy of its behaviour, is used. Values equal
``pred_contrib`` up to float rounding (tested to 1e-12).

Models the kernel does not reproduce (multiclass, linear trees, random-forest averaging, unknown split
kinds) set ``supported = False`` with the ``reason``, and both methods then call
``booster.predict(X, pred_contrib=True)`` and log why on ``kamrisk.fastshap`` (debug).
"""

from __future__ import annotations

import logging
import platform
import threading
import time
from typing import Any

import numpy as np
import pandas as pd

from ._fastshap_build import UnsupportedModel, model_string_thresholds, read_trees
from ._fastshap_tables import MAX_DEPTH_COMPACT, Model, compile_model

__all__ = ["FastTreeShap", "warm_up"]

log = logging.getLogger("kamrisk.fastshap")

BLOCK_ROWS = 512  # rows per block: the block's accumulators and masks stay in a core's L2 cache
# LightGBM's categorical decision casts to int before its NaN test: INT_MIN (go right) on x86-64, 0 elsewhere
NAN_CATEGORY_ZERO = platform.machine().lower() not in ("x86_64", "amd64", "i386", "i686", "x86")
_LOCK = threading.Lock()  # numba's workqueue threading layer must not be entered from two threads at once
_JIT_SECONDS: float | None = None

try:  # the conversion booster.predict itself applies to a DataFrame
    from lightgbm.basic import _data_from_pandas as _lgb_data_from_pandas
except ImportError:  # pragma: no cover - depends on the lightgbm version
    _lgb_data_from_pandas = None  # calling None raises TypeError: _frame_to_numpy is used


def _frame_to_numpy(data: pd.DataFrame, pandas_categorical: list[list[Any]] | None) -> np.ndarray:
    """What ``lightgbm.basic._data_from_pandas`` does for prediction (used only if it cannot be imported)."""
    data = data.copy(deep=False)
    cat_cols = [c for c, dtype in zip(data.columns, data.dtypes, strict=True) if isinstance(dtype, pd.CategoricalDtype)]
    if pandas_categorical is not None:
        if len(cat_cols) != len(pandas_categorical):
            raise ValueError("train and valid dataset categorical_feature do not match.")
        for col, category in zip(cat_cols, pandas_categorical, strict=True):
            if list(data[col].cat.categories) != list(category):
                data[col] = data[col].cat.set_categories(category)
    if cat_cols:
        data[cat_cols] = data[cat_cols].apply(lambda x: x.cat.codes).replace({-1: np.nan})
    target = np.result_type(*[dtype.type for dtype in data.dtypes], np.float32)
    try:
        return data.to_numpy(dtype=target, copy=False)
    except ValueError:  # nullable dtypes
        return data.to_numpy(dtype=target, na_value=np.nan)


def warm_up() -> float:
    """Compile the numba kernel (once per process); return the seconds the compilation took."""
    global _JIT_SECONDS
    if _JIT_SECONDS is None:
        from ._fastshap_kernel import shap_blocks

        start = time.perf_counter()
        i64 = np.zeros(1, dtype=np.int64)
        f64 = np.zeros(1)
        x = np.zeros((1, 1))
        x.flags.writeable = False
        shap_blocks(x, False, 1, i64, 0.0, BLOCK_ROWS, i64, i64, i64, i64,
                    i64, i64, f64, i64, i64, i64, i64, i64, i64, i64, i64, np.zeros(1, dtype=np.uint32),
                    i64, i64, i64, i64, f64, i64, f64, f64, 0, 0)
        _JIT_SECONDS = time.perf_counter() - start
    return _JIT_SECONDS


class FastTreeShap:
    """Exact TreeSHAP contributions of a single-output LightGBM booster, in the layout of ``pred_contrib``.

    Parameters
    ----------
    booster : lightgbm.Booster
        Read once, through ``booster.dump_model()`` and ``model_to_string()`` (the best iteration if it has
        one, as ``predict`` uses).
    max_depth_table : int, default 12
        Leaves with at most this many distinct path features (``d``) get a full table (``2**d`` rows of
        ``d`` contributions, one look-up per row); small subtrees (path features + internal nodes within
        this many bits) share one table.
    max_depth_compact : int, keyword-only, default 16
        Leaves with more features than ``max_depth_table`` and at most this many get a compact table
        (``2**d`` floats and ~3 multiplications per feature and row); deeper leaves are computed directly
        (TreeSHAP's EXTEND / UNWIND on the leaf's path, O(d**2) per row).

    Attributes
    ----------
    supported : bool
        False when the model has a construct the fast path does not reproduce; see ``reason``.
    reason : str
        Why the fast path is not used ("" when it is).
    table_bytes : int
        Memory of the tables.
    build_seconds : float
        Time to read the model and build the tables (numba compilation excluded: :func:`warm_up`).
    """

    def __init__(self, booster: Any, max_depth_table: int = 12, *, max_depth_compact: int = MAX_DEPTH_COMPACT) -> None:
        start = time.perf_counter()
        self.booster = booster
        self.max_depth_table = int(max_depth_table)
        self.max_depth_compact = int(max_depth_compact)
        if not (0 <= self.max_depth_table <= 20 and 0 <= self.max_depth_compact <= 24):
            raise ValueError("max_depth_table must lie in 0..20 and max_depth_compact in 0..24 (tables have 2**d rows)")
        self.n_features = int(booster.num_feature())
        self._pandas_categorical = getattr(booster, "pandas_categorical", None)
        self._model: Model | None = None
        self.supported = False
        self.reason = ""
        self.table_bytes = 0
        try:
            if str(booster.params.get("linear_tree", "")).lower() in ("true", "1"):
                raise UnsupportedModel("linear trees (linear_tree=True) are not supported")
            n_features, trees = read_trees(booster.dump_model(), nan_category_zero=NAN_CATEGORY_ZERO,
                                           thresholds=model_string_thresholds(booster.model_to_string()))
            if n_features != self.n_features:
                raise UnsupportedModel(f"dump has {n_features} features, booster {self.n_features}")
            model = compile_model(n_features, trees, self.max_depth_table, self.max_depth_compact)
        except UnsupportedModel as exc:
            self.reason = str(exc)
            log.debug("fast TreeSHAP not available, LightGBM pred_contrib will be used: %s", self.reason)
        else:
            self._model = model
            self.supported = True
            self.table_bytes = int(model.tables.nbytes)
        self.build_seconds = time.perf_counter() - start

    # -- public -------------------------------------------------------------------------------------
    def contributions(self, X: np.ndarray | pd.DataFrame) -> np.ndarray:
        """``(n, n_features + 1)`` contributions, last column the base value: like ``pred_contrib``."""
        return self._run(X, None, self.n_features)

    def grouped(self, X: np.ndarray | pd.DataFrame, groups: np.ndarray, n_groups: int) -> np.ndarray:
        """``(n, n_groups + 1)``: contributions summed per group (``groups[feature]`` in ``0..n_groups-1``)
        inside the kernel; last column the base value."""
        n_groups = int(n_groups)
        g = np.asarray(groups)
        if g.shape != (self.n_features,) or not np.issubdtype(g.dtype, np.integer):
            raise ValueError(f"groups must be {self.n_features} integers (one per feature), got {g.dtype} {g.shape}")
        if len(g) and (g.min() < 0 or g.max() >= n_groups):
            raise ValueError(f"groups must lie in 0..{n_groups - 1}")
        return self._run(X, g.astype(np.int64), n_groups)

    # -- internals ----------------------------------------------------------------------------------
    def _fallback(self, X: Any, groups: np.ndarray | None, n_groups: int, why: str) -> np.ndarray:
        log.debug("fast TreeSHAP not used (%s): LightGBM pred_contrib", why)
        contrib = self.booster.predict(X, pred_contrib=True)
        if hasattr(contrib, "toarray"):
            contrib = contrib.toarray()
        contrib = np.asarray(contrib, dtype=np.float64)
        if groups is None:
            return contrib
        width = self.n_features + 1
        member = np.zeros((self.n_features, n_groups))
        member[np.arange(self.n_features), groups] = 1.0
        blocks = []
        for k in range(contrib.shape[1] // width):  # one block per class for multiclass
            block = contrib[:, k * width:(k + 1) * width]
            blocks.append(np.column_stack([block[:, :-1] @ member, block[:, -1]]))
        return np.hstack(blocks)

    def _matrix(self, X: Any) -> tuple[np.ndarray, bool] | None:
        """The float64 matrix LightGBM would predict on (C-contiguous, or its transpose), or None."""
        if isinstance(X, pd.DataFrame):
            try:
                X = _lgb_data_from_pandas(data=X, feature_name="auto", categorical_feature="auto",
                                          pandas_categorical=self._pandas_categorical)[0]
            except TypeError:  # pragma: no cover - not there, or another signature, in this lightgbm version
                X = _frame_to_numpy(X, self._pandas_categorical)
        elif isinstance(X, list):
            X = np.asarray(X)
        elif not isinstance(X, np.ndarray):
            return None
        if X.ndim != 2:
            raise ValueError(f"X must be 2-dimensional, got shape {X.shape}")
        if X.shape[1] != self.n_features:
            raise ValueError(f"X has {X.shape[1]} features, the model {self.n_features}")
        if X.dtype not in (np.float32, np.float64):
            X = X.astype(np.float32)  # as lightgbm does for other dtypes
        transposed = bool(X.flags.f_contiguous and not X.flags.c_contiguous)
        x = np.ascontiguousarray(X.T if transposed else X, dtype=np.float64).view()
        x.flags.writeable = False  # one compiled signature, whether or not the caller's array is read-only
        return x, transposed

    def _run(self, X: Any, groups: np.ndarray | None, n_cols: int) -> np.ndarray:
        if not self.supported:
            return self._fallback(X, groups, n_cols, self.reason)
        matrix = self._matrix(X)
        if matrix is None:
            return self._fallback(X, groups, n_cols, f"input type {type(X).__name__}")
        x, transposed = matrix
        m = self._model
        if m is None:  # pragma: no cover - _model is set whenever self.reason is None
            return self._fallback(X, groups, n_cols, "no tables were built")
        group_col = m.group_feature if groups is None else groups[m.group_feature]
        from ._fastshap_kernel import shap_blocks

        warm_up()
        import numba

        with _LOCK:
            # one block is one task: waking the other threads of numba's pool for it costs more (milliseconds
            # on a busy machine) than the block itself, so a small input runs on the calling thread alone
            threads = numba.get_num_threads()
            if (x.shape[1] if transposed else x.shape[0]) <= BLOCK_ROWS:
                numba.set_num_threads(1)
            try:
                return self._blocks(shap_blocks, x, transposed, n_cols, group_col, m)
            finally:
                numba.set_num_threads(threads)

    @staticmethod
    def _blocks(shap_blocks: Any, x: np.ndarray, transposed: bool, n_cols: int, group_col: np.ndarray,
                m: Model) -> np.ndarray:
        return shap_blocks(
            x, transposed, int(n_cols), np.ascontiguousarray(group_col, dtype=np.int64), m.base_value,
            BLOCK_ROWS, m.tree_node_start, m.tree_n_nodes, m.tree_group_start, m.tree_n_groups,
            m.node_feature, m.node_kind, m.node_threshold, m.node_default_left, m.node_cat_start,
            m.node_cat_len, m.node_nan_zero, m.node_left, m.node_right, m.node_bit, m.node_target, m.cat_bits,
            m.group_slot, m.group_mode, m.group_width, m.group_col_start, m.group_value,
            m.group_table, m.group_zero, m.tables, m.max_nodes, m.max_width)
