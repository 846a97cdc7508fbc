"""The table writer: checks before any work, parquet/csv/xlsx, formula guard that never alters ids."""

from __future__ import annotations

import os

import numpy as np
import openpyxl
import pandas as pd
import pytest

from kamrisk import DataWarning, KamriskError
from kamrisk._outputs import check_output, write_table

FORMULA = '=HYPERLINK("http://evil.example","click")'


@pytest.fixture
def table() -> pd.DataFrame:
    return pd.DataFrame({
        "account_id": ["-0042", "=7", "A003", "+12"],
        "as_of": pd.to_datetime(["2025-07-01"] * 4),
        "name": [FORMULA, "Acme", None, "@SUM(A1:A9)"],
        "risk": [0.81, np.nan, 0.2, 0.05],
        "scored": [True, False, True, True],
        "reason_1": ["-1.2 points of satisfaction", "", "Orders down 38%", "ok"],
    })


def test_unknown_format_is_refused_naming_the_path(tmp_path):
    with pytest.raises(KamriskError, match=r"scores\.txt.*unknown output format '\.txt'.*\.parquet or \.csv"):
        check_output(tmp_path / "scores.txt", ("parquet", ".csv"))


def test_an_output_under_a_file_is_refused_before_any_work(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(KamriskError, match=r"file/out/scores\.parquet.*is a file, not a folder"):
        check_output(blocker / "out" / "scores.parquet")


def test_a_folder_as_output_is_refused(tmp_path):
    (tmp_path / "scores.csv").mkdir()
    with pytest.raises(KamriskError, match="is a folder"):
        check_output(tmp_path / "scores.csv")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes everywhere")
def test_an_unwritable_folder_is_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(KamriskError, match=r"locked is not writable"):
            check_output(locked / "new" / "scores.xlsx")
    finally:
        locked.chmod(0o700)


def test_missing_folders_are_fine_and_created(tmp_path, table):
    path = tmp_path / "a" / "b" / "scores.parquet"
    assert check_output(path) == path
    back = pd.read_parquet(write_table(table, path))
    pd.testing.assert_frame_equal(back, table)


def test_csv_guards_text_but_keeps_ids_exact(tmp_path, table):
    back = pd.read_csv(write_table(table, tmp_path / "s.csv"), dtype={"account_id": str}, keep_default_na=False)
    assert back["account_id"].tolist() == ["-0042", "=7", "A003", "+12"]
    assert back["name"].tolist() == ["'" + FORMULA, "Acme", "", "'@SUM(A1:A9)"]
    assert back.loc[0, "reason_1"] == "'-1.2 points of satisfaction"
    assert float(back["risk"].iloc[0]) == pytest.approx(0.81)


def test_xlsx_writes_ids_and_formula_like_text_as_strings_never_formulas(tmp_path, table):
    path = write_table(table, tmp_path / "s.xlsx", sheet="scores")
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == ["scores"]
    sheet = workbook["scores"]
    cells = [c for row in sheet.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert [sheet.cell(row=i, column=1).value for i in range(2, 6)] == ["-0042", "=7", "A003", "+12"]
    assert all(sheet.cell(row=i, column=1).data_type == "s" for i in range(2, 6))
    name = sheet["C2"]
    assert name.value == FORMULA and name.data_type == "s" and name.quotePrefix
    assert sheet["C3"].value == "Acme" and not sheet["C3"].quotePrefix
    assert sheet["C4"].value is None and sheet["D3"].value is None  # missing text and NaN are empty cells
    assert sheet["D2"].value == pytest.approx(0.81) and sheet["E2"].value is True
    assert sheet["B2"].value == pd.Timestamp("2025-07-01") and sheet["B2"].number_format == "yyyy-mm-dd"
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:F5"
    back = pd.read_excel(path, dtype={"account_id": str})
    assert back["account_id"].tolist() == table["account_id"].tolist() and back.loc[0, "name"] == FORMULA


def test_xlsx_removes_control_characters_and_says_how_many(tmp_path, table):
    table.loc[1, "name"] = "Acme\x07 Trading\x00"
    table.loc[2, "reason_1"] = "\x1bOrders down"
    with pytest.warns(DataWarning, match=r"from 2 text cell"):
        path = write_table(table, tmp_path / "s.xlsx")
    sheet = openpyxl.load_workbook(path).active
    assert sheet["C3"].value == "Acme Trading" and sheet["F4"].value == "Orders down"


def test_parquet_keeps_control_characters(tmp_path, table):
    table.loc[1, "name"] = "Acme\x07"
    back = pd.read_parquet(write_table(table, tmp_path / "s.parquet"))
    assert back.loc[1, "name"] == "Acme\x07"
