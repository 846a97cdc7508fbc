"""``kamrisk features``: as-of dates or a calendar in, a parquet or csv feature table out."""

from __future__ import annotations

import pandas as pd
import pytest

from kamrisk import build_features, load_catalog, load_data
from kamrisk._calendar import as_of_calendar
from kamrisk._cli import main


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("book")
    pd.DataFrame(
        {
            "account_id": ["A", "A", "A", "B", "B", "C"],
            "order_date": ["2023-03-10", "2023-09-02", "2024-02-15", "2023-05-01", "2024-05-20", "2022-01-05"],
            "amount": [1000, 1500, 800, 400, 450, 90],
            "category": ["x", "y", "x", "x", "x", "x"],
        }
    ).to_csv(path / "orders.csv", index=False)
    pd.DataFrame(
        {
            "account_id": ["A", "B"],
            "event_date": ["2024-01-10", "2024-03-01"],
            "event_type": ["complaint", "visit"],
            "resolved_date": ["", ""],
            "level": ["", "executive"],
        }
    ).to_csv(path / "events.csv", index=False)
    pd.DataFrame({"account_id": ["A", "B", "C"], "segment": ["retail", "retail", "food"]}).to_csv(
        path / "accounts.csv", index=False
    )
    return path


def _run(capsys, *args):
    with pytest.raises(SystemExit) as info:
        main(["features", *map(str, args)])
        raise SystemExit(0)
    captured = capsys.readouterr()
    return info.value.code, captured.out, captured.err


def test_as_of_dates_to_parquet(folder, tmp_path, capsys):
    out = tmp_path / "features.parquet"
    code, stdout, _ = _run(capsys, folder, "--as-of", "2024-03-01", "--as-of", "2024-06-01", "--out", out)
    assert code == 0
    assert "Wrote 4 rows (2 accounts at 2 as-of dates)" in stdout
    table = pd.read_parquet(out)
    expected = build_features(load_data(folder), ["2024-03-01", "2024-06-01"])
    categorical = load_catalog().categorical
    assert (table[categorical].dtypes == "category").all()
    # an all-missing category comes back from parquet with object (not str) categories: compare values
    pd.testing.assert_frame_equal(table.astype({c: object for c in categorical}),
                                  expected.astype({c: object for c in categorical}), check_exact=True)
    assert table.attrs.get("catalog_hash") == load_catalog().hash


def test_calendar_to_csv(folder, tmp_path, capsys):
    out = tmp_path / "sub" / "features.csv"
    code, stdout, _ = _run(capsys, folder, "--every", "1M", "--from", "2024-01-15", "--to", "2024-04-01",
                           "--family", "shrinking_orders", "--out", out)
    assert code == 0
    table = pd.read_csv(out)
    assert sorted(table["as_of"].unique()) == ["2024-02-01", "2024-03-01", "2024-04-01"]
    catalog = load_catalog()
    assert list(table.columns) == ["account_id", "as_of"] + [
        s.id for s in catalog.signs if s.family == "shrinking_orders"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--as-of", "2024-03-01", "--out", "features.xlsx"], "unknown output format '.xlsx'"),
        (["--out", "features.csv"], "Give the as-of dates"),
        (["--from", "2024-01-01", "--out", "features.csv"], "give --every too"),
        (["--every", "1 month", "--out", "features.csv"], "every: expected a duration such as '90d'"),
        (["--as-of", "someday", "--out", "features.csv"], "--as-of must be an ISO date YYYY-MM-DD"),
        (["--as-of", "01/12/2025", "--out", "features.csv"], "ambiguous between day-first and month-first"),
        (["--as-of", "2025-02-30", "--out", "features.csv"], "is not a calendar date"),
        (["--as-of", "2024-03-01", "--family", "gossip", "--out", "features.csv"], "Unknown sign families"),
    ],
)
def test_mistakes_print_an_error_and_exit_1(folder, tmp_path, capsys, args, message):
    args = [a if not a.startswith("features.") else str(tmp_path / a) for a in args]
    code, _, stderr = _run(capsys, folder, *args)
    assert code == 1
    assert stderr.startswith("Error: ") and message in stderr


def test_missing_folder_is_an_error(tmp_path, capsys):
    code, _, stderr = _run(capsys, tmp_path / "absent", "--as-of", "2024-03-01", "--out", tmp_path / "f.csv")
    assert code == 1 and "no such data folder" in stderr


def test_calendar_helper():
    assert as_of_calendar("1M", "2024-01-01", "2024-03-01").strftime("%Y-%m-%d").tolist() == [
        "2024-01-01", "2024-02-01", "2024-03-01"]
    assert as_of_calendar("3M", "2023-12-02", "2024-12-31").strftime("%Y-%m-%d").tolist() == [
        "2024-01-01", "2024-04-01", "2024-07-01", "2024-10-01"]
    assert len(as_of_calendar("7d", "2024-01-01", "2024-01-29")) == 5
    assert as_of_calendar("2w", "2024-01-01", "2024-01-29").equals(as_of_calendar("14d", "2024-01-01", "2024-01-29"))
    assert len(as_of_calendar("2w", "2024-01-01", "2024-01-29")) == 3
