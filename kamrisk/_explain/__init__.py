"""Reasons an account team can act on: TreeSHAP contributions grouped by sign family.

Contributions come from LightGBM's own ``pred_contrib=True`` (exact path-dependent TreeSHAP, identical
to ``shap.TreeExplainer`` for these models); per row they add up to the model's raw score (log-odds).
Summed per sign family, the families that raise the risk most become the reasons, each worded from the
catalog template of the family's strongest sign with the account's own numbers, and each carrying the
family's action. ``cause_family`` is the driving family (not ``shrinking_orders``, which shows *that* an
account leaves, and not ``account_context``) that raises the risk most: the action comes from it. Which
family may be a reason or a cause is the catalog's word (each family file's ``role``).
"""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

import numpy as np
import pandas as pd

from .._options import REASON_MODES, check_lang, check_reasons

__all__ = ["contributions", "family_contributions", "explain", "what_if", "healthy_reference", "wordable",
           "STALE_DAYS", "REASON_MODES"]

MAX_REASONS = 3


_FAST: dict[int, tuple[Any, Any]] = {}


def _fast_shap(booster: Any) -> Any:
    """The leaf-pattern TreeSHAP tables of ``booster``, built once per booster and process."""
    import weakref

    from ._fastshap import FastTreeShap

    key = id(booster)
    hit = _FAST.get(key)
    if hit is not None and hit[0]() is booster:
        return hit[1]
    explainer = FastTreeShap(booster)
    _FAST[key] = (weakref.ref(booster), explainer)
    weakref.finalize(booster, _FAST.pop, key, None)
    return explainer


def contributions(model: Any, X: pd.DataFrame) -> pd.DataFrame:
    """Per-feature TreeSHAP contributions and the ``base_value`` column; rows add up to the raw score.

    Computed by kamrisk's leaf-pattern TreeSHAP (:mod:`kamrisk._explain._fastshap`), equal to LightGBM's
    ``pred_contrib`` to 1e-12 at about the cost of a prediction; where it does not apply it says so in a
    debug log and LightGBM's ``pred_contrib`` answers. ``KAMRISK_FAST_SHAP=0`` forces ``pred_contrib``.
    """
    values = _contributions(model, model.matrix(X))
    columns = [*model.feature_names_in_, "base_value"]
    return pd.DataFrame(values, index=X.index, columns=columns)


def _contributions(model: Any, matrix: np.ndarray) -> np.ndarray:
    """:func:`contributions` of the rows of ``model.matrix(X)``, as an array (base value last)."""
    import os

    if os.environ.get("KAMRISK_FAST_SHAP", "1") == "0" or len(matrix) == 0:
        values = model.booster_.predict(matrix, pred_contrib=True)
        return np.asarray(values, dtype=np.float64).reshape(len(matrix), len(model.feature_names_in_) + 1)
    return _fast_shap(model.booster_).contributions(matrix)


def _family_columns(features: Any, catalog: Any) -> dict[str, np.ndarray]:
    """Family -> positions of its signs among ``features``, in catalog order of the families."""
    positions: dict[str, list[int]] = {}
    for j, feature in enumerate(features):
        positions.setdefault(catalog.family_of(feature), []).append(j)
    return {family: np.asarray(positions[family]) for family in catalog.families if family in positions}


def _family_sums(values: np.ndarray, columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per family, the sum of its signs' contributions per row (``values`` without the base value)."""
    return {family: values[:, at].sum(axis=1) for family, at in columns.items()}


def family_contributions(contrib: pd.DataFrame, catalog: Any) -> pd.DataFrame:
    """Sum of the signed contributions of each sign family (plus ``base_value``)."""
    features = [c for c in contrib.columns if c != "base_value"]
    sums = _family_sums(contrib[features].to_numpy(dtype=np.float64), _family_columns(features, catalog))
    out = pd.DataFrame(sums, index=contrib.index, columns=list(sums))
    out["base_value"] = contrib["base_value"]
    return out


def healthy_reference(X: pd.DataFrame, y: np.ndarray, catalog: Any) -> dict[str, float]:
    """Healthy value of each numeric sign of a reason family: the median over accounts that did not defect.

    A sign missing for most healthy accounts (e.g. the age of the oldest open complaint, when none is open,
    or the days since a re-tender, when there was none) is healthy when missing (``nan``). The reference
    says which side of a sign may be worded as a reason (:func:`wordable`) and where the what-if moves the
    actionable signs of driving families (:func:`what_if`); shrinking orders are the symptom, and an action
    works on a cause, so they get no what-if.
    """
    healthy = X[np.asarray(y) == 0]
    reference: dict[str, float] = {}
    for sign in catalog.signs:
        if sign.id not in X or sign.family not in catalog.reason_families or sign.unit == "category":
            continue
        column = pd.to_numeric(healthy[sign.id], errors="coerce")
        reference[sign.id] = float("nan") if column.isna().mean() > 0.5 else float(column.median())
    return reference


# -- which signs may be worded as a reason --------------------------------------------------------------------
# A reason names a sign of leaving, on its risk-raising side, in the sign's own words. Levels (how big the
# account is, how often it usually orders) are facts about the account, not signs; a rise is not a reason;
# an event long past is not news; a count of 0 says nothing.
STALE_DAYS = 365  # an event older than the catalog's longest window (12 months) is not a reason
_LEVEL_KINDS = frozenset({"revenue", "order_count", "product_lines", "typical_reorder_gap", "tenure_days",
                          "revenue_rank", "revenue_top_flag", "account_attribute"})
_FALLING_KINDS = frozenset({"revenue_change", "order_count_change", "average_order_size_change", "revenue_slope",
                            "product_lines_change", "value_change", "value_vs_norm"})
# the weight of recent trouble (kernels and decays over events' ages): worded while it weighs
_WEIGHT_KINDS = frozenset({"event_kernel", "event_decay", "open_age_load"})
_COUNT_KINDS = frozenset({"event_count", "open_events", "peak_season_events", "peer_defections"})
# events of these families are contact the account team wants more of (visits, surveys); every other
# family's events are trouble (complaints, re-tenders, competitor offers)
_CONTACT_FAMILIES = frozenset({"relationship"})
_ABOVE_REFERENCE = frozenset({"days_since_last_order", "mean_resolution_days", "returns_share"})
_ABOVE_ZERO = frozenset({"oldest_open_days", "event_value_sum", "event_value_mean", "peer_defection_share"})


def _shown(unit: str, value: np.ndarray) -> np.ndarray:
    """``value`` rounded as its reason shows it (percent for changes and shares)."""
    if unit in ("change", "share"):
        return np.round(value * 100)
    if unit in ("difference", "ratio", "score"):
        return np.round(value, 1)
    return np.round(value)


def _risky_side(sign: Any, value: np.ndarray, healthy: float) -> np.ndarray:
    """Rows where the sign's value lies on its risk-raising side, as its reason would show it."""
    kind, shown = sign.kind, _shown(sign.unit, value)
    known = np.isfinite(healthy)
    contact = sign.family in _CONTACT_FAMILIES
    if kind in _LEVEL_KINDS or sign.unit in ("category", "flag"):
        return np.zeros(len(value), dtype=bool)
    if kind in _FALLING_KINDS:
        return shown < 0
    if kind in _COUNT_KINDS:
        if contact:  # fewer visits than a healthy account
            return (value < healthy) if known else np.zeros(len(value), dtype=bool)
        return (shown >= 1) & ((value > healthy) if known else True)
    if kind in _WEIGHT_KINDS:
        return (shown > 0) & ((value > healthy) if known else True)
    if kind == "event_rate_change":  # more trouble, or fewer visits, than the account's own norm
        return shown < 0 if contact else shown > 0
    if kind == "days_since_level":
        return (value > healthy) if known else np.zeros(len(value), dtype=bool)
    if kind == "days_since_event":
        if contact:  # long since the last visit
            return (value > healthy) if known else np.zeros(len(value), dtype=bool)
        return value <= STALE_DAYS
    if kind in _ABOVE_REFERENCE:
        return (shown > 0) & ((value > healthy) if known else kind == "returns_share")
    if kind in _ABOVE_ZERO:
        return shown > 0
    if kind == "recency_gap_ratio":
        return (shown > 1) & ((value > healthy) if known else True)
    if kind == "event_count_vs_norm":
        return (shown < 1) & ((value < healthy) if known else True)
    if kind in ("level_share", "last_value", "value_decay_mean") or sign.direction < 0:
        return (value < healthy) if known else np.zeros(len(value), dtype=bool)
    if sign.direction > 0:  # a sign of the user's own catalog
        return (value > healthy) if known else np.ones(len(value), dtype=bool)
    return np.ones(len(value), dtype=bool)  # an own sign without a direction: worded as its template says


def _float_columns(X: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each column of ``X`` as float values, read once: numbers as they are (NaN where missing), a
    categorical column as its codes (NaN where missing), text as numbers where it reads as one."""
    out = {}
    for name, column in X.items():
        if isinstance(column.dtype, pd.CategoricalDtype):
            codes = column.cat.codes.to_numpy()
            out[name] = np.where(codes >= 0, codes, np.nan)
        elif pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
            out[name] = column.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            out[name] = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return out


class _ObjectColumns:
    """Columns of a frame as arrays of Python objects (as ``to_dict("records")`` gives them), each read once."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame, self.arrays = frame, {}

    def __contains__(self, column: object) -> bool:
        return column in self.frame

    def __getitem__(self, column: str) -> np.ndarray:
        if column not in self.arrays:
            self.arrays[column] = self.frame[column].to_numpy(dtype=object)
        return self.arrays[column]


class _Rows:
    """Some rows of an :class:`_ObjectColumns`, read as a mapping of column -> values (for the templates)."""

    def __init__(self, columns: _ObjectColumns, rows: np.ndarray) -> None:
        self.columns, self.rows = columns, rows

    def __contains__(self, column: object) -> bool:
        return column in self.columns

    def __getitem__(self, column: str) -> list[Any]:
        return self.columns[column][self.rows].tolist()


_PLANS: WeakKeyDictionary[Any, dict[str, Any]] = WeakKeyDictionary()


def _word_plan(catalog: Any, column: str) -> tuple[Any, bool, list[str], list[tuple[str, bool]]]:
    """What :func:`wordable` needs of ``column``'s sign, read from the catalog once per catalog: the sign,
    whether it is categorical, the trouble counts its template quotes, and the signs it quotes (each with
    whether it is the age of a trouble event, which must not be stale)."""
    plans = _PLANS.setdefault(catalog, {})
    if column not in plans:
        sign = catalog.sign(column)
        quoted = catalog.quoted_signs(column)
        counts = [q for q in quoted if q in catalog and catalog.sign(q).kind in _COUNT_KINDS
                  and catalog.sign(q).family not in _CONTACT_FAMILIES]
        ages = [(q, q in catalog and catalog.sign(q).kind == "days_since_event"
                 and catalog.sign(q).family not in _CONTACT_FAMILIES) for q in quoted]
        plans[column] = (sign, sign.unit == "category", counts, ages)
    return plans[column]


def wordable(X: pd.DataFrame, catalog: Any, reference: dict[str, float] | None = None) -> pd.DataFrame:
    """Per row and sign, whether the sign may be given as a reason.

    A sign is worded only when its value and every value its template quotes are known, and its value lies
    on the risk-raising side of the account's healthy reference (see :func:`healthy_reference`): a fall
    rather than a rise, a count of at least 1, trouble events of the last :data:`STALE_DAYS` days, fewer
    visits or an older last visit than a healthy account, a satisfaction below it. Levels (revenue, order
    counts, the usual reorder gap) are never worded: they describe the account, not a change.
    """
    out = _wordable(_float_columns(X), len(X), catalog, reference)
    return pd.DataFrame(out, index=X.index, columns=list(out))


def _wordable(values: dict[str, np.ndarray], n: int, catalog: Any,
              reference: dict[str, float] | None) -> dict[str, np.ndarray]:
    """:func:`wordable` over the columns of :func:`_float_columns`."""
    reference = reference or {}
    out = {}
    for column, value in values.items():
        if column not in catalog:
            continue
        sign, categorical, counts, quoted = _word_plan(catalog, column)
        value = np.full(n, np.nan) if categorical else value
        ok = np.isfinite(value)
        counts = [q for q in counts if q in values]
        if counts:  # the trouble it quotes happened within the counts' windows
            ok &= (np.column_stack([values[q] for q in counts]) >= 0.5).any(axis=1)
        for name, age in quoted:
            if name in values:
                other = values[name]
                ok &= ~np.isnan(other)
                if age:  # no stale news
                    ok &= ~(other > STALE_DAYS)
        with np.errstate(invalid="ignore"):
            ok &= _risky_side(sign, np.nan_to_num(value, nan=0.0), reference.get(column, float("nan")))
        out[column] = ok
    return out


def _moved(matrix: np.ndarray, features: list[str], at: dict[str, int], catalog: Any,
           reference: dict[str, float], risky: dict[str, np.ndarray] | None) -> np.ndarray:
    """Rows of ``model.matrix(X)`` (``at``: feature -> column) with ``features`` moved to their healthy
    reference where they are on the risky side."""
    changed = matrix.copy()
    for feature in features:
        sign, j = catalog.sign(feature), at[feature]
        value, healthy = changed[:, j], reference[feature]
        if np.isnan(healthy):  # healthy accounts have none of it: as if it never happened
            target = np.full(len(value), np.nan)
        elif sign.direction > 0:
            target = np.fmin(value, healthy)
        elif sign.direction < 0:
            target = np.fmax(value, healthy)
        else:
            target = np.full(len(value), healthy)
        if sign.direction == 0 or np.isnan(healthy):
            side = risky[feature] if risky is not None and feature in risky else np.zeros(len(value), bool)
            target = np.where(side, target, value)
        changed[:, j] = target
    return changed


def what_if(model: Any, X: pd.DataFrame, catalog: Any, reference: dict[str, float],
            risk: np.ndarray | None = None, risky: pd.DataFrame | None = None) -> pd.DataFrame:
    """Drop in risk per driving family if its actionable signs were at the account's healthy level.

    The one definition of the what-if that the card, the workbook and the REST answer share. Each
    actionable sign of the family that lies on its risk-raising side (see :func:`wordable`) moves to the
    healthy reference: a sign with a known direction moves towards it and never past the account's own
    value; events healthy accounts do not have are removed; a sign without a known direction moves only
    where moving it alone lowers the account's risk (the model is not monotone in it, and a fix does not
    make things worse). The drop in calibrated risk is clipped at 0; :func:`explain` says why the first
    action's drop is 0 (``why_no_whatif``).
    """
    matrix = model.matrix(X)
    risky_columns = ({c: risky[c].to_numpy(dtype=bool) for c in risky.columns} if risky is not None
                     else _wordable(_float_columns(X), len(X), catalog, reference))
    out = _what_if(model, matrix, list(X.columns), catalog, reference, risk, risky_columns)
    return pd.DataFrame(out, index=X.index)


def _what_if(model: Any, matrix: np.ndarray, columns: list[str], catalog: Any, reference: dict[str, float],
             risk: np.ndarray | None, risky: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """:func:`what_if` on ``model.matrix(X)`` (``columns``: the columns of X)."""
    at = {feature: j for j, feature in enumerate(model.feature_names_in_)}
    risk = model.calibrate(model.raw_score_matrix(matrix)) if risk is None else np.asarray(risk, dtype=float)
    families = _actionable(columns, catalog, reference, at)
    side = _helpful(model, matrix, at, [f for features in families.values() for f in features], catalog,
                    reference, risky, risk)
    # only rows whose signs move are scored again: an unmoved row's risk stays what it is, its gain is 0
    moved_rows, changed = [], []
    for features in families.values():
        moved = _moved(matrix, features, at, catalog, reference, side)
        rows = np.flatnonzero(~_unchanged(matrix, moved, [at[f] for f in features]))
        moved_rows.append(rows)
        changed.append(moved[rows])
    out = {}
    for family, rows, new_risk in zip(families, moved_rows, _risks(model, changed), strict=True):
        gain = np.zeros(len(matrix))
        gain[rows] = np.clip(risk[rows] - new_risk, 0.0, None)
        out[f"whatif_{family}"] = gain
    return out


def _unchanged(before: np.ndarray, after: np.ndarray, positions: list[int]) -> np.ndarray:
    """Rows whose values at ``positions`` are the same in both matrices (missing counts as the same)."""
    a, b = before[:, positions], after[:, positions]
    return ((a == b) | (np.isnan(a) & np.isnan(b))).all(axis=1)


def _risks(model: Any, matrices: list[np.ndarray]) -> list[np.ndarray]:
    """The calibrated risk of the rows of each matrix, from one prediction over all of them: a what-if
    scores every family's changed rows at once, so one row costs one call of the model, not one per family."""
    if not matrices:
        return []
    scores = model.calibrate(model.raw_score_matrix(np.concatenate(matrices)))
    return np.split(scores, np.cumsum([len(m) for m in matrices])[:-1])


def _helpful(model: Any, matrix: np.ndarray, at: dict[str, int], features: list[str], catalog: Any,
             reference: dict[str, float], risky: dict[str, np.ndarray], risk: np.ndarray) -> dict[str, np.ndarray]:
    """``risky`` narrowed, for signs without a known direction, to rows where moving the sign alone to its
    healthy level lowers the risk (every such sign judged in one prediction)."""
    side = dict(risky)
    jobs: list[tuple[str, np.ndarray, np.ndarray]] = []
    for feature in features:
        if catalog.sign(feature).direction != 0 and not np.isnan(reference[feature]) or feature not in side:
            continue
        rows = side[feature]
        if not rows.any():
            continue
        where = np.flatnonzero(rows)  # only the rows where the sign is off its healthy level
        jobs.append((feature, where, _moved(matrix[where], [feature], at, catalog, reference,
                                            {feature: rows[where]})))
    for (feature, where, _), alone in zip(jobs, _risks(model, [job[2] for job in jobs]), strict=True):
        lower = np.zeros(len(matrix), dtype=bool)
        lower[where] = alone < risk[where]
        side[feature] = lower
    return side


def _actionable(columns: Any, catalog: Any, reference: dict[str, float],
                at: dict[str, int] | None = None) -> dict[str, list[str]]:
    """Driving family -> its actionable signs (among ``columns``, and the model's when ``at`` is given)
    that have a healthy reference."""
    columns = set(columns)
    by_family: dict[str, list[str]] = {}
    for feature in reference:
        if feature in columns and feature in catalog and (at is None or feature in at):
            sign = catalog.sign(feature)
            if sign.actionable and sign.family in catalog.causes:
                by_family.setdefault(sign.family, []).append(feature)
    return by_family


def _best_wordable(contrib: pd.DataFrame, ok: pd.DataFrame, catalog: Any) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per family, the sign to word (the wordable sign with the largest positive contribution) and whether
    the family has one."""
    features = [c for c in contrib.columns if c != "base_value"]
    allowed = {c: ok[c].to_numpy(dtype=bool) for c in ok.columns}
    return _best_signs(contrib[features].to_numpy(dtype=np.float64), features,
                       _family_columns(features, catalog), allowed)


def _best_signs(values: np.ndarray, features: list[str], columns: dict[str, np.ndarray],
                ok: dict[str, np.ndarray]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """:func:`_best_wordable` on arrays: ``values`` the contributions (no base value) of ``features``,
    ``columns`` family -> their positions, ``ok`` sign -> wordable rows."""
    out = {}
    none = np.zeros(len(values), dtype=bool)
    names = np.asarray(features, dtype=object)
    for family, at in columns.items():
        family_values = values[:, at]
        allowed = np.column_stack([ok.get(features[j], none) for j in at]) & (family_values > 0)
        masked = np.where(allowed, family_values, -np.inf)
        best = np.argmax(masked, axis=1)
        out[family] = (names[at][best], allowed.any(axis=1))
    return out


_WHATIF_WHY = {
    "en": {
        "symptom": "No what-if: {name} shows that the account leaves, not why",
        "healthy": "No what-if: the signs of {name} are already at a healthy level",
        "flat": "No what-if: moving the signs of {name} to a healthy level does not lower this account's risk",
    },
    "zh": {
        "symptom": "无改善测算：{name}只说明客户正在流失，而非原因",
        "healthy": "无改善测算：{name}的各项信号已处于健康水平",
        "flat": "无改善测算：把{name}的信号调到健康水平并不降低该客户的风险",
    },
}
_MIN_GAIN = 0.0005  # a what-if below 0.05 points of risk is zero


def explain(
    model: Any,
    X: pd.DataFrame,
    catalog: Any,
    *,
    lang: str = "en",
    reasons: str = "all",
    reference: dict[str, float] | None = None,
    risk: np.ndarray | None = None,
) -> pd.DataFrame:
    """Reasons, cause and action per row, with the family contributions and the what-if gains.

    The reasons are the families that raise the risk most, in that order, each worded from its sign with
    the largest contribution among those that may be worded (:func:`wordable`); a family none of whose
    signs can be worded honestly is left out and the next one takes its place. ``cause_family`` is the
    driving family, among those with a worded sign that raises the risk, whose fix is worth the most
    (:func:`what_if`; the largest contribution when no fix lowers the risk); it is always among the
    reasons, and its action comes first.

    Parameters
    ----------
    model : fitted RiskModel
    X : feature rows (indexed by account_id, as_of)
    catalog : the sign catalog the model was trained with
    lang : ``"en"`` or ``"zh"``
    reasons : ``"all"`` explains every row; ``"at_risk"`` only rows in the high or medium band (cheaper);
        ``"none"`` no explanations (risk and band only)
    reference : healthy values of the signs (:func:`healthy_reference`): which side of a sign is worded,
        and the what-if; without it only signs whose risky side needs no reference are worded, and there
        is no what-if

    Returns
    -------
    DataFrame
        ``risk, band, reason_1..3, reason_family_1..3, cause_family, action, why_no_whatif``,
        ``contrib_<family>`` per family and ``whatif_<family>`` per driving family (the risk drop if the
        family's actionable signs were at the healthy level, never negative). ``why_no_whatif`` says why
        the first action's what-if is zero (empty when it is not).
    """
    return pd.DataFrame(_explained(model, X, catalog, lang=lang, reasons=reasons, reference=reference, risk=risk),
                        index=X.index)


def _explained(model: Any, X: pd.DataFrame, catalog: Any, *, lang: str, reasons: str,
               reference: dict[str, float] | None, risk: np.ndarray | None) -> dict[str, np.ndarray]:
    """:func:`explain`'s columns as arrays (what the one-row scorer assembles its answer from)."""
    lang, reasons = check_lang(lang), check_reasons(reasons)
    n_all = len(X)
    matrix = model.matrix(X) if n_all and (risk is None or reasons != "none") else None
    if risk is None:
        risk = model.calibrate(model.raw_score_matrix(matrix)) if n_all else np.zeros(0)
    risk = np.asarray(risk, dtype=float)
    band = model.band(risk)
    columns: dict[str, Any] = {"risk": risk, "band": band}
    for k in range(1, MAX_REASONS + 1):
        columns[f"reason_{k}"] = np.full(n_all, "", dtype=object)
        columns[f"reason_family_{k}"] = np.full(n_all, "", dtype=object)
    for name in ("cause_family", "action", "why_no_whatif"):
        columns[name] = np.full(n_all, "", dtype=object)
    features = list(model.feature_names_in_)
    family_columns = _family_columns(features, catalog)
    families = list(family_columns)
    for family in families:
        columns[f"contrib_{family}"] = np.full(n_all, np.nan)
    explain_mask = np.ones(n_all, dtype=bool) if reasons == "all" else np.isin(band, ["high", "medium"])
    if reasons == "none" or n_all == 0 or not explain_mask.any():
        return columns
    every = bool(explain_mask.all())
    Xe = X.reset_index(drop=True) if every else X[explain_mask].reset_index(drop=True)  # a plain index
    me = matrix if every else matrix[explain_mask]
    n = len(Xe)
    rows_ = np.arange(n)
    contrib = _contributions(model, me)[:, :-1]
    fam = _family_sums(contrib, family_columns)
    for family in families:
        columns[f"contrib_{family}"][explain_mask] = fam[family]
    # numeric signs from the model's matrix; categorical and other columns as the frame holds them
    categorical = {c for c, dtype in Xe.dtypes.items() if isinstance(dtype, pd.CategoricalDtype)}
    numeric = {feature: j for j, feature in enumerate(features) if feature not in categorical}
    values_of = {c: me[:, numeric[c]] if c in numeric else None for c in Xe.columns}
    values_of.update(_float_columns(Xe[[c for c, v in values_of.items() if v is None]]))
    risky = _wordable(values_of, n, catalog, reference)
    best = _best_signs(contrib, features, family_columns, risky)
    reason_families = [f for f in families if f in set(catalog.reason_families)]
    values = np.column_stack([fam[f] for f in reason_families]) if reason_families else np.zeros((n, 0))
    worded = np.column_stack([best[f][1] for f in reason_families]) if reason_families else np.zeros((n, 0), bool)
    eligible = np.where(worded & (values > 0), values, -np.inf)

    # the cause: the driving family with a worded reason whose fix is worth the most
    gains = (_what_if(model, me, list(Xe.columns), catalog, reference, risk[explain_mask], risky) if reference
             else {})
    causes = [f for f in reason_families if f in set(catalog.causes)]
    cause = np.full(n, "", dtype=object)
    if causes:
        picks = [reason_families.index(f) for f in causes]
        candidate = np.isfinite(eligible[:, picks])
        gain = np.column_stack([gains.get(f"whatif_{f}", np.zeros(n)) for f in causes])
        by_gain = np.where(candidate & (gain > _MIN_GAIN), gain, -np.inf)
        by_contribution = eligible[:, picks]
        pick = np.where(np.isfinite(by_gain.max(axis=1)), by_gain.argmax(axis=1), by_contribution.argmax(axis=1))
        found = candidate.any(axis=1)
        cause[found] = np.asarray(causes, dtype=object)[pick[found]]

    # the reasons: families in order of contribution, the cause always among them (last, if it ranks lower)
    slots = min(MAX_REASONS, len(reason_families))
    order = np.argsort(-eligible, axis=1, kind="stable")[:, :slots]
    taken = np.isfinite(np.take_along_axis(eligible, order, axis=1))
    picked = np.where(taken, order, -1)
    if causes and slots:
        cause_index = np.array([reason_families.index(c) if c else -1 for c in cause])
        missing = (cause_index >= 0) & ~(picked == cause_index[:, None]).any(axis=1)
        filled = taken.sum(axis=1)
        slot = np.minimum(filled, slots - 1)
        picked[rows_[missing], slot[missing]] = cause_index[missing]
    as_objects = _ObjectColumns(Xe)
    texts = {k: np.full(n, "", dtype=object) for k in range(1, MAX_REASONS + 1)}
    fams = {k: np.full(n, "", dtype=object) for k in range(1, MAX_REASONS + 1)}
    for k in range(1, slots + 1):
        pick = picked[:, k - 1]
        for j, family in enumerate(reason_families):
            hit = np.flatnonzero(pick == j)
            if not len(hit):
                continue
            fams[k][hit] = family
            signs = best[family][0][hit]
            for sign in np.unique(signs):  # one template at a time, over all its rows
                rows = hit[signs == sign]
                texts[k][rows] = catalog.reason_texts(sign, _Rows(as_objects, rows), lang=lang)
    for k in texts:
        columns[f"reason_{k}"][explain_mask] = texts[k]
        columns[f"reason_family_{k}"][explain_mask] = fams[k]
    columns["cause_family"][explain_mask] = cause
    action_family = np.where(cause != "", cause, fams[1])
    actions = {f: catalog.action_text(f, lang=lang) for f in families}
    columns["action"][explain_mask] = [actions.get(f, "") if f else "" for f in action_family]
    if reference:
        for column, gain in gains.items():
            columns[column] = np.full(n_all, np.nan)
            columns[column][explain_mask] = gain
        columns["why_no_whatif"][explain_mask] = _why_no_gain(me, list(Xe.columns), model, action_family, gains,
                                                              catalog, reference, lang, risky)
    return columns


def _why_no_gain(matrix: np.ndarray, columns: list[str], model: Any, action_family: np.ndarray,
                 gains: dict[str, np.ndarray], catalog: Any, reference: dict[str, float], lang: str,
                 risky: dict[str, np.ndarray]) -> np.ndarray:
    """Why the what-if of each row's first action is zero ("" where it is not)."""
    why = np.full(len(matrix), "", dtype=object)
    texts = _WHATIF_WHY[lang]
    at = {feature: j for j, feature in enumerate(model.feature_names_in_)}
    actionable = _actionable(columns, catalog, reference, at)
    for family in np.unique(action_family[action_family != ""]):
        rows = np.flatnonzero(action_family == family)
        name = catalog.family_name(family, lang)
        name = name if lang == "zh" else name.lower()
        column = f"whatif_{family}"
        if column not in gains:
            why[rows] = texts["symptom" if family not in catalog.causes else "healthy"].format(name=name)
            continue
        zero = rows[gains[column][rows] <= _MIN_GAIN]
        features = actionable.get(family, [])
        positions = [at[f] for f in features]
        rows_before = matrix[zero]
        moved = _moved(rows_before, features, at, catalog, reference, {f: v[zero] for f, v in risky.items()})
        same = _unchanged(rows_before, moved, positions)
        why[zero] = np.where(same, texts["healthy"].format(name=name), texts["flat"].format(name=name))
    return why
