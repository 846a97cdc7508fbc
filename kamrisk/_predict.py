"""Scoring feature rows with a :class:`~kamrisk.TrainedModel`: status, risk, band, reasons, cause, action,
what-if. The MLflow pyfunc model (and so REST serving and the Spark UDF) answers through here."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ._errors import ModelError
from ._model import cast_categories, check_columns
from ._options import check_lang, check_reasons

if TYPE_CHECKING:  # pragma: no cover
    from ._trained import TrainedModel

__all__ = ["predict_frame", "model_columns", "KEYS"]

KEYS = ("account_id", "as_of")


def model_columns(trained: TrainedModel, n: int) -> dict[str, object]:
    """The columns every score carries to say which model and which question it answers."""
    return {
        "model_version": np.full(n, trained.model_version, dtype=object),
        "horizon_days": np.full(n, trained.horizon_days, dtype=np.int64),
        "label_kind": np.full(n, trained.label_kind, dtype=object),
    }


def predict_frame(trained: TrainedModel, frame: pd.DataFrame, lang: str = "en", reasons: str = "all") -> pd.DataFrame:
    """Score rows holding ``account_id``, ``as_of`` and the model's feature columns.

    Rows whose orders have already lapsed (the recipe's activity rule, as in batch scoring) are not
    scored: their ``status`` is ``unscorable`` with the reason, and their risk is missing.

    Returns one row per input row, in input order: ``account_id, as_of, status, status_reason, stage,
    risk, band, reason_1..3, reason_family_1..3, cause_family, action, why_no_whatif, contrib_<family>...,
    whatif_<family>... (one for every family the model offers a what-if for, missing where not computed),
    model_version, horizon_days, label_kind``.
    """
    from ._explain import _actionable, _explained
    from ._stages import lapsed, stage
    from ._status_text import status_reason as status_reason_text

    lang, reasons = check_lang(lang), check_reasons(reasons)
    missing_keys = [k for k in KEYS if k not in frame.columns]
    if missing_keys:
        raise ModelError(f"Input rows need the columns {missing_keys} besides the features.")
    X = frame.drop(columns=list(KEYS)).reset_index(drop=True)
    X.attrs = {}  # pandas copies a frame's attrs into every column it hands out: none are needed here
    check_columns(list(trained.model.feature_names_in_), X.columns)
    # cast once: risk, contributions and the what-if each predict on these rows (a fixed cost per request)
    X = cast_categories(X, trained.model.categories_)
    gone = lapsed(X, trained.recipe.activity)
    scored = np.flatnonzero(~gone)
    explained = _explained(trained.model, X.iloc[scored] if gone.any() else X, trained.catalog, lang=lang,
                           reasons=reasons, reference=trained.reference or None, risk=None)
    status_reason = np.full(len(X), "", dtype=object)
    if gone.any():
        days = X.loc[gone, "days_since_last_order"].round().astype("int64").astype(str)
        status_reason[gone] = [status_reason_text("lapsed", lang, days=d) for d in days]
    columns: dict[str, np.ndarray] = {
        "account_id": frame["account_id"].astype(str).to_numpy(dtype=object),
        "as_of": pd.to_datetime(frame["as_of"]).dt.strftime("%Y-%m-%d").to_numpy(dtype=object),
        "status": np.where(gone, "unscorable", "scored").astype(object),
        "status_reason": status_reason,
        "stage": np.zeros(0),  # placed here, filled from the band below
    }
    for column, values in explained.items():
        values = np.asarray(values)
        if values.dtype.kind in "fiub":
            full = np.full(len(X), np.nan)
        else:  # text columns of an unscored row are empty, not missing
            values = values.astype(object)
            values[pd.isna(values)] = ""
            full = np.full(len(X), "", dtype=object)
        full[scored] = values
        columns[column] = full
    columns["stage"] = stage(X, columns["band"], trained.recipe.activity, trained.recipe.stages)
    # a what-if column for every family the model offers one for, even where no row was explained (no
    # reasons asked, every row lapsed): the pyfunc signature and Spark's result struct promise them all
    for family in _actionable(trained.feature_names, trained.catalog, trained.reference or {}):
        columns.setdefault(f"whatif_{family}", np.full(len(X), np.nan))
    columns.update(model_columns(trained, len(X)))
    return pd.DataFrame(columns)
