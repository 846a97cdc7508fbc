"""The exceptions kamrisk raises for a user's mistake.

Hierarchy::

    KamriskError            anything a user can fix: bad data, bad catalog, bad model or option
    ├── DataError           input tables break the data contract (names file, column, rows, accounts)
    ├── CatalogError        a sign catalog file is invalid (names file, sign, field)
    ├── ConfigError         a model recipe (models/<name>/config.yaml) is invalid
    ├── ModelError          a model is not fitted, or does not match the data it is given
    ├── OptionError         an argument is invalid: a language, a reasons mode, an as_of date, an output path
    └── TrackingError       the MLflow tracking server or store cannot be reached or fails

The command line catches only these and prints ``Error: <message>``; anything else is a bug and keeps
its traceback.
"""

from __future__ import annotations

__all__ = ["KamriskError", "DataError", "CatalogError", "ConfigError", "ModelError", "OptionError", "TrackingError",
           "DataWarning"]


class KamriskError(Exception):
    """Base class of every error a user can fix."""


class DataError(KamriskError):
    """Input tables break the data contract."""


class CatalogError(KamriskError):
    """A sign catalog file is invalid."""


class ConfigError(KamriskError):
    """A model recipe is invalid."""


class ModelError(KamriskError):
    """A model is not fitted, or does not match the data it is given."""


class OptionError(KamriskError):
    """An argument or command-line option is invalid (language, reasons mode, date, output path)."""


class TrackingError(KamriskError):
    """The MLflow tracking server or store cannot be reached, or failed during a run."""


class DataWarning(UserWarning):
    """Input data has a problem kamrisk repaired or can live with (duplicates, unknown accounts, ...)."""
