"""kamrisk: which key accounts are about to defect, why, and what to do about it.

Public names are imported on first use, so ``import kamrisk`` stays light (no pandas, mlflow, shap or
pyspark until they are needed).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._errors import (
    CatalogError,
    ConfigError,
    DataError,
    DataWarning,
    KamriskError,
    ModelError,
    OptionError,
    TrackingError,
)

__version__ = "0.1.0"

# public name -> private module that defines it
_LAZY = {
    "AccountData": "_schema",
    "ValidationReport": "_schema",
    "load_data": "_schema",
    "load_vocabulary": "_vocabulary",
    "simulate": "sim",
    "SimulatedBook": "sim",
    "load_catalog": "_catalog",
    "Catalog": "_catalog",
    "build_features": "_features",
    "make_labels": "_labels",
    "load_recipe": "_recipe",
    "Recipe": "_recipe",
    "RiskModel": "_model",
    "NotFittedError": "_model",
    "backtest": "_backtest",
    "BacktestResult": "_backtest",
    "train": "_train",
    "TrainResult": "_train",
    "RegistryOutcome": "_train",
    "TrainedModel": "_trained",
    "score": "_score",
    "load_model": "_score",
    "ScoreResult": "_score",
    "DriftWarning": "_score",
    "write_scores": "_score",
    "write_report": "_report",
    "read_scores": "_report",
    "explain": "_explain",
    "read_cdnow": "_datasets",
    "review": "_review",
    "ReviewResult": "_review",
    "write_review": "_review",
}

__all__ = [
    "__version__",
    "KamriskError",
    "DataError",
    "CatalogError",
    "ConfigError",
    "ModelError",
    "OptionError",
    "TrackingError",
    "DataWarning",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name == "sim":  # the simulator subpackage: kamrisk.sim.evaluation(...)
        return import_module(".sim", __name__)
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kamrisk' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from . import sim  # noqa: F401
    from ._backtest import BacktestResult, backtest  # noqa: F401
    from ._catalog import Catalog, load_catalog  # noqa: F401
    from ._datasets import read_cdnow  # noqa: F401
    from ._explain import explain  # noqa: F401
    from ._features import build_features  # noqa: F401
    from ._labels import make_labels  # noqa: F401
    from ._model import NotFittedError, RiskModel  # noqa: F401
    from ._recipe import Recipe, load_recipe  # noqa: F401
    from ._report import read_scores, write_report  # noqa: F401
    from ._review import ReviewResult, review, write_review  # noqa: F401
    from ._schema import AccountData, ValidationReport, load_data  # noqa: F401
    from ._score import DriftWarning, ScoreResult, load_model, score, write_scores  # noqa: F401
    from ._train import RegistryOutcome, TrainResult, train  # noqa: F401
    from ._trained import TrainedModel  # noqa: F401
    from ._vocabulary import load_vocabulary  # noqa: F401
    from .sim import SimulatedBook, simulate  # noqa: F401
