"""Hostile exports: every case loads completely with its account ids unchanged, or stops with a clear DataError.

Each test writes the case as a user's export would look (csv, xlsx, parquet, mapping.yaml) and goes through
``kamrisk.load_data``; a few go through ``kamrisk validate`` in a subprocess, as a user would.
"""

from __future__ import annotations

import re
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

import kamrisk
from kamrisk import DataError, DataWarning, load_data


def _orders(**overrides) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "account_id": ["A", "A", "B", "C"],
            "order_date": ["2024-01-05", "2024-02-10", "2024-01-20", "2024-03-01"],
            "amount": ["1200", "800", "5000", "300"],
        }
    )
    return frame.assign(**overrides)


def _events(**overrides) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "account_id": ["A", "B", "Q"],  # Q appears only in events
            "event_date": ["2024-01-10", "2024-02-01", "2024-02-15"],
            "event_type": ["complaint", "visit", "complaint"],
            "resolved_date": ["2024-02-01", "", ""],
        }
    )
    return frame.assign(**overrides)


def _accounts(**overrides) -> pd.DataFrame:
    frame = pd.DataFrame({"account_id": ["A", "B", "C"], "name": ["甲公司", "乙公司", "丙公司"],
                          "since": ["2019-05-01", "2020-01-01", "2021-07-15"]})
    return frame.assign(**overrides)


def _write(folder, *, orders=None, events=None, accounts=None, mapping=None):
    for name, frame in (("orders", orders), ("events", events), ("accounts", accounts)):
        if frame is not None:
            frame.to_csv(folder / f"{name}.csv", index=False)
    if mapping is not None:
        (folder / "mapping.yaml").write_text(mapping, encoding="utf-8")
    return folder


def _load(folder):
    """load_data, with the warnings it issued (as text)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataWarning)
        book = load_data(folder)
    return book, [str(w.message) for w in caught if issubclass(w.category, DataWarning)]


def _validate(folder) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kamrisk", "validate", str(folder)], capture_output=True,
                          text=True, timeout=120)


# -- dates that used to make a whole table vanish ----------------------------------------------------------
def test_open_events_written_as_9999_load_as_open_with_a_warning(tmp_path):
    _write(tmp_path, orders=_orders(), events=_events(resolved_date=["2024-02-01", "9999-12-31", "9999-12-31"]))
    book, warned = _load(tmp_path)
    assert len(book.events) == 3
    assert book.events["resolved_date"].isna().tolist() == [False, True, True]
    assert "Q" in book.account_ids  # an account only in events is carried
    assert any("column 'resolved_date': 2 value(s) are placeholders" in w and "read as empty" in w
               and "(rows 2, 3)" in w for w in warned)


def test_placeholder_where_a_date_is_required_is_an_error(tmp_path):
    _write(tmp_path, orders=_orders(), events=_events(event_date=["2024-01-10", "1900-01-01", "2024-02-15"]))
    with pytest.raises(DataError, match=r"column 'event_date': 1 value\(s\) are placeholders .*\(rows 2\)"):
        load_data(tmp_path)


def test_one_since_with_a_time_of_day_keeps_the_whole_accounts_table(tmp_path):
    _write(tmp_path, orders=_orders(), accounts=_accounts(since=["2019-05-01", "2020-01-01 00:00:00", "2021-07-15"]))
    book, _ = _load(tmp_path)
    since = book.accounts.set_index("account_id")["since"]
    assert since.loc["B"] == pd.Timestamp("2020-01-01")
    assert since.loc["A"] == pd.Timestamp("2019-05-01")
    assert book.accounts.set_index("account_id").loc["C", "name"] == "丙公司"  # attributes kept


def test_half_the_event_dates_with_slashes_and_a_time_are_all_read(tmp_path):
    _write(tmp_path, orders=_orders(),
           events=_events(event_date=["2024-01-10", "2024/02/01 00:00", "2024/02/15 16:45"]))
    book, _ = _load(tmp_path)
    assert book.events["event_date"].tolist() == pd.to_datetime(["2024-01-10", "2024-02-01", "2024-02-15"]).tolist()
    notes = [p for p in book.report.problems if p.severity == "info"]
    assert any("1 value(s) carry a time of day" in str(p) and "(rows 3)" in str(p) for p in notes)


def test_an_order_with_a_time_of_day_is_read_as_its_date(tmp_path):
    _write(tmp_path, orders=_orders(order_date=["2024-01-05", "2024-02-10 14:30", "2024-01-20", "2024-03-01"]))
    book, _ = _load(tmp_path)
    assert book.orders["order_date"].tolist() == pd.to_datetime(
        ["2024-01-05", "2024-02-10", "2024-01-20", "2024-03-01"]).tolist()
    assert book.orders["order_date"].dtype == "datetime64[ns]"


@pytest.mark.parametrize("far", ["2999-01-01", "2200-06-30"])
def test_an_order_dated_centuries_ahead_is_an_error(tmp_path, far):
    _write(tmp_path, orders=_orders(order_date=["2024-01-05", far, "2024-01-20", "2024-03-01"]))
    latest = (pd.Timestamp.today().normalize() + pd.DateOffset(years=1)).date()
    with pytest.raises(DataError, match=rf"column 'order_date': 1 date\(s\) after {latest} .*'{far}'.*\(rows 2\)"):
        load_data(tmp_path)


def test_an_order_before_1970_is_an_error_and_a_since_before_1900_too(tmp_path):
    _write(tmp_path, orders=_orders(order_date=["2024-01-05", "1969-12-31", "2024-01-20", "2024-03-01"]),
           accounts=_accounts(since=["1850-01-01", "2020-01-01", "1901-01-01"]))
    with pytest.raises(DataError) as info:
        load_data(tmp_path)
    assert "column 'order_date': 1 date(s) before 1970-01-01, e.g. ['1969-12-31'] (rows 2)" in str(info.value)
    assert "column 'since': 1 date(s) before 1900-01-01, e.g. ['1850-01-01'] (rows 1)" in str(info.value)


def test_a_since_far_in_the_future_is_read_as_empty_with_a_warning(tmp_path):
    _write(tmp_path, orders=_orders(), accounts=_accounts(since=["2019-05-01", "2099-01-01", "2021-07-15"]))
    book, warned = _load(tmp_path)
    assert book.accounts.set_index("account_id")["since"].isna().tolist() == [False, True, False]
    assert any("column 'since': 1 date(s) after" in w and "read as empty" in w for w in warned)


# -- dates that used to be misread ------------------------------------------------------------------------
def test_day_first_dates_are_refused_without_date_format_and_the_format_is_suggested(tmp_path):
    days_up_to_12 = ["05/01/2024", "10/02/2024", "12/01/2024", "01/03/2024"]
    _write(tmp_path, orders=_orders(order_date=days_up_to_12))
    with pytest.raises(DataError) as info:
        load_data(tmp_path)
    message = str(info.value)
    assert "4 value(s) are not ISO dates" in message and "date_format" in message
    assert "Both day-first and month-first could read them" in message


def test_day_first_dates_with_a_day_above_12_suggest_the_day_first_format(tmp_path):
    _write(tmp_path, orders=_orders(order_date=["05/01/2024", "10/02/2024", "20/01/2024", "01/03/2024"]))
    with pytest.raises(DataError, match=r"They all read as date_format: '%d/%m/%Y'"):
        load_data(tmp_path)


def test_date_format_reads_day_first_exports_day_first(tmp_path):
    _write(tmp_path, orders=_orders(order_date=["05/01/2024", "10/02/2024", "12/01/2024", "01/03/2024"]),
           events=_events(event_date=["10/01/2024", "01/02/2024", "15/02/2024"],
                          resolved_date=["01/02/2024", "", ""]),
           mapping="date_format: '%d/%m/%Y'\n")
    book, _ = _load(tmp_path)
    assert book.orders["order_date"].tolist() == pd.to_datetime(
        ["2024-01-05", "2024-02-10", "2024-01-12", "2024-03-01"]).tolist()
    assert book.events["resolved_date"].iloc[0] == pd.Timestamp("2024-02-01")


def test_date_format_per_table(tmp_path):
    _write(tmp_path, orders=_orders(order_date=["05.01.2024", "10.02.2024", "12.01.2024", "01.03.2024"]),
           events=_events(), mapping="date_format:\n  orders: '%d.%m.%Y'\n")
    book, _ = _load(tmp_path)
    assert book.orders["order_date"].iloc[0] == pd.Timestamp("2024-01-05")
    assert book.events["event_date"].iloc[0] == pd.Timestamp("2024-01-10")


def test_mixed_iso_and_day_first_orders_are_an_error_naming_the_rows(tmp_path):
    _write(tmp_path, orders=_orders(order_date=["2024-01-05", "10/02/2024", "2024-01-20", "01/03/2024"]))
    with pytest.raises(DataError,
                       match=r"2 value\(s\) are not ISO dates.*\['10/02/2024', '01/03/2024'\] \(rows 2, 4\)"):
        load_data(tmp_path)


def test_utc_offsets_keep_the_local_date(tmp_path):
    stamps = ["2024-01-05T00:30:00+08:00", "2024-02-10T07:59:59+08:00", "2024-01-20T23:00:00-05:00",
              "2024-03-01T00:00:00Z"]
    _write(tmp_path, orders=_orders(order_date=stamps))
    book, _ = _load(tmp_path)
    assert book.orders["order_date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2024-01-05", "2024-02-10", "2024-01-20", "2024-03-01"]


def test_time_zone_aware_parquet_keeps_the_local_date(tmp_path):
    orders = _orders(amount=[1200.0, 800.0, 5000.0, 300.0])
    orders["order_date"] = pd.to_datetime(orders["order_date"]).dt.tz_localize("Asia/Shanghai")
    orders.to_parquet(tmp_path / "orders.parquet")
    book, _ = _load(tmp_path)
    assert book.orders["order_date"].tolist() == pd.to_datetime(
        ["2024-01-05", "2024-02-10", "2024-01-20", "2024-03-01"]).tolist()


# -- what used to end in a traceback or an unclear message --------------------------------------------------
def test_two_columns_mapped_onto_amount_is_an_error(tmp_path):
    _write(tmp_path, orders=_orders().assign(Betrag=["1", "2", "3", "4"]), mapping="columns:\n  Betrag: amount\n")
    with pytest.raises(DataError, match=r"columns \['Betrag', 'amount'\] all become 'amount'.*Map only one"):
        load_data(tmp_path)


def test_a_repeated_header_is_an_error_not_amount_1(tmp_path):
    (tmp_path / "orders.csv").write_text(
        "account_id,order_date,amount,amount\nA,2024-01-05,1200,1300\nB,2024-01-20,5000,5100\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"the header 'amount' appears 2 times \(columns \[3, 4\]\)"):
        load_data(tmp_path)


def test_a_gbk_mapping_is_a_clear_error_through_the_cli(tmp_path):
    _write(tmp_path, orders=_orders().rename(columns={"account_id": "客户"}))
    (tmp_path / "mapping.yaml").write_bytes("columns:\n  客户: account_id\n".encode("gbk"))
    result = _validate(tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "mapping.yaml: not UTF-8" in result.stderr and "save it as UTF-8" in result.stderr


def test_a_gb18030_csv_is_named_and_the_encoding_setting_reads_it(tmp_path):
    _write(tmp_path, orders=_orders())
    _accounts().to_csv(tmp_path / "accounts.csv", index=False, encoding="gb18030")
    with pytest.raises(DataError, match=r"accounts\.csv: not UTF-8 \(byte 0x.. on line 2\)\. It reads as GB18030.*"
                                        r"encoding: gb18030"):
        load_data(tmp_path)
    (tmp_path / "mapping.yaml").write_text("encoding:\n  accounts: gb18030\n", encoding="utf-8")
    book, _ = _load(tmp_path)
    assert book.accounts.set_index("account_id").loc["B", "name"] == "乙公司"


def test_a_latin1_csv_is_not_mistaken_for_chinese(tmp_path):
    _write(tmp_path, orders=_orders())
    _accounts(name=["Müller GmbH", "Société Générale", "Åre Öl"]).to_csv(tmp_path / "accounts.csv", index=False,
                                                                       encoding="cp1252")
    with pytest.raises(DataError) as info:
        load_data(tmp_path)
    assert "GB18030 (GBK), the usual" not in str(info.value)
    assert "encoding: cp1252" in str(info.value)


@pytest.mark.parametrize("delimiter, setting", [(";", "';'"), ("\t", "tab")])
def test_a_semicolon_or_tab_csv_says_to_set_delimiter_and_the_setting_reads_it(tmp_path, delimiter, setting):
    _orders().to_csv(tmp_path / "orders.csv", index=False, sep=delimiter)
    with pytest.raises(DataError, match=rf"Add  delimiter: {setting}  to mapping\.yaml"):
        load_data(tmp_path)
    (tmp_path / "mapping.yaml").write_text(f"delimiter: {setting}\n", encoding="utf-8")
    book, _ = _load(tmp_path)
    assert book.orders["amount"].sum() == pytest.approx(7300.0)


def test_a_semicolon_csv_through_the_cli(tmp_path):
    _orders().to_csv(tmp_path / "orders.csv", index=False, sep=";")
    result = _validate(tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "Error:" in result.stderr and "delimiter: ';'" in result.stderr and "mapping.yaml" in result.stderr


@pytest.mark.parametrize("content, what", [("", "the file is empty (0 bytes)"),
                                           ("\n\n", "the file has no header row")])
def test_an_empty_file_is_a_clear_error(tmp_path, content, what):
    _write(tmp_path, orders=_orders())
    (tmp_path / "events.csv").write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=rf"events\.csv: {re.escape(what)}"):
        load_data(tmp_path)


def test_a_mapping_key_that_matched_nothing_is_a_warning_naming_it(tmp_path):
    _write(tmp_path, orders=_orders(), events=_events(),
           mapping="columns:\n  orders:\n    Kunde: account_id\nevent_types:\n  Reklamation: complaint\n")
    book, warned = _load(tmp_path)
    assert any("columns.orders maps 'Kunde', which matched no column" in w for w in warned)
    assert any("event_types maps 1 name(s) that no event has: ['Reklamation']" in w for w in warned)
    assert len(book.orders) == 4


# -- what used to be altered in silence -----------------------------------------------------------------------
@pytest.mark.parametrize("column, table", [("amount", "orders"), ("value", "events")])
def test_infinite_amounts_or_values_are_an_error(tmp_path, column, table):
    orders = _orders(amount=["1200", "inf", "5000", "300"]) if table == "orders" else _orders()
    events = _events(value=["4", "-inf", ""]) if table == "events" else None
    _write(tmp_path, orders=orders, events=events)
    with pytest.raises(DataError, match=rf"{table}\.csv, column '{column}': 1 value\(s\) infinite.*\(rows 2\)"):
        load_data(tmp_path)


def test_ids_are_kept_exactly_and_spellings_that_differ_by_spaces_or_case_are_listed(tmp_path):
    orders = _orders(account_id=["A ", "A", "b", "C"])
    _write(tmp_path, orders=orders, accounts=_accounts())
    book, warned = _load(tmp_path)
    assert set(book.orders["account_id"]) == {"A ", "A", "b", "C"}
    assert set(book.account_ids) == {"A ", "A", "B", "b", "C"}
    listed = [w for w in warned if "written in more than one way" in w]
    assert len(listed) == 1 and "2 account id(s)" in listed[0]
    assert "'A' / 'A '" in listed[0] and "'B' / 'b'" in listed[0]


def test_xlsx_and_upper_case_suffixes_are_read(tmp_path):
    _orders().to_csv(tmp_path / "orders.CSV", index=False)
    _accounts().to_excel(tmp_path / "Accounts.xlsx", index=False)
    book, _ = _load(tmp_path)
    assert book.accounts.set_index("account_id").loc["A", "name"] == "甲公司"
    assert book.accounts.set_index("account_id").loc["C", "since"] == pd.Timestamp("2021-07-15")
    assert book.report.rows_in == {"orders": 4, "accounts": 3}


def test_xlsx_ids_and_dates_keep_their_cells(tmp_path):
    orders = pd.DataFrame({"account_id": ["0042", "0042", "7"], "order_date": pd.to_datetime(
        ["2024-01-05", "2024-01-06 09:15", "2024-02-01"], format="ISO8601"), "amount": [1.5, 2.0, 3.0]})
    with pd.ExcelWriter(tmp_path / "orders.xlsx") as writer:
        orders.to_excel(writer, sheet_name="orders", index=False)
        orders.head(1).to_excel(writer, sheet_name="notes", index=False)
    book, warned = _load(tmp_path)
    assert book.orders["account_id"].tolist() == ["0042", "0042", "7"]
    assert book.orders["order_date"].tolist() == pd.to_datetime(["2024-01-05", "2024-01-06", "2024-02-01"]).tolist()
    assert any("read the first sheet 'orders'; the other sheet(s) ['notes'] are not read" in w for w in warned)


@pytest.mark.parametrize("name", ["events.xls", "events.txt", "Events.csv.gz"])
def test_a_table_in_a_format_not_read_is_refused_by_name(tmp_path, name):
    _write(tmp_path, orders=_orders())
    (tmp_path / name).write_text("account_id,event_date,event_type\n", encoding="utf-8")
    with pytest.raises(DataError, match=rf"{name.replace('.', chr(92) + '.')}: kamrisk reads tables as \.parquet, "
                                        r"\.csv or \.xlsx"):
        load_data(tmp_path)


def test_two_files_for_one_table_are_an_error(tmp_path):
    _write(tmp_path, orders=_orders())
    _orders().to_parquet(tmp_path / "orders.parquet")
    with pytest.raises(DataError, match=r"orders\.csv and orders\.parquet all hold the orders table; keep only one"):
        load_data(tmp_path)


# -- a simulated book, written as a hostile export --------------------------------------------------------
@pytest.fixture(scope="module")
def book_tables():
    sim = kamrisk.simulate(accounts=60, months=18, seed=5)
    return {"orders": sim.orders, "events": sim.events, "accounts": sim.accounts}


def test_a_simulated_book_with_open_events_as_9999_loses_no_event_nor_account(tmp_path, book_tables):
    events = book_tables["events"].copy()
    events["resolved_date"] = events["resolved_date"].dt.strftime("%Y-%m-%d").fillna("9999-12-31")
    book_tables["orders"].to_csv(tmp_path / "orders.csv", index=False)
    events.to_csv(tmp_path / "events.csv", index=False)
    book_tables["accounts"].to_csv(tmp_path / "accounts.csv", index=False)
    book, _ = _load(tmp_path)
    assert len(book.events) == len(events) - book.report.rows_dropped.get("events", 0)
    assert book.events["resolved_date"].isna().sum() == int((events["resolved_date"] == "9999-12-31").sum())
    every_id = set(book_tables["orders"]["account_id"]) | set(events["account_id"]) | set(
        book_tables["accounts"]["account_id"])
    assert set(book.account_ids) == every_id


def test_validate_cli_on_a_simulated_book_with_dates_written_three_ways(tmp_path, book_tables):
    events = book_tables["events"].copy()
    dates = events["event_date"]
    events["event_date"] = np.where(np.arange(len(events)) % 2 == 0, dates.dt.strftime("%Y/%m/%d 00:00"),
                                    dates.dt.strftime("%Y-%m-%d"))
    events["resolved_date"] = events["resolved_date"].dt.strftime("%Y-%m-%d").fillna("9999-12-31")
    accounts = book_tables["accounts"].copy()
    accounts["since"] = accounts["since"].dt.strftime("%Y-%m-%d")
    accounts.loc[0, "since"] += " 00:00:00"
    book_tables["orders"].to_csv(tmp_path / "orders.csv", index=False)
    events.to_csv(tmp_path / "events.csv", index=False)
    accounts.to_csv(tmp_path / "accounts.csv", index=False)
    result = _validate(tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"{len(events)} events" in result.stdout and f"accounts {len(accounts)}" in result.stdout
    assert "WARNING" in result.stdout and "placeholders for 'no date'" in result.stdout
