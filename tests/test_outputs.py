"""The table writer: checks before any work, parquet/csv/xlsx, formula guard that never alters ids."""

from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest

from kamrisk import DataWarning, KamriskError
from kamrisk._outputs import Column, check_output, open_workbook, write_sheet, write_table

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


# -- the xlsx package itself (kamrisk._xlsx): what Excel and LibreOffice need to open it without repair -----
MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
TYPES = "{http://schemas.openxmlformats.org/package/2006/content-types}"
HOSTILE = ["<r>x</r>", "_x0041_ stays", "a & b <c> \"d\" 'e'", "  padded  ", "line\r\nbreak", "\rstarts with CR",
           "中文客户名称", "\ufffe odd", "tab\there", "x" * 40_000]


def _package(path) -> dict[str, ET.Element]:
    """Every part of the zip parsed as XML (a part that is not well-formed XML fails here)."""
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        return {name: ET.fromstring(archive.read(name)) for name in archive.namelist()}


def _hostile_table(n: int) -> pd.DataFrame:
    return pd.DataFrame({
        "account_id": [f"-{i:05d}" if i % 7 == 0 else f"KA{i:05d}" for i in range(n)],
        "name": pd.Series([HOSTILE[i % len(HOSTILE)] if i % 3 else None for i in range(n)], dtype=object),
        "risk": np.where(np.arange(n) % 5 == 0, np.nan, np.linspace(0, 1, n)),
        "revenue": np.arange(n) * 1234.5,
        "as_of": pd.Timestamp("2025-07-01"),
    })


def test_xlsx_package_parts_relationships_styles_and_cells_are_consistent(tmp_path):
    # longer than one block of rows (4096), so the block joins are checked too
    table = _hostile_table(9_000)
    path = write_table(table, tmp_path / "s.xlsx", sheet="it's [1]"[:4])
    parts = _package(path)
    types = parts.pop("[Content_Types].xml")
    defaults = {d.get("Extension") for d in types.iter(f"{TYPES}Default")}
    overrides = {o.get("PartName").lstrip("/"): o.get("ContentType") for o in types.iter(f"{TYPES}Override")}
    # every part has a content type, every override names a part that exists
    assert all(name in overrides or name.rsplit(".", 1)[-1] in defaults for name in parts)
    assert set(overrides) <= set(parts)
    assert overrides["xl/workbook.xml"].endswith("sheet.main+xml")
    # every relationship points at an existing part, and the workbook's ids are unique
    root_target = parts["_rels/.rels"].find(f"{REL}Relationship").get("Target")
    assert root_target == "xl/workbook.xml"
    relationships = parts["xl/_rels/workbook.xml.rels"].iter(f"{REL}Relationship")
    rels = {r.get("Id"): "xl/" + r.get("Target") for r in relationships}
    # and no part is left over: each is the target of a relationship (or one of the package's own)
    assert set(rels.values()) | {"xl/workbook.xml", "_rels/.rels", "xl/_rels/workbook.xml.rels"} == set(parts)
    workbook = parts["xl/workbook.xml"]
    sheet_entry = workbook.find(f"{MAIN}sheets/{MAIN}sheet")
    assert sheet_entry.get("name") == "it's"
    sheet = parts[rels[sheet_entry.get("{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id")]]
    assert workbook.find(f"{MAIN}definedNames/{MAIN}definedName").text == "'it''s'!$A$1:$E$9001"
    # styles: every cell's style exists; fills 0 and 1 are the two Excel requires
    styles = parts["xl/styles.xml"]
    n_xfs = len(styles.find(f"{MAIN}cellXfs"))
    assert int(styles.find(f"{MAIN}cellXfs").get("count")) == n_xfs
    fills = styles.find(f"{MAIN}fills")
    assert [f.find(f"{MAIN}patternFill").get("patternType") for f in fills][:2] == ["none", "gray125"]
    for xf in styles.find(f"{MAIN}cellXfs"):
        assert int(xf.get("fontId")) < len(styles.find(f"{MAIN}fonts")) and int(xf.get("fillId")) < len(fills)
    # shared strings: counts right, every index in range
    sst = parts["xl/sharedStrings.xml"]
    assert int(sst.get("uniqueCount")) == len(sst)
    # cells: rows in order, references match their row and go left to right, inside the dimension
    rows = sheet.find(f"{MAIN}sheetData")
    assert sheet.find(f"{MAIN}dimension").get("ref") == "A1:E9001"
    assert [int(r.get("r")) for r in rows] == list(range(1, 9002))
    string_cells = 0
    for row in rows:
        refs = [c.get("r") for c in row]
        assert all(ref.endswith(row.get("r")) and ref[0] in "ABCDE" for ref in refs) and refs == sorted(refs)
        for cell in row:
            assert int(cell.get("s", 0)) < n_xfs
            if cell.get("t") == "s":
                string_cells += 1
                assert 0 <= int(cell.find(f"{MAIN}v").text) < len(sst)
    assert int(sst.get("count")) == string_cells
    assert sheet.find(f"{MAIN}autoFilter").get("ref") == "A1:E9001"
    assert sheet.find(f"{MAIN}sheetViews/{MAIN}sheetView/{MAIN}pane").get("state") == "frozen"


def test_xlsx_reads_back_every_text_and_number_as_written(tmp_path):
    table = _hostile_table(9_000)
    path = write_table(table, tmp_path / "s.xlsx")
    back = pd.read_excel(path, dtype={"account_id": str, "name": object})
    assert back["account_id"].tolist() == table["account_id"].tolist()
    expected = [None if v is None else v[:32_767] for v in table["name"]]
    # openpyxl leaves Excel's escapes of a carriage return and of U+FFFE as they are in the file (Excel and
    # LibreOffice decode them: see the LibreOffice test)
    got = [None if isinstance(v, float) else v.replace("_x000D_", "\r").replace("_xFFFE_", "\ufffe")
           for v in back["name"]]
    assert got == expected
    assert np.array_equal(back["risk"].to_numpy(), table["risk"].to_numpy(), equal_nan=True)
    assert back["revenue"].tolist() == table["revenue"].tolist()
    assert (back["as_of"] == pd.Timestamp("2025-07-01")).all()


def test_xlsx_removes_lone_surrogates_and_refuses_a_bad_sheet_name(tmp_path):
    table = pd.DataFrame({"account_id": ["A1", "A2"], "name": pd.Series(["bad \ud800 text", "fine"], dtype=object)})
    with pytest.warns(DataWarning, match=r"from 1 text cell"):
        path = write_table(table, tmp_path / "s.xlsx")
    assert openpyxl.load_workbook(path).active["B2"].value == "bad  text"
    with pytest.raises(KamriskError, match=r"s2\.xlsx.*a/b"):
        write_table(table, tmp_path / "s2.xlsx", sheet="a/b")


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_opens_the_xlsx_and_shows_every_text_as_written(tmp_path):
    table = _hostile_table(300)
    table.loc[1, "name"] = FORMULA
    path = write_table(table, tmp_path / "s.xlsx")
    # LibreOffice refuses or repairs a broken package: a clean conversion with every value is the check
    done = subprocess.run(["soffice", "--headless", "--norestore", f"-env:UserInstallation=file://{tmp_path}/lo",
                           "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1",
                           "--outdir", str(tmp_path / "out"), str(path)], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    back = pd.read_csv(tmp_path / "out" / "s.csv", dtype=str, keep_default_na=False)
    assert back["account_id"].tolist() == table["account_id"].tolist()
    # text as written (a formula stays text, never evaluated), except that LibreOffice turns CRLF into LF
    expected = ["" if v is None else v[:32_767].replace("\r\n", "\n") for v in table["name"]]
    assert back["name"].tolist() == expected
    assert back.loc[1, "name"] == FORMULA


def test_a_workbook_cut_short_by_an_error_leaves_no_file(tmp_path):
    path = tmp_path / "cut.xlsx"
    with pytest.raises(ValueError, match="History"), open_workbook(path) as workbook:
        write_sheet(workbook, "scores", [Column("account_id", "id", ["A1", "A2"])])
        write_sheet(workbook, "History", [Column("account_id", "id", ["A1"])])  # a name Excel reserves
    assert not path.exists()
    with open_workbook(path) as workbook:
        write_sheet(workbook, "scores", [Column("account_id", "id", ["A1", "A2"])])
        write_sheet(workbook, "Reasons", [Column("rank", "int", [1, 2, 3])])
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["scores", "Reasons"] and book["Reasons"]["A4"].value == 3
