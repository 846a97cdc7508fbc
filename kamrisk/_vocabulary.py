"""The canonical event vocabulary (``features/vocabulary.yaml``): event types and the family reading each."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from ._errors import CatalogError
from ._resources import features_dir

__all__ = ["load_vocabulary", "EVENT_FAMILIES"]

EVENT_FAMILIES = (
    "procurement_change",
    "channel_conflict",
    "strategy_shift",
    "competitor_pressure",
    "relationship",
)


@lru_cache(maxsize=8)
def _load(path: Path) -> dict[str, str]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogError(f"{path}: cannot read the event vocabulary: {exc}") from exc
    if not isinstance(raw, dict):
        raise CatalogError(f"{path}: expected a mapping of family -> event types.")
    vocabulary: dict[str, str] = {}
    for family, types in raw.items():
        if family not in EVENT_FAMILIES:
            raise CatalogError(f"{path}: unknown family {family!r}; expected one of {list(EVENT_FAMILIES)}.")
        if not isinstance(types, dict) or not types:
            raise CatalogError(f"{path}: family {family!r} must map event types to their descriptions.")
        for event_type in types:
            if event_type in vocabulary:
                raise CatalogError(
                    f"{path}: event type {event_type!r} is listed under both {vocabulary[event_type]!r} "
                    f"and {family!r}."
                )
            vocabulary[event_type] = family
    return vocabulary


def load_vocabulary(path: str | Path | None = None) -> dict[str, str]:
    """Return ``{event_type: family}`` for every canonical event type.

    Parameters
    ----------
    path : str or Path, optional
        A vocabulary file; defaults to ``vocabulary.yaml`` of the sign catalog.
    """
    path = Path(path) if path is not None else features_dir() / "vocabulary.yaml"
    return dict(_load(path.resolve()))
