"""Where the sign catalog (``features/``) and the model recipes (``models/``) are found.

In a source checkout they sit at the top of the repository; an installed wheel carries them inside the
package as ``kamrisk/_bundled/``. ``KAMRISK_FEATURES_DIR`` and ``KAMRISK_MODELS_DIR`` override both.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["features_dir", "models_dir", "model_config_path"]

_PACKAGE = Path(__file__).resolve().parent


def _find(name: str, env: str) -> Path:
    override = os.environ.get(env)
    if override:
        return Path(override)
    for candidate in (_PACKAGE / "_bundled" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    from ._errors import KamriskError

    raise KamriskError(
        f"Cannot find kamrisk's {name}/ folder (looked in {_PACKAGE / '_bundled' / name} and "
        f"{_PACKAGE.parent / name}). Reinstall kamrisk, or set {env} to the folder."
    )


def features_dir() -> Path:
    """The folder holding the sign catalog."""
    return _find("features", "KAMRISK_FEATURES_DIR")


def models_dir() -> Path:
    """The folder holding the model recipes."""
    return _find("models", "KAMRISK_MODELS_DIR")


def model_config_path(config: str | os.PathLike[str]) -> Path:
    """Resolve a recipe name (``default``) or a path to its ``config.yaml``."""
    path = Path(config)
    if path.is_file():
        return path
    if path.is_dir() and (path / "config.yaml").is_file():
        return path / "config.yaml"
    bundled = models_dir() / str(config) / "config.yaml"
    if bundled.is_file():
        return bundled
    from ._errors import ConfigError

    known = sorted(p.name for p in models_dir().iterdir() if (p / "config.yaml").is_file())
    raise ConfigError(
        f"Model recipe {str(config)!r} not found: it is neither a config.yaml file nor one of the "
        f"shipped recipes {known}."
    )
