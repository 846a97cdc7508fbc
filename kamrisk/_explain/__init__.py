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
    import os

    Xc = model._check(X)
    if os.environ.get("KAMRISK_FAST_SHAP", "1") == "0" or len(Xc) == 0:
        values = model.booster_.predict(Xc, pred_contrib=True)
    else:
        values = _fast_shap(model.booster_).contributions(Xc)
    columns = [*model.feature_names_in_, "base_value"]
    return pd.DataFrame(values, index=X.index, columns=columns)


def family_contributions(contrib: pd.DataFrame, catalog: Any) -> pd.DataFrame:
    """Sum of the signed contributions of each sign family (plus ``base_value``)."""
    features = [c for c in contrib.columns if c != "base_value"]
    families = pd.Series({c: catalog.family_of(c) for c in features})
    ordered = [f for f in catalog.families if f in set(families)]
    summed = contrib[features].T.groupby(families.to_numpy()).sum().T
    out = summed.reindex(columns=ordered, fill_value=0.0)
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


def wordable(X: pd.DataFrame, catalog: Any, reference: dict[str, float] | None = None) -> pd.DataFrame:
    """Per row and sign, whether the sign may be given as a reason.

    A sign is worded only when its value and every value its template quotes are known, and its value lies
    on the risk-raising side of the account's healthy reference (see :func:`healthy_reference`): a fall
    rather than a rise, a count of at least 1, trouble events of the last :data:`STALE_DAYS` days, fewer
    visits or an older last visit than a healthy account, a satisfaction below it. Levels (revenue, order
    counts, the usual reorder gap) are never worded: they describe the account, not a change.
    """
    reference = reference or {}
    out = {}
    for column in X.columns:
        if column not in catalog:
            continue
        sign = catalog.sign(column)
        value = pd.to_numeric(X[column], errors="coerce").to_numpy(dtype=float) if sign.unit != "category" \
            else np.full(len(X), np.nan)
        ok = np.isfinite(value)
        counts = [q for q in catalog.quoted_signs(column) if q in X and catalog.sign(q).kind in _COUNT_KINDS
                  and catalog.sign(q).family not in _CONTACT_FAMILIES]
        if counts:  # the trouble it quotes happened within the counts' windows
            ok &= (X[counts].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float) >= 0.5).any(axis=1)
        for quoted in catalog.quoted_signs(column):
            if quoted in X:
                ok &= pd.notna(X[quoted]).to_numpy()
                other = catalog.sign(quoted)
                if other.kind == "days_since_event" and other.family not in _CONTACT_FAMILIES:  # no stale news
                    ok &= ~(pd.to_numeric(X[quoted], errors="coerce").to_numpy(dtype=float) > STALE_DAYS)
        with np.errstate(invalid="ignore"):
            ok &= _risky_side(sign, np.nan_to_num(value, nan=0.0), reference.get(column, float("nan")))
        out[column] = ok
    return pd.DataFrame(out, index=X.index, columns=list(out))


def _moved(X: pd.DataFrame, features: list[str], catalog: Any, reference: dict[str, float],
           risky: pd.DataFrame | None) -> pd.DataFrame:
    """``X`` with ``features`` moved to their healthy reference where they are on the risky side."""
    changed = X.copy()
    for feature in features:
        sign = catalog.sign(feature)
        value, healthy = changed[feature].to_numpy(dtype=float), reference[feature]
        if np.isnan(healthy):  # healthy accounts have none of it: as if it never happened
            target = np.full(len(value), np.nan)
        elif sign.direction > 0:
            target = np.fmin(value, healthy)
        elif sign.direction < 0:
            target = np.fmax(value, healthy)
        else:
            target = np.full(len(value), healthy)
        if sign.direction == 0 or np.isnan(healthy):
            side = risky[feature].to_numpy() if risky is not None and feature in risky else np.zeros(len(X), bool)
            target = np.where(side, target, value)
        changed[feature] = target
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
    risk = model.calibrate(model.raw_score(X)) if risk is None else np.asarray(risk, dtype=float)
    risky = wordable(X, catalog, reference) if risky is None else risky
    families = _actionable(X, catalog, reference)
    side = _helpful(model, X, [f for features in families.values() for f in features], catalog, reference,
                    risky, risk)
    changed = {family: _moved(X, features, catalog, reference, side) for family, features in families.items()}
    out = {f"whatif_{family}": np.clip(risk - moved, 0.0, None)
           for family, moved in zip(changed, _risks(model, list(changed.values())), strict=True)}
    return pd.DataFrame(out, index=X.index)


def _risks(model: Any, frames: list[pd.DataFrame]) -> list[np.ndarray]:
    """The calibrated risk of each frame, from one prediction over all of them: a what-if scores every
    family's changed rows at once, so one row costs one call of the model, not one per family."""
    if not frames:
        return []
    scores = model.calibrate(model.raw_score(pd.concat(frames, ignore_index=True)))
    return np.split(scores, np.cumsum([len(f) for f in frames])[:-1])


def _helpful(model: Any, X: pd.DataFrame, features: list[str], catalog: Any, reference: dict[str, float],
             risky: pd.DataFrame, risk: np.ndarray) -> pd.DataFrame:
    """``risky`` narrowed, for signs without a known direction, to rows where moving the sign alone to its
    healthy level lowers the risk (every such sign judged in one prediction)."""
    side = risky.copy()
    jobs: list[tuple[str, np.ndarray, pd.DataFrame]] = []
    for feature in features:
        if catalog.sign(feature).direction != 0 and not np.isnan(reference[feature]) or feature not in side:
            continue
        rows = side[feature].to_numpy()
        if not rows.any():
            continue
        at = np.flatnonzero(rows)  # only the rows where the sign is off its healthy level
        jobs.append((feature, at, _moved(X.iloc[at], [feature], catalog, reference, risky.iloc[at])))
    for (feature, at, _), alone in zip(jobs, _risks(model, [job[2] for job in jobs]), strict=True):
        lower = np.zeros(len(X), dtype=bool)
        lower[at] = alone < risk[at]
        side[feature] = lower
    return side


def _actionable(X: pd.DataFrame, catalog: Any, reference: dict[str, float]) -> dict[str, list[str]]:
    """Driving family -> its actionable signs that have a healthy reference."""
    by_family: dict[str, list[str]] = {}
    for feature in reference:
        if feature in X and feature in catalog:
            sign = catalog.sign(feature)
            if sign.actionable and sign.family in catalog.causes:
                by_family.setdefault(sign.family, []).append(feature)
    return by_family


def _best_wordable(contrib: pd.DataFrame, ok: pd.DataFrame, catalog: Any) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per family, the sign to word (the wordable sign with the largest positive contribution) and whether
    the family has one."""
    out = {}
    for family in catalog.families:
        features = [c for c in contrib.columns if c != "base_value" and catalog.family_of(c) == family]
        if not features:
            continue
        values = contrib[features].to_numpy()
        allowed = ok.reindex(columns=features, fill_value=False).to_numpy(dtype=bool) & (values > 0)
        masked = np.where(allowed, values, -np.inf)
        best = np.argmax(masked, axis=1)
        out[family] = (np.asarray(features, dtype=object)[best], allowed.any(axis=1))
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
    lang, reasons = check_lang(lang), check_reasons(reasons)
    if risk is None:
        risk = model.calibrate(model.raw_score(X)) if len(X) else np.zeros(0)
    risk = np.asarray(risk, dtype=float)
    band = model.band(risk)
    out = pd.DataFrame({"risk": risk, "band": band}, index=X.index)
    for k in range(1, MAX_REASONS + 1):
        out[f"reason_{k}"] = ""
        out[f"reason_family_{k}"] = ""
    out["cause_family"] = ""
    out["action"] = ""
    out["why_no_whatif"] = ""
    families = [f for f in catalog.families if any(catalog.family_of(c) == f for c in model.feature_names_in_)]
    for family in families:
        out[f"contrib_{family}"] = np.nan
    if reasons == "none" or len(X) == 0:
        return out
    explain_mask = np.ones(len(X), dtype=bool) if reasons == "all" else np.isin(band, ["high", "medium"])
    if not explain_mask.any():
        return out
    Xe = X[explain_mask].reset_index(drop=True)  # a plain index: column look-ups stay cheap for one row
    n = len(Xe)
    rows_ = np.arange(n)
    contrib = contributions(model, Xe)
    fam = family_contributions(contrib, catalog)
    for family in families:
        out.loc[explain_mask, f"contrib_{family}"] = fam[family].to_numpy()
    risky = wordable(Xe, catalog, reference)
    best = _best_wordable(contrib, risky, catalog)
    reason_families = [f for f in families if f in set(catalog.reason_families)]
    values = fam[reason_families].to_numpy() if reason_families else np.zeros((n, 0))
    worded = np.column_stack([best[f][1] for f in reason_families]) if reason_families else np.zeros((n, 0), bool)
    eligible = np.where(worded & (values > 0), values, -np.inf)

    # the cause: the driving family with a worded reason whose fix is worth the most
    gains = (what_if(model, Xe, catalog, reference, risk=risk[explain_mask], risky=risky) if reference
             else pd.DataFrame(index=Xe.index))
    causes = [f for f in reason_families if f in set(catalog.causes)]
    cause = np.full(n, "", dtype=object)
    if causes:
        columns = [reason_families.index(f) for f in causes]
        candidate = np.isfinite(eligible[:, columns])
        gain = np.column_stack([gains[f"whatif_{f}"].to_numpy() if f"whatif_{f}" in gains else np.zeros(n)
                                for f in causes])
        by_gain = np.where(candidate & (gain > _MIN_GAIN), gain, -np.inf)
        by_contribution = eligible[:, columns]
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
                texts[k][rows] = catalog.reason_texts(sign, Xe.iloc[rows], lang=lang)
    for k in texts:
        out.loc[explain_mask, f"reason_{k}"] = texts[k]
        out.loc[explain_mask, f"reason_family_{k}"] = fams[k]
    out.loc[explain_mask, "cause_family"] = cause
    action_family = np.where(cause != "", cause, fams[1])
    actions = {f: catalog.action_text(f, lang=lang) for f in families}
    out.loc[explain_mask, "action"] = [actions.get(f, "") if f else "" for f in action_family]
    if reference:
        for column in gains:
            out[column] = np.nan
            out.loc[explain_mask, column] = gains[column].to_numpy()
        out.loc[explain_mask, "why_no_whatif"] = _why_no_gain(Xe, action_family, gains, catalog, reference, lang,
                                                              risky)
    return out


def _why_no_gain(X: pd.DataFrame, action_family: np.ndarray, gains: pd.DataFrame, catalog: Any,
                 reference: dict[str, float], lang: str, risky: pd.DataFrame) -> np.ndarray:
    """Why the what-if of each row's first action is zero ("" where it is not)."""
    why = np.full(len(X), "", dtype=object)
    texts = _WHATIF_WHY[lang]
    actionable = _actionable(X, catalog, reference)
    for family in np.unique(action_family[action_family != ""]):
        rows = np.flatnonzero(action_family == family)
        name = catalog.family_name(family, lang)
        name = name if lang == "zh" else name.lower()
        column = f"whatif_{family}"
        if column not in gains:
            why[rows] = texts["symptom" if family not in catalog.causes else "healthy"].format(name=name)
            continue
        zero = rows[gains[column].to_numpy()[rows] <= _MIN_GAIN]
        features = actionable.get(family, [])
        moved = _moved(X.iloc[zero], features, catalog, reference, risky.iloc[zero])
        before = X.iloc[zero][features].to_numpy(dtype=float)
        after = moved[features].to_numpy(dtype=float)
        same = ((before == after) | (np.isnan(before) & np.isnan(after))).all(axis=1)
        why[zero] = np.where(same, texts["healthy"].format(name=name), texts["flat"].format(name=name))
    return why
