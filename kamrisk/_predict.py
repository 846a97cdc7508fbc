"""Scoring feature rows with a trained bundle: risk, band, reasons, cause, action, what-if."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._errors import ModelError

__all__ = ["predict_frame", "make_bundle", "KEYS"]

KEYS = ("account_id", "as_of")


def make_bundle(model: Any, catalog: Any, config: Any, reference: dict[str, float] | None = None,
                training_sample: pd.DataFrame | None = None) -> dict[str, Any]:
    """Everything a scorer needs, in one picklable object."""
    return {
        "model": model,
        "catalog": catalog,
        "config": config.raw,
        "catalog_hash": catalog.hash,
        "reference": reference or {},
        "training_sample": training_sample,
    }


def predict_frame(bundle: dict[str, Any], frame: pd.DataFrame, lang: str = "en", reasons: str = "all") -> pd.DataFrame:
    """Score rows holding ``account_id``, ``as_of`` and the model's feature columns.

    Returns one row per input row, in input order: ``account_id, as_of, risk, band, reason_1..3,
    reason_family_1..3, cause_family, action, contrib_<family>..., whatif_<family>...``.
    """
    from ._explain import explain

    model = bundle["model"]
    missing_keys = [k for k in KEYS if k not in frame.columns]
    if missing_keys:
        raise ModelError(f"Input rows need the columns {missing_keys} besides the features.")
    X = frame.drop(columns=list(KEYS)).reset_index(drop=True)
    explained = explain(model, X, bundle["catalog"], lang=lang, reasons=reasons,
                        reference=bundle.get("reference") or None)
    keys = pd.DataFrame({
        "account_id": frame["account_id"].astype(str).to_numpy(),
        "as_of": pd.to_datetime(frame["as_of"]).dt.strftime("%Y-%m-%d").to_numpy(),
    })
    out = pd.concat([keys, explained.reset_index(drop=True)], axis=1)
    out["risk"] = out["risk"].astype(np.float64)
    return out
