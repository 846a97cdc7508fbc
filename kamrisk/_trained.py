"""The one artifact of a training: :class:`TrainedModel`.

Training returns it, tracking logs and registers it, and batch scoring, the MLflow pyfunc model (REST)
and Spark load it. It carries everything scoring needs, so nothing is looked up again at scoring time:
the fitted :class:`~kamrisk.RiskModel`, the sign catalog and the recipe it was trained with, the healthy
reference of the actionable signs (for the what-if), a sample of the training features (for drift), and
the versions that made it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ._errors import ModelError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ._catalog import Catalog
    from ._model import RiskModel
    from ._recipe import Recipe

__all__ = ["TrainedModel"]


@dataclass
class TrainedModel:
    """A fitted model with everything needed to score and explain it.

    Attributes
    ----------
    model : RiskModel
    catalog : Catalog
        The sign catalog the model was trained with: features are built and reasons worded from it.
    recipe : Recipe
        What the model predicts (``recipe.label``), its activity rules and risk bands.
    reference : dict
        Healthy value of each actionable sign with a known direction (the what-if moves signs there).
    training_sample : DataFrame or None
        Feature rows of the latest training months, the reference for drift checks.
    versions : dict
        ``kamrisk``, ``lightgbm``, ``catalog_hash``, ``data_digest``, ``trained_at``, ``run_id``.
    model_version : str
        What scores call this model: ``"<name> v<version>"`` once loaded from the registry, the MLflow
        run otherwise, ``"unregistered"`` for an in-memory model.
    """

    model: RiskModel
    catalog: Catalog
    recipe: Recipe
    reference: dict[str, float] = field(default_factory=dict)
    training_sample: pd.DataFrame | None = None
    versions: dict[str, str] = field(default_factory=dict)
    model_version: str = "unregistered"

    @property
    def horizon_days(self) -> int:
        return self.recipe.label.horizon_days

    @property
    def label_kind(self) -> str:
        return self.recipe.label.kind

    @property
    def feature_names(self) -> list[str]:
        return list(self.model.feature_names_in_)

    def check(self) -> None:
        """Refuse a model whose features were built with another catalog than the one it carries."""
        trained_with = getattr(self.model, "catalog_hash_", None)
        if trained_with is not None and trained_with != self.catalog.hash:
            raise ModelError(
                f"The model was trained on features of sign catalog {trained_with}, but it carries catalog "
                f"{self.catalog.hash}: features would not mean what the model learnt. Retrain the model."
            )

    def predict_frame(self, frame: pd.DataFrame, lang: str = "en", reasons: str = "all") -> pd.DataFrame:
        """Score feature rows (with ``account_id`` and ``as_of``); see :func:`kamrisk._predict.predict_frame`."""
        from ._predict import predict_frame

        return predict_frame(self, frame, lang=lang, reasons=reasons)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the model to one file (joblib)."""
        import joblib

        path = Path(path)
        joblib.dump(self, path)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> TrainedModel:
        """Read a model written by :meth:`save`."""
        import joblib

        loaded = joblib.load(Path(path))
        if not isinstance(loaded, cls):
            raise ModelError(f"{path} does not hold a kamrisk TrainedModel (it holds {type(loaded).__name__}).")
        return loaded
