"""kamrisk: which key accounts are about to defect, why, and what to do about it.

Public names are imported on first use, so ``import kamrisk`` stays light (no pandas, mlflow, shap or
pyspark until they are needed).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._errors import CatalogError, ConfigError, DataError, DataWarning, KamriskError, ModelError

__version__ = "0.1.0"

# public name -> private module that defines it
_LAZY = {
    "AccountData": "_schema",
    "ValidationReport": "_schema",
    "load_data": "_schema",
    "load_vocabulary": "_vocabulary",
    "simulate": "sim",
    "load_catalog": "_catalog",
    "Catalog": "_catalog",
    "build_features": "_features",
    "make_labels": "_labels",
    "load_config": "_config",
    "RiskModel": "_model",
    "backtest": "_backtest",
    "train": "_train",
    "score": "_score",
    "write_scores": "_score",
    "write_report": "_report",
    "read_scores": "_report",
    "explain": "_explain",
    "read_cdnow": "_datasets",
}

__all__ = [
    "__version__",
    "KamriskError",
    "DataError",
    "CatalogError",
    "ConfigError",
    "ModelError",
    "DataWarning",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kamrisk' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from ._schema import AccountData, ValidationReport, load_data  # noqa: F401
    from ._vocabulary import load_vocabulary  # noqa: F401
