"""Global explanations logged with every training run: TreeSHAP computed by LightGBM, drawn with matplotlib.

(``mlflow.shap.log_explanation`` runs KernelExplainer, which is slow and fails on categoricals.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import contributions, explain, family_contributions

__all__ = ["global_explanations"]

_SAMPLE = 2000


def _numeric(column: pd.Series) -> np.ndarray:
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy(dtype=float)
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)


def global_explanations(model: Any, X: pd.DataFrame, catalog: Any, folder: Path, seed: int = 0,
                        reference: dict[str, float] | None = None) -> list[Path]:
    """Write beeswarm, family importance, dependence plots and a table of sample reasons; return the paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    sample = X.sample(min(len(X), _SAMPLE), random_state=seed)
    contrib = contributions(model, sample)
    features = [c for c in contrib.columns if c != "base_value"]
    strength = contrib[features].abs().mean().sort_values(ascending=False)
    paths: list[Path] = []

    top = list(strength.index[:15])
    fig, ax = plt.subplots(figsize=(7, 0.4 * len(top) + 1.5))
    rng = np.random.default_rng(seed)
    for rank, feature in enumerate(reversed(top)):
        values = contrib[feature].to_numpy()
        raw = _numeric(sample[feature])
        finite = np.isfinite(raw)
        colour = np.full(len(raw), 0.5)
        if finite.any():
            colour[finite] = pd.Series(raw[finite]).rank(pct=True).to_numpy()
        jitter = rng.normal(0, 0.08, len(values))
        ax.scatter(values, rank + jitter, c=colour, cmap="coolwarm", s=4, alpha=0.6, vmin=0, vmax=1)
    ax.set_yticks(range(len(top)), list(reversed(top)))
    ax.axvline(0, c="grey", lw=0.5)
    ax.set(xlabel="contribution to the log-odds of defection (TreeSHAP)",
           title="Top signs (colour: low to high value of the sign)")
    paths.append(folder / "shap_beeswarm.png")
    fig.savefig(paths[-1], dpi=100, bbox_inches="tight")
    plt.close(fig)

    families = family_contributions(contrib, catalog).drop(columns="base_value")
    importance = families.abs().mean().sort_values()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.barh(importance.index, importance.to_numpy())
    ax.set(xlabel="mean |family contribution| (log-odds)", title="Sign family importance")
    paths.append(folder / "family_importance.png")
    fig.savefig(paths[-1], dpi=100, bbox_inches="tight")
    plt.close(fig)
    importance.sort_values(ascending=False).rename("mean_abs_contribution").to_frame().to_csv(
        folder / "family_importance.csv", index_label="family")
    paths.append(folder / "family_importance.csv")

    for feature in strength.index[:3]:
        fig, ax = plt.subplots(figsize=(5, 4))
        ax.scatter(_numeric(sample[feature]), contrib[feature], s=5, alpha=0.5)
        ax.axhline(0, c="grey", lw=0.5)
        ax.set(xlabel=feature, ylabel="contribution (log-odds)", title=f"Dependence: {feature}")
        paths.append(folder / f"dependence_{feature}.png")
        fig.savefig(paths[-1], dpi=100, bbox_inches="tight")
        plt.close(fig)

    riskiest = sample.iloc[np.argsort(-model.raw_score(sample), kind="stable")[:20]]
    tables = []
    for lang in ("en", "zh"):
        reasons = explain(model, riskiest, catalog, lang=lang, reasons="all", reference=reference)
        keep = ["risk", "band", "reason_1", "reason_2", "reason_3", "cause_family", "action"]
        tables.append(reasons[keep].add_suffix("" if lang == "en" else "_zh"))
    table = pd.concat([tables[0], tables[1][["reason_1_zh", "reason_2_zh", "reason_3_zh", "action_zh"]]], axis=1)
    table.reset_index().to_csv(folder / "sample_reasons.csv", index=False)
    paths.append(folder / "sample_reasons.csv")
    return paths
