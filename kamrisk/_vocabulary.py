"""The canonical event vocabulary (``features/vocabulary.yaml``): event types and the family reading each.

The file maps each sign family to the event types it reads (``{family: {event_type: description}}``).
Which families exist is the catalog's business (:func:`~kamrisk.load_catalog` checks every family named
here has a family file); this module only reads the file.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from ._errors import CatalogError
from ._resources import features_dir

__all__ = ["load_vocabulary", "parse_vocabulary"]


def parse_vocabulary(content: bytes, path: Path) -> dict[str, str]:
    """``{event_type: family}`` from the bytes of a vocabulary file; :class:`CatalogError` naming ``path``."""
    try:
        raw = yaml.safe_load(content.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{path}: cannot read the event vocabulary: {exc}") from exc
    if not isinstance(raw, dict):
        raise CatalogError(f"{path}: expected a mapping of family -> event types.")
    vocabulary: dict[str, str] = {}
    for family, types in raw.items():
        if not isinstance(types, dict) or not types:
            raise CatalogError(f"{path}: family {family!r} must map event types to their descriptions.")
        for event_type in types:
            if event_type in vocabulary:
                raise CatalogError(
                    f"{path}: event type {event_type!r} is listed under both {vocabulary[event_type]!r} "
                    f"and {family!r}."
                )
            vocabulary[event_type] = str(family)
    return vocabulary


@lru_cache(maxsize=8)
def _load(path: Path) -> dict[str, str]:
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read the event vocabulary: {exc}") from exc
    return parse_vocabulary(content, path)


def load_vocabulary(path: str | Path | None = None) -> dict[str, str]:
    """Return ``{event_type: family}`` for every canonical event type.

    Parameters
    ----------
    path : str or Path, optional
        A vocabulary file; defaults to ``vocabulary.yaml`` of the shipped sign catalog. A catalog loaded
        with your own signs carries its merged vocabulary as ``catalog.vocabulary``.
    """
    path = Path(path) if path is not None else features_dir() / "vocabulary.yaml"
    return dict(_load(path.resolve()))
