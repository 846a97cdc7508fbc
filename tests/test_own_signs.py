"""A user's own sign family and recipe, from folders of their own, through the command line: train, score."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from test_catalog import write_own_family

from kamrisk._cli import main


@pytest.mark.slow
def test_own_family_and_own_recipe_train_and_score(sim_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    book = tmp_path / "book"
    shutil.copytree(sim_dir, book)
    events = pd.read_parquet(book / "events.parquet")
    rng = np.random.default_rng(5)
    picked = events.sample(300, random_state=5)
    inspections = pd.DataFrame({
        "account_id": picked["account_id"].to_numpy(),
        "event_date": picked["event_date"].to_numpy(),
        "event_type": "failed_inspection",
        "value": rng.integers(1, 5, len(picked)).astype(float),
    })
    pd.concat([events, inspections], ignore_index=True).to_parquet(book / "events.parquet", index=False)
    own = write_own_family(tmp_path / "my_signs")
    recipe = tmp_path / "quarter.yaml"
    recipe.write_text("extends: default\nname: quarter\nlabel: {horizon: 90d}\n", encoding="utf-8")
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"

    # the shipped vocabulary does not know the new event type: the data is refused, naming it
    with pytest.raises(SystemExit) as refused:
        main(["validate", str(book)])
    assert refused.value.code == 1 and "failed_inspection" in capsys.readouterr().err

    main(["train", str(book), "--recipe", str(recipe), "--catalog", str(own), "--tracking-uri", store])
    out = capsys.readouterr().out
    assert "Backtest of 'quarter' (full defection within 90 days)" in out and "is the champion" in out

    scores_path = tmp_path / "scores.parquet"
    main(["score", str(book), "--as-of", "2025-10-01", "--out", str(scores_path), "--tracking-uri", store])
    assert "with kamrisk v1 (full defection within 90 days)" in capsys.readouterr().out
    scores = pd.read_parquet(scores_path)
    assert (scores["horizon_days"] == 90).all() and (scores["model_version"] == "kamrisk v1").all()
    assert "contrib_supplier_quality" in scores  # the new family is read, explained and reported
    assert scores["contrib_supplier_quality"].notna().any()


@pytest.mark.slow
def test_nine_months_of_orders_train_and_score_on_the_command_line(sim_book, tmp_path, capsys, monkeypatch):
    """A new user's public 12-month log cut to nine months: the weekly `short` recipe trains at a 90-day
    horizon; the monthly default refuses with a message that names the data's span and the way out."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    book = tmp_path / "nine_months"
    book.mkdir()
    cut = pd.Timestamp("2023-10-01")
    sim_book.orders[sim_book.orders["order_date"] < cut].to_csv(book / "orders.csv", index=False)
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with pytest.raises(SystemExit) as refused:
        main(["train", str(book), "--tracking-uri", store])
    err = capsys.readouterr().err
    assert refused.value.code == 1 and err.startswith("Error: ")
    assert "2023-01-01 to 2023-10-01" in err and "the `short` recipe" in err
    main(["train", str(book), "--recipe", "short", "--tracking-uri", store])
    out = capsys.readouterr().out
    assert "Backtest of 'short' (full defection within 90 days)" in out and "is the champion" in out
    main(["score", str(book), "--as-of", "2023-10-01", "--out", str(tmp_path / "s.csv"), "--tracking-uri", store])
    scores = pd.read_csv(tmp_path / "s.csv", dtype={"account_id": str})
    assert set(scores["account_id"]) == set(sim_book.orders.loc[sim_book.orders["order_date"] < cut, "account_id"])
    assert (scores["horizon_days"] == 90).all()
