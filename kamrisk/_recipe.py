"""Model recipes: ``models/<name>/config.yaml``, parsed once into a frozen, typed :class:`Recipe`.

A recipe says what is predicted (the label rule and its horizon), on which as_of dates (the calendar),
which accounts are in play (activity and lapsed rules), how the model is fitted (LightGBM, early
stopping, calibration), how risks become bands, and how it is backtested. A recipe may start with
``extends: default`` (or another recipe's name or path) and state only what differs; sections are merged
key by key. Durations are written one way everywhere: ``90d``, ``12w`` or ``3M``.

Code reads the typed fields (``recipe.label.horizon_days``, ``recipe.calendar.every``); the merged YAML
content stays available as ``recipe.raw`` for logging.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ._durations import Duration, parse_days, parse_duration
from ._errors import ConfigError
from ._resources import model_config_path

__all__ = ["Recipe", "LabelRule", "Calendar", "Activity", "Stages", "Bands", "load_recipe", "LABEL_KINDS", "METRICS"]

LABEL_KINDS = ("full", "partial")
METRICS = ("roc_auc", "pr_auc", "brier", "ece", "lift_top10", "revenue_recall_top10")
_CALIBRATION = ("isotonic", "sigmoid", "none")

# section -> key -> type ("duration", "days", "number", "int", "str", "any"); a recipe may give only some
_SCHEMA: dict[str, Any] = {
    "name": "str",
    "description": "str",
    "extends": "str",
    "label": {"kind": "str", "horizon": "days", "full_threshold": "number", "partial_threshold": "number",
              "trailing": "days", "rows": "str", "lead": "days"},
    "calendar": {"every": "duration", "warmup": "days"},
    "activity": {"active": "days", "lapsed_after": "days", "lapsed_gaps": "number"},
    "stages": {"declining_share": "number", "warning_band": "str"},
    "families": "list",
    "lightgbm": "mapping",
    "early_stopping": {"rounds": "int", "share": "number"},
    "calibration": {"method": "str", "share": "number"},
    "bands": {"high": "number", "medium": "number"},
    "backtest": {"folds": "int", "step": "duration", "metric": "str", "min_train_dates": "int"},
    "seed": "int",
}


@dataclass(frozen=True)
class LabelRule:
    """What is predicted: ``kind`` defection (``full`` or ``partial``) visible within ``horizon_days``.

    Revenue in ``[as_of, as_of + horizon)`` below ``threshold`` x what the trailing ``trailing_days``
    predict for that span counts as the defection.
    """

    kind: str
    horizon_days: int
    full_threshold: float
    partial_threshold: float
    trailing_days: int = 365
    rows: str = "all"
    lead_days: int = 0
    """Early warning: a positive whose orders already fade in the first ``lead_days`` is censored."""
    """``all`` rows in play (not lapsed) are trained and tested on; ``intact``: only rows whose orders are
    still intact at as_of (not ``declining``), the early-warning question."""

    @property
    def threshold(self) -> float:
        return self.full_threshold if self.kind == "full" else self.partial_threshold


@dataclass(frozen=True)
class Calendar:
    """The training as_of dates: every ``every`` (month starts for months) after ``warmup_days``."""

    every: Duration
    warmup_days: int


@dataclass(frozen=True)
class Activity:
    """Which accounts are in play at as_of.

    Active: at least one order in the ``active_days`` before as_of (only active accounts get a row).
    Lapsed: no order for more than max(``lapsed_after_days``, ``lapsed_gaps`` x the account's typical
    reorder gap): the defection is already visible, so the row is neither trained on nor scored.
    """

    active_days: int = 365
    lapsed_after_days: int = 90
    lapsed_gaps: float = 3.0


@dataclass(frozen=True)
class Stages:
    """How a row's stage is read (see :mod:`kamrisk._stages`): ``declining`` below ``declining_share`` of
    the yearly revenue pace over the last 90 days; ``warning`` at ``warning_band`` or above."""

    declining_share: float = 0.6
    warning_band: str = "medium"


@dataclass(frozen=True)
class Bands:
    """Risk at or above ``high`` is high; at or above ``medium`` is medium; else low."""

    high: float
    medium: float

    def as_dict(self) -> dict[str, float]:
        return {"high": self.high, "medium": self.medium}


@dataclass(frozen=True)
class EarlyStopping:
    rounds: int
    share: float


@dataclass(frozen=True)
class Calibration:
    method: str
    share: float


@dataclass(frozen=True)
class BacktestPlan:
    """``folds`` test dates, ``step`` apart, back from the last as_of with a complete label; each fold
    needs ``min_train_dates`` training as_of dates whose label window closes before its test date."""

    folds: int
    step: Duration
    metric: str
    min_train_dates: int = 4


@dataclass(frozen=True)
class Recipe:
    """A validated model recipe.

    Attributes
    ----------
    name, description : str
    label : LabelRule
    calendar : Calendar
    activity : Activity
    families : tuple of str or None
        The sign families the model uses; None for every family of the catalog.
    lightgbm : mapping
        LightGBM parameters (``n_estimators`` is the most trees early stopping may keep).
    early_stopping, calibration, bands, backtest
    seed : int
    raw : mapping
        The merged YAML content (``extends`` resolved), for logging and :meth:`with_overrides`.
    source : str
        Where the recipe came from.
    """

    name: str
    description: str
    label: LabelRule
    calendar: Calendar
    activity: Activity
    stages: Stages
    families: tuple[str, ...] | None
    lightgbm: dict[str, Any] = field(hash=False)
    early_stopping: EarlyStopping
    calibration: Calibration
    bands: Bands
    backtest: BacktestPlan
    seed: int
    raw: dict[str, Any] = field(hash=False, repr=False)
    source: str = "<dict>"

    # convenience, read everywhere
    @property
    def horizon_days(self) -> int:
        return self.label.horizon_days

    @property
    def label_kind(self) -> str:
        return self.label.kind

    def flat(self) -> dict[str, str]:
        """Flattened ``section.key -> value`` for MLflow params."""
        out: dict[str, str] = {}

        def walk(prefix: str, value: Any) -> None:
            if isinstance(value, Mapping):
                for key, inner in value.items():
                    walk(f"{prefix}.{key}" if prefix else str(key), inner)
            elif isinstance(value, list | tuple):
                out[prefix] = ",".join(map(str, value))
            else:
                out[prefix] = str(value)

        walk("", _plain(self.raw))
        return out

    def to_yaml(self) -> str:
        """The merged recipe as YAML: loading it gives the same recipe."""
        return yaml.safe_dump(_plain(self.raw), sort_keys=False, allow_unicode=True)

    def with_overrides(self, **sections: Any) -> Recipe:
        """A copy with some sections' keys replaced, e.g. ``with_overrides(lightgbm={"n_estimators": 50})``."""
        return _parse(_merge(_plain(self.raw), sections), self.source)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``; mappings merge key by key (except ``lightgbm``'s values, replaced)."""
    out = copy.deepcopy(dict(base))
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _check_types(raw: Mapping[str, Any], schema: Mapping[str, Any], where: str, source: str) -> None:
    for key, value in raw.items():
        if key not in schema:
            raise ConfigError(f"{source}: unknown key {where}{key!r}; expected one of {sorted(schema)}.")
        expected = schema[key]
        name = f"{where}{key}"
        if isinstance(expected, dict):
            if not isinstance(value, Mapping):
                raise ConfigError(f"{source}: {name} must be a mapping of {sorted(expected)}.")
            _check_types(value, expected, f"{name}.", source)
        elif expected in ("duration", "days"):
            try:
                parse_duration(value, name, months=expected == "duration")
            except ValueError as exc:
                raise ConfigError(f"{source}: {exc}.") from None
        elif expected == "number":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"{source}: {name} must be a number, got {value!r}.")
        elif expected == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"{source}: {name} must be a whole number, got {value!r}.")
        elif expected == "str" and not isinstance(value, str):
            raise ConfigError(f"{source}: {name} must be text, got {value!r}.")
        elif expected == "list" and not (value is None or isinstance(value, list)):
            raise ConfigError(f"{source}: {name} must be a list, got {value!r}.")
        elif expected == "mapping" and not isinstance(value, Mapping):
            raise ConfigError(f"{source}: {name} must be a mapping, got {value!r}.")


def _require(raw: Mapping[str, Any], source: str) -> None:
    missing = []
    for key, spec in _SCHEMA.items():
        if key in ("description", "extends", "families", "activity", "stages"):
            continue
        if key not in raw:
            missing.append(key)
        elif isinstance(spec, dict):
            optional = {"label": ("trailing", "rows", "lead"), "backtest": ("min_train_dates",)}.get(key, ())
            missing += [f"{key}.{k}" for k in spec if k not in raw[key] and k not in optional]
    if missing:
        raise ConfigError(f"{source}: missing key(s) {missing}; a recipe states them, or `extends: default`.")


def _parse(raw: Any, source: str) -> Recipe:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: expected a mapping of sections, got {type(raw).__name__}.")
    raw = dict(raw)
    raw.pop("extends", None)
    _check_types(raw, _SCHEMA, "", source)
    _require(raw, source)
    label, calendar, activity = raw["label"], raw["calendar"], raw.get("activity", {})
    stages = raw.get("stages", {})
    if label.get("rows", "all") not in ("all", "intact"):
        raise ConfigError(f"{source}: label.rows must be 'all' or 'intact', got {label['rows']!r}.")
    if stages.get("warning_band", "medium") not in ("high", "medium"):
        raise ConfigError(f"{source}: stages.warning_band must be 'high' or 'medium', got {stages['warning_band']!r}.")
    if not 0 < stages.get("declining_share", 0.6) <= 1:
        raise ConfigError(f"{source}: stages.declining_share must be in (0, 1], got {stages['declining_share']!r}.")
    if label["kind"] not in LABEL_KINDS:
        raise ConfigError(f"{source}: label.kind must be one of {list(LABEL_KINDS)}, got {label['kind']!r}.")
    for key in ("full_threshold", "partial_threshold"):
        if not 0 < label[key] <= 1:
            raise ConfigError(f"{source}: label.{key} must be in (0, 1], got {label[key]!r}.")
    if raw["calibration"]["method"] not in _CALIBRATION:
        raise ConfigError(f"{source}: calibration.method must be one of {list(_CALIBRATION)}.")
    bands = raw["bands"]
    if not 0 < bands["medium"] < bands["high"] < 1:
        raise ConfigError(f"{source}: bands need 0 < medium < high < 1, got {bands}.")
    if raw["backtest"]["metric"] not in METRICS:
        raise ConfigError(f"{source}: backtest.metric must be one of {list(METRICS)}.")
    if raw["backtest"]["folds"] < 1 or raw["backtest"].get("min_train_dates", 4) < 1:
        raise ConfigError(f"{source}: backtest.folds and backtest.min_train_dates must be at least 1.")
    for section in ("early_stopping", "calibration"):
        if not 0 <= raw[section]["share"] < 0.5:
            raise ConfigError(f"{source}: {section}.share must be in [0, 0.5).")
    forbidden = {"is_unbalance", "scale_pos_weight", "class_weight"} & set(raw["lightgbm"])
    if forbidden:
        raise ConfigError(
            f"{source}: lightgbm.{sorted(forbidden)[0]} distorts the probabilities the model must give; "
            "remove it (calibration handles a rare positive class)."
        )
    if "n_jobs" in raw["lightgbm"] or "num_threads" in raw["lightgbm"]:
        raise ConfigError(f"{source}: threads are not part of a recipe; pass n_jobs to RiskModel instead.")
    families = raw.get("families")
    if families is not None and (not families or not all(isinstance(f, str) for f in families)):
        raise ConfigError(f"{source}: families must be a non-empty list of sign family names, or left out for all.")
    return Recipe(
        name=str(raw["name"]),
        description=str(raw.get("description", "")),
        label=LabelRule(
            kind=label["kind"], horizon_days=parse_days(label["horizon"]),
            full_threshold=float(label["full_threshold"]), partial_threshold=float(label["partial_threshold"]),
            trailing_days=parse_days(label.get("trailing", "365d")), rows=str(label.get("rows", "all")),
            lead_days=parse_days(label["lead"]) if label.get("lead") not in (None, 0, "0d") else 0,
        ),
        calendar=Calendar(every=parse_duration(calendar["every"]), warmup_days=parse_days(calendar["warmup"])),
        activity=Activity(
            active_days=parse_days(activity.get("active", "365d")),
            lapsed_after_days=parse_days(activity.get("lapsed_after", "90d")),
            lapsed_gaps=float(activity.get("lapsed_gaps", 3.0)),
        ),
        stages=Stages(declining_share=float(stages.get("declining_share", 0.6)),
                      warning_band=str(stages.get("warning_band", "medium"))),
        families=None if families is None else tuple(families),
        lightgbm=dict(raw["lightgbm"]),
        early_stopping=EarlyStopping(int(raw["early_stopping"]["rounds"]), float(raw["early_stopping"]["share"])),
        calibration=Calibration(str(raw["calibration"]["method"]), float(raw["calibration"]["share"])),
        bands=Bands(float(bands["high"]), float(bands["medium"])),
        backtest=BacktestPlan(
            folds=int(raw["backtest"]["folds"]), step=parse_duration(raw["backtest"]["step"]),
            metric=str(raw["backtest"]["metric"]), min_train_dates=int(raw["backtest"].get("min_train_dates", 4)),
        ),
        seed=int(raw["seed"]),
        raw=raw,
        source=source,
    )


def _read(config: str | os.PathLike[str], seen: tuple[str, ...] = ()) -> tuple[dict[str, Any], str]:
    """The recipe's YAML with its ``extends`` chain merged, and where it came from."""
    path = model_config_path(config)
    key = str(Path(path).resolve())
    if key in seen:
        raise ConfigError(f"{path}: `extends` goes round in a circle: {' -> '.join((*seen, key))}.")
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the recipe: {exc}") from exc
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{path}: expected a mapping of sections, got {type(raw).__name__}.")
    return _resolve(dict(raw), str(path), (*seen, key), Path(path).parent), str(path)


def _resolve(raw: dict[str, Any], source: str, seen: tuple[str, ...], here: Path | None) -> dict[str, Any]:
    parent = raw.get("extends")
    if parent is None:
        return raw
    if not isinstance(parent, str):
        raise ConfigError(f"{source}: extends must name a recipe (e.g. 'default') or a config.yaml path.")
    target: str | Path = parent
    if here is not None and (here / parent).exists():  # a path relative to the recipe's own folder
        target = here / parent
    base, _ = _read(target, seen)
    merged = _merge(base, {k: v for k, v in raw.items() if k != "extends"})
    if "name" not in raw:
        raise ConfigError(f"{source}: a recipe that extends another must give its own name.")
    return merged


def load_recipe(recipe: str | os.PathLike[str] | Mapping[str, Any] | Recipe = "default") -> Recipe:
    """Load a recipe by name (``"default"``, ``"early"``), path, or mapping, and validate it.

    A recipe may ``extends:`` another one and state only what differs.

    Raises
    ------
    ConfigError
        Naming the file and the key that is wrong.

    Examples
    --------
    >>> load_recipe({"extends": "default", "name": "quarter", "label": {"horizon": "90d"}}).horizon_days
    90
    """
    if isinstance(recipe, Recipe):
        return recipe
    if isinstance(recipe, Mapping):
        return _parse(_resolve(dict(recipe), "<dict>", (), None), "<dict>")
    raw, source = _read(recipe)
    return _parse(raw, source)
