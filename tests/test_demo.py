"""`kamrisk demo`: the README's first command, end to end at a small size."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
from test_zh import data_words, english_words, visible_html, workbook_texts


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path):
    out = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "kamrisk", "demo", "--out", str(out), "--accounts", "300", "--lang", "zh"],
        capture_output=True, text=True, timeout=900, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    printed = result.stdout
    assert "回测（配方 default" in printed and "模拟器真值" in printed
    assert "成为冠军模型（champion）" in printed
    assert "风险收入最高的 10 家客户：" in printed
    assert f"mlflow ui --backend-store-uri sqlite:///{(out / 'mlflow.db').resolve()}" in printed
    assert f"MLFLOW_TRACKING_URI=sqlite:///{(out / 'mlflow.db').resolve()} kamrisk score" in printed
    assert "Traceback" not in result.stderr
    # no third-party noise: no warnings, no log lines, no raw colour codes
    lines = (result.stdout + result.stderr).splitlines()
    assert not [line for line in lines if "Warning" in line or "INFO" in line or "\x1b" in line], result.stderr[-3000:]
    assert not (tmp_path / "mlruns").exists() and not (tmp_path / "mlflow.db").exists()  # all under --out
    assert any((out / "mlartifacts").rglob("MODEL_CARD.md"))
    # the review of the last judgeable year, and its headline
    assert "流失客户复盘：复盘 " in printed and "及时预警" in printed
    assert "提前期中位数" in printed and "最常见的主因" in printed
    assert f"复盘：{(out / 'review.html').resolve()}" in printed
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
    # a Chinese run leaves no English in the console, the report or its workbook beyond the data's own names
    words = data_words(pd.read_parquet(out / "data" / "accounts.parquet"))
    assert english_words([result.stdout, result.stderr], words) == []
    assert english_words(visible_html(html), words) == []
    assert english_words(workbook_texts(out / "report.xlsx"), words) == []
    top = latest[latest["status"] == "scored"].head(10)
    assert top["account_id"].iloc[0] in printed
