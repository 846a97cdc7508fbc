"""`kamrisk demo`: the README's first command, end to end at a small size."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path):
    out = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "kamrisk", "demo", "--out", str(out), "--accounts", "300", "--lang", "zh"],
        capture_output=True, text=True, timeout=900, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    printed = result.stdout
    assert "Backtest of 'default'" in printed and "oracle" in printed
    assert "is the champion" in printed
    assert "The 10 with the most revenue at risk:" in printed
    assert f"mlflow ui --backend-store-uri sqlite:///{(out / 'mlflow.db').resolve()}" in printed
    assert f"MLFLOW_TRACKING_URI=sqlite:///{(out / 'mlflow.db').resolve()} kamrisk score" in printed
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "mlruns").exists() and not (tmp_path / "mlflow.db").exists()  # all under --out
    assert any((out / "mlartifacts").rglob("MODEL_CARD.md"))
    # the review of the last judgeable year, and its headline
    assert "Review of the lost accounts: Review " in printed and "Warned in time:" in printed
    assert "Median lead of the warned:" in printed and "Top cause named:" in printed
    assert f"Review: {(out / 'review.html').resolve()}" in printed
    for name in ("report.html", "report.xlsx", "review.html", "review.xlsx", "scores.parquet", "mlflow.db",
                 "data/orders.parquet"):
        assert (out / name).is_file(), name
    scores = pd.read_parquet(out / "scores.parquet")
    latest = scores[scores["as_of"] == scores["as_of"].max()]
    assert len(latest) == 300  # every account of the book, scored or unscorable
    html = (out / "report.html").read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in html
    assert 'id="changes"' in html  # the report opens with what changed since the month before
    assert "流失大客户复盘" in (out / "review.html").read_text(encoding="utf-8")
    top = latest[latest["status"] == "scored"].head(10)
    assert top["account_id"].iloc[0] in printed
