"""Packaging: import stays light, and an installed wheel carries the catalog and the recipes."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_import_is_light():
    code = (
        "import sys, time; t = time.perf_counter(); import kamrisk; dt = time.perf_counter() - t; "
        "heavy = [m for m in ('mlflow', 'shap', 'pyspark', 'lightgbm', 'pandas') if m in sys.modules]; "
        "print(dt, heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    seconds, heavy = out.split(" ", 1)
    assert heavy.strip() == "[]"
    assert float(seconds) < 1.5


@pytest.mark.slow
def test_wheel_ships_catalog_and_recipes(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True, text=True, timeout=300,
    )
    (wheel,) = tmp_path.glob("kamrisk-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "kamrisk/py.typed" in names
    assert "kamrisk/_bundled/features/vocabulary.yaml" in names
    for path in ROOT.glob("features/*.yaml"):
        assert f"kamrisk/_bundled/features/{path.name}" in names
    for path in ROOT.glob("models/*/config.yaml"):
        assert f"kamrisk/_bundled/{path.relative_to(ROOT).as_posix()}" in names


def test_resources_resolve_from_a_bundled_copy(tmp_path, monkeypatch):
    from kamrisk import _resources

    bundled = tmp_path / "kamrisk" / "_bundled" / "features"
    bundled.mkdir(parents=True)
    (bundled / "vocabulary.yaml").write_text("relationship:\n  visit: a visit\n", encoding="utf-8")
    monkeypatch.setattr(_resources, "_PACKAGE", tmp_path / "kamrisk")
    assert _resources.features_dir() == bundled
    monkeypatch.setenv("KAMRISK_FEATURES_DIR", str(tmp_path))
    assert _resources.features_dir() == tmp_path
