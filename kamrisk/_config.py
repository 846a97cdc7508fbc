"""Model recipes: ``models/<name>/config.yaml``, validated into a :class:`ModelConfig`."""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ._catalog import FAMILIES
from ._errors import ConfigError
from ._resources import model_config_path

__all__ = ["ModelConfig", "load_config", "parse_days", "parse_months"]


_SCHEMA: dict[str, Any] = {
    "name": str,
    "description": str,
    "label": {"kind": str, "horizon": str, "full_threshold": float, "partial_threshold": float},
    "calendar": {"every": str, "warmup": str, "active_days": int},
    "families": list,
    "lightgbm": dict,
    "early_stopping": {"rounds": int, "share": float},
    "calibration": {"method": str, "share": float},
    "bands": {"high": float, "medium": float},
    "backtest": {"folds": int, "step": str, "metric": str},
    "seed": int,
}
_METRICS = ("roc_auc", "pr_auc", "brier", "ece", "lift_top10", "revenue_recall_top10")


def parse_days(text: str | int, field: str = "horizon") -> int:
    """``"180d"`` -> 180."""
    if isinstance(text, int):
        return text
    match = re.fullmatch(r"\s*(\d+)\s*d\s*", str(text))
    if not match or int(match.group(1)) <= 0:
        raise ConfigError(f"{field}: expected a number of days like '180d', got {text!r}.")
    return int(match.group(1))


def parse_months(text: str, field: str = "every") -> int:
    """``"3M"`` -> 3."""
    match = re.fullmatch(r"\s*(\d+)\s*M\s*", str(text))
    if not match or int(match.group(1)) <= 0:
        raise ConfigError(f"{field}: expected a number of months like '1M', got {text!r}.")
    return int(match.group(1))


def _check(raw: Mapping[str, Any], schema: Mapping[str, Any], where: str, source: str) -> None:
    for key, value in raw.items():
        if key not in schema:
            raise ConfigError(f"{source}: unknown key {where}{key!r}; expected one of {sorted(schema)}.")
        expected = schema[key]
        if isinstance(expected, dict):
            if not isinstance(value, Mapping):
                raise ConfigError(f"{source}: {where}{key} must be a mapping.")
            _check(value, expected, f"{where}{key}.", source)
        elif expected is float:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"{source}: {where}{key} must be a number, got {value!r}.")
        elif not isinstance(value, expected) or isinstance(value, bool) and expected is int:
            raise ConfigError(
                f"{source}: {where}{key} must be {expected.__name__}, got {type(value).__name__} {value!r}."
            )
    missing = [k for k, v in schema.items() if k not in raw and k != "description"]
    if missing:
        raise ConfigError(f"{source}: missing key(s) {[where + k for k in missing]}.")


@dataclass(frozen=True)
class ModelConfig:
    """A validated model recipe. ``raw`` is the YAML content; the properties read it."""

    raw: dict[str, Any]
    source: str = "<dict>"

    @property
    def name(self) -> str:
        return str(self.raw["name"])

    @property
    def label_kind(self) -> str:
        return str(self.raw["label"]["kind"])

    @property
    def horizon_days(self) -> int:
        return parse_days(self.raw["label"]["horizon"])

    @property
    def horizon(self) -> str:
        return f"{self.horizon_days}d"

    @property
    def families(self) -> list[str]:
        return list(self.raw["families"])

    @property
    def lightgbm(self) -> dict[str, Any]:
        return dict(self.raw["lightgbm"])

    @property
    def seed(self) -> int:
        return int(self.raw["seed"])

    @property
    def bands(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.raw["bands"].items()}

    def label_kwargs(self) -> dict[str, Any]:
        label = self.raw["label"]
        return {
            "horizon": self.horizon,
            "kind": self.label_kind,
            "full_threshold": float(label["full_threshold"]),
            "partial_threshold": float(label["partial_threshold"]),
        }

    def flat(self) -> dict[str, str]:
        """Flattened ``section.key -> value`` for MLflow params."""
        out: dict[str, str] = {}

        def walk(prefix: str, value: Any) -> None:
            if isinstance(value, Mapping):
                for key, inner in value.items():
                    walk(f"{prefix}.{key}" if prefix else str(key), inner)
            elif isinstance(value, list):
                out[prefix] = ",".join(map(str, value))
            else:
                out[prefix] = str(value)

        walk("", self.raw)
        return out

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.raw, sort_keys=False, allow_unicode=True)

    def with_overrides(self, **sections: Any) -> ModelConfig:
        """A copy with some sections' keys replaced, e.g. ``with_overrides(lightgbm={"n_estimators": 50})``."""
        raw = copy.deepcopy(self.raw)
        for section, values in sections.items():
            if isinstance(values, Mapping) and isinstance(raw.get(section), dict):
                raw[section].update(values)
            else:
                raw[section] = values
        return _validated(raw, self.source)


def _validated(raw: Any, source: str) -> ModelConfig:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: expected a mapping of sections, got {type(raw).__name__}.")
    raw = dict(raw)
    _check(raw, _SCHEMA, "", source)
    label = raw["label"]
    if label["kind"] not in ("full", "partial"):
        raise ConfigError(f"{source}: label.kind must be 'full' or 'partial', got {label['kind']!r}.")
    parse_days(label["horizon"], "label.horizon")
    parse_days(raw["calendar"]["warmup"], "calendar.warmup")
    parse_months(raw["calendar"]["every"], "calendar.every")
    parse_months(raw["backtest"]["step"], "backtest.step")
    unknown = [f for f in raw["families"] if f not in FAMILIES]
    if unknown:
        raise ConfigError(f"{source}: unknown families {unknown}; expected some of {list(FAMILIES)}.")
    if raw["calibration"]["method"] not in ("isotonic", "sigmoid", "none"):
        raise ConfigError(f"{source}: calibration.method must be isotonic, sigmoid or none.")
    bands = raw["bands"]
    if not 0 < bands["medium"] < bands["high"] < 1:
        raise ConfigError(f"{source}: bands need 0 < medium < high < 1, got {bands}.")
    if raw["backtest"]["metric"] not in _METRICS:
        raise ConfigError(f"{source}: backtest.metric must be one of {list(_METRICS)}.")
    for share in ("early_stopping", "calibration"):
        if not 0 <= raw[share]["share"] < 0.5:
            raise ConfigError(f"{source}: {share}.share must be in [0, 0.5).")
    forbidden = {"is_unbalance", "scale_pos_weight", "class_weight"} & set(raw["lightgbm"])
    if forbidden:
        raise ConfigError(
            f"{source}: lightgbm.{sorted(forbidden)[0]} distorts the probabilities the model must give; "
            "remove it (calibration handles a rare positive class)."
        )
    return ModelConfig(raw=raw, source=source)


def load_config(config: str | os.PathLike[str] | Mapping[str, Any] | ModelConfig = "default") -> ModelConfig:
    """Load a recipe by name (``"default"``, ``"partial"``), path, or mapping, and validate it.

    Raises
    ------
    ConfigError
        Naming the file and the key that is wrong.
    """
    if isinstance(config, ModelConfig):
        return config
    if isinstance(config, Mapping):
        return _validated(config, "<dict>")
    path = model_config_path(config)
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the recipe: {exc}") from exc
    return _validated(raw, str(path))
