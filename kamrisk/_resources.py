"""Where the sign catalog (``features/``) and the model recipes (``models/``) are found.

In a source checkout they sit at the top of the repository; an installed wheel carries them inside the
package as ``kamrisk/_bundled/``. ``KAMRISK_FEATURES_DIR`` and ``KAMRISK_MODELS_DIR`` override both.
When kamrisk is imported from the wheel file itself (``spark-submit --py-files kamrisk-*.whl``), the
bundled folders are unpacked once into the temporary folder, since a zip member is no folder to read.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["features_dir", "models_dir", "model_config_path"]

_PACKAGE = Path(__file__).resolve().parent


def _unpacked_bundle() -> Path | None:
    """``kamrisk/_bundled`` unpacked from the zip kamrisk is imported from (a wheel on the Python path), or
    None when kamrisk is not imported from a zip. Each process unpacks to its own folder and renames it into
    place, so concurrent Spark workers never see a half-written folder."""
    import shutil
    import tempfile
    import zipfile

    archive = next((p for p in _PACKAGE.parents if p.is_file()), None)
    if archive is None or not zipfile.is_zipfile(archive):
        return None
    stat = archive.stat()
    target = Path(tempfile.gettempdir()) / f"kamrisk-bundle-{archive.stem}-{stat.st_size}-{stat.st_mtime_ns}"
    if not target.is_dir():
        inner = _PACKAGE.relative_to(archive).as_posix() + "/_bundled/"
        partial = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(partial, [m for m in zipped.namelist() if m.startswith(inner)])
        try:
            os.replace(partial / inner, target)
        except OSError:  # another process was first
            if not target.is_dir():
                raise
        finally:
            shutil.rmtree(partial, ignore_errors=True)
    return target


def _find(name: str, env: str) -> Path:
    override = os.environ.get(env)
    if override:
        return Path(override)
    candidates = [_PACKAGE / "_bundled" / name, _PACKAGE.parent / name]
    if not _PACKAGE.is_dir():
        unpacked = _unpacked_bundle()
        if unpacked is not None:
            candidates.insert(0, unpacked / name)
    for candidate in candidates:
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
