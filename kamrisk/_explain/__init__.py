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

__all__ = ["contributions", "family_contributions", "explain", "what_if", "healthy_reference", "REASON_MODES"]

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
    """Healthy value of each actionable sign whose direction is known: the median over accounts that did
    not defect.

    A sign missing for most healthy accounts (e.g. the age of the oldest open complaint, when none is open)
    is healthy when missing. Signs without a known direction (catalog ``direction: 0``) are left out: which
    way is "healthier" is not known, so no what-if is offered for them. Nor for shrinking orders: they are
    the symptom, and an action works on a cause.
    """
    healthy = X[np.asarray(y) == 0]
    reference: dict[str, float] = {}
    for sign in catalog.signs:
        if not sign.actionable or sign.direction == 0 or sign.id not in X or sign.family not in catalog.causes:
            continue
        column = pd.to_numeric(healthy[sign.id], errors="coerce")
        reference[sign.id] = float("nan") if column.isna().mean() > 0.5 else float(column.median())
    return reference


def what_if(model: Any, X: pd.DataFrame, catalog: Any, reference: dict[str, float],
            risk: np.ndarray | None = None) -> pd.DataFrame:
    """Drop in risk per actionable family if its actionable signs were at their healthy reference.

    Each sign moves towards its reference and never past the account's own value in the unhealthy
    direction: an account already healthier than the reference keeps its value.
    """
    risk = model.calibrate(model.raw_score(X)) if risk is None else risk
    directions = catalog.directions
    by_family: dict[str, list[str]] = {}
    for feature in reference:
        if feature in X:
            by_family.setdefault(catalog.family_of(feature), []).append(feature)
    out = {}
    for family, features in by_family.items():
        changed = X.copy()
        for feature in features:
            value, healthy = changed[feature].to_numpy(dtype=float), reference[feature]
            if np.isnan(healthy):
                changed[feature] = np.nan
            elif directions[feature] > 0:
                changed[feature] = np.fmin(value, healthy)
            else:
                changed[feature] = np.fmax(value, healthy)
        out[f"whatif_{family}"] = risk - model.calibrate(model.raw_score(changed))
    return pd.DataFrame(out, index=X.index)


def _strongest_signs(contrib: pd.DataFrame, catalog: Any) -> dict[str, np.ndarray]:
    """Per family, the column position (within the family) of the sign with the largest contribution."""
    out = {}
    for family in catalog.families:
        features = [c for c in contrib.columns if c != "base_value" and catalog.family_of(c) == family]
        if features:
            values = contrib[features].to_numpy()
            out[family] = np.asarray(features, dtype=object)[np.argmax(values, axis=1)]
    return out


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

    Parameters
    ----------
    model : fitted RiskModel
    X : feature rows (indexed by account_id, as_of)
    catalog : the sign catalog the model was trained with
    lang : ``"en"`` or ``"zh"``
    reasons : ``"all"`` explains every row; ``"at_risk"`` only rows in the high or medium band (cheaper);
        ``"none"`` no explanations (risk and band only)
    reference : healthy values of actionable signs (for the what-if); no what-if when None

    Returns
    -------
    DataFrame
        ``risk, band, reason_1..3, reason_family_1..3, cause_family, action``, ``contrib_<family>`` per
        family and ``whatif_<family>`` per actionable family.
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
    families = [f for f in catalog.families if any(catalog.family_of(c) == f for c in model.feature_names_in_)]
    for family in families:
        out[f"contrib_{family}"] = np.nan
    if reasons == "none" or len(X) == 0:
        return out
    explain_mask = np.ones(len(X), dtype=bool) if reasons == "all" else np.isin(band, ["high", "medium"])
    if not explain_mask.any():
        return out
    Xe = X[explain_mask]
    contrib = contributions(model, Xe)
    fam = family_contributions(contrib, catalog)
    for family in families:
        out.loc[explain_mask, f"contrib_{family}"] = fam[family].to_numpy()
    strongest = _strongest_signs(contrib, catalog)
    reason_families = [f for f in families if f in set(catalog.reason_families)]
    values = fam[reason_families].to_numpy()
    order = np.argsort(-values, axis=1, kind="stable")
    texts = {k: np.full(len(Xe), "", dtype=object) for k in range(1, MAX_REASONS + 1)}
    fams = {k: np.full(len(Xe), "", dtype=object) for k in range(1, MAX_REASONS + 1)}
    for k in range(1, min(MAX_REASONS, len(reason_families)) + 1):
        pick = order[:, k - 1]
        raises = values[np.arange(len(Xe)), pick] > 0
        for j, family in enumerate(reason_families):
            hit = np.flatnonzero(raises & (pick == j))
            if not len(hit):
                continue
            fams[k][hit] = family
            signs = strongest[family][hit]
            for sign in np.unique(signs):  # one template at a time, over all its rows
                rows = hit[signs == sign]
                texts[k][rows] = catalog.reason_texts(sign, Xe.iloc[rows], lang=lang)
    for k in texts:
        out.loc[explain_mask, f"reason_{k}"] = texts[k]
        out.loc[explain_mask, f"reason_family_{k}"] = fams[k]
    causes = [f for f in families if f in set(catalog.causes)]
    cause = np.full(len(Xe), "", dtype=object)
    if causes:
        cvalues = fam[causes].to_numpy()
        best = np.argmax(cvalues, axis=1)
        positive = cvalues[np.arange(len(Xe)), best] > 0
        cause[positive] = np.asarray(causes, dtype=object)[best[positive]]
    out.loc[explain_mask, "cause_family"] = cause
    action_family = np.where(cause != "", cause, fams[1])
    actions = {f: catalog.action_text(f, lang=lang) for f in families}
    out.loc[explain_mask, "action"] = [actions.get(f, "") if f else "" for f in action_family]
    if reference:
        gains = what_if(model, Xe, catalog, reference, risk=risk[explain_mask])
        for column in gains:
            out[column] = np.nan
            out.loc[explain_mask, column] = gains[column].to_numpy()
    return out
