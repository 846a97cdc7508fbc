"""The data contract: every validation case gives a clear error or a counted warning."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

import kamrisk
from kamrisk import AccountData, DataError, DataWarning, load_data


def _orders(**overrides):
    frame = pd.DataFrame(
        {
            "account_id": ["A", "A", "B", "C"],
            "order_date": ["2024-01-05", "2024-02-10", "2024-01-20", "2024-03-01"],
            "amount": [1200.0, 800.0, 5000.0, 300.0],
        }
    )
    return frame.assign(**overrides)


def _events(**overrides):
    frame = pd.DataFrame(
        {
            "account_id": ["A", "B"],
            "event_date": ["2024-01-10", "2024-02-01"],
            "event_type": ["complaint", "visit"],
            "resolved_date": ["2024-02-01", None],
            "level": [None, "executive"],
        }
    )
    return frame.assign(**overrides)


def _accounts():
    return pd.DataFrame({"account_id": ["A", "B", "C"], "segment": ["retail", "industrial", "retail"]})


def test_valid_book_is_typed_and_complete():
    book = AccountData(orders=_orders(), events=_events(), accounts=_accounts())
    assert book.orders["order_date"].dtype == "datetime64[ns]"
    assert book.orders["amount"].dtype == "float64"
    assert book.events["resolved_date"].isna().tolist() == [False, True]
    assert book.account_ids.tolist() == ["A", "B", "C"]
    assert book.report.ok and not book.report.problems
    assert book.end == pd.Timestamp("2024-03-02")


def test_missing_required_column_names_table_and_column():
    with pytest.raises(DataError, match=r"orders.*required column\(s\) \['amount'\] missing"):
        AccountData(orders=_orders().drop(columns="amount"))


def test_every_error_is_reported_at_once():
    orders = _orders(order_date=["2024-01-05", "soon", "2024-01-20", "2024-03-01"],
                     amount=["1200", "800", "a lot", "300"])
    with pytest.raises(DataError) as info:
        AccountData(orders=orders)
    message = str(info.value)
    assert "2 error(s)" in message
    assert "column 'order_date': 1 value(s) not a date, e.g. ['soon'] (rows 2) (accounts A)" in message
    assert "column 'amount': 1 value(s) not a number, e.g. ['a lot'] (rows 3) (accounts B)" in message


def test_unparseable_event_date_names_rows_and_accounts():
    events = _events(event_date=["2024-01-10", "31/31/2024"])
    with pytest.raises(DataError, match=r"events, column 'event_date'.*\(rows 2\) \(accounts B\)"):
        AccountData(orders=_orders(), events=events)


def test_missing_account_id_is_an_error():
    with pytest.raises(DataError, match=r"1 row\(s\) without an account_id \(rows 3\)"):
        AccountData(orders=_orders(account_id=["A", "A", None, "C"]))


def test_empty_orders_is_an_error():
    with pytest.raises(DataError, match="orders table is empty"):
        AccountData(orders=_orders().iloc[:0])


def test_duplicates_warn_keep_one_and_are_counted():
    orders = pd.concat([_orders(), _orders().iloc[[1, 1]]], ignore_index=True)
    with pytest.warns(DataWarning, match=r"2 exact duplicate row\(s\); one copy of each kept"):
        book = AccountData(orders=orders)
    assert len(book.orders) == 4
    assert book.report.rows_in["orders"] == 6 and book.report.rows_dropped["orders"] == 2


def test_dates_after_the_data_end_warn_and_are_kept():
    events = _events(event_date=["2024-01-10", "2024-05-01"])
    with pytest.warns(DataWarning, match=r"event_date.*1 date\(s\) after the data's end .*2024-03-01"):
        book = AccountData(orders=_orders(), events=events)
    assert len(book.events) == 2


def test_unknown_event_types_are_listed_with_counts():
    events = _events(event_type=["newsletter", "newsletter"])
    with pytest.raises(DataError, match=r"2 event\(s\) of unknown type: 'newsletter' \(2\)\. Map each"):
        AccountData(orders=_orders(), events=events)


def test_mapping_translates_columns_and_event_names_and_ignores_explicitly():
    orders = _orders().rename(columns={"account_id": "Kunde", "amount": "Betrag"})
    events = _events(event_type=["Reklamation", "Newsletter"])
    mapping = {
        "columns": {"orders": {"Kunde": "account_id", "Betrag": "amount"}},
        "event_types": {"Reklamation": "complaint", "Newsletter": "ignore"},
    }
    book = AccountData(orders=orders, events=events, mapping=mapping)
    assert book.events["event_type"].tolist() == ["complaint"]
    assert book.report.rows_dropped["events"] == 1
    assert any("mapped to 'ignore' dropped" in str(p) for p in book.report.problems)


def test_mapping_to_unknown_canonical_name_is_an_error():
    with pytest.raises(DataError, match=r"maps to unknown canonical event types \{'Reklamation': 'moan'\}"):
        AccountData(orders=_orders(), events=_events(event_type=["Reklamation", "visit"]),
                    mapping={"event_types": {"Reklamation": "moan"}})


def test_accounts_absent_from_accounts_table_warn_and_are_carried():
    events = _events(account_id=["A", "Z"])
    with pytest.warns(DataWarning, match=r"2 account\(s\) have orders or events but are not in accounts"):
        book = AccountData(orders=_orders(), events=events, accounts=_accounts().iloc[:2])
    assert book.account_ids.tolist() == ["A", "B", "C", "Z"]
    assert book.accounts.set_index("account_id").loc["Z", "segment"] != book.accounts.set_index(
        "account_id").loc["Z", "segment"]  # NaN: unknown, not invented


def test_accounts_only_in_events_are_carried_without_accounts_table():
    book = AccountData(orders=_orders(), events=_events(account_id=["A", "Q"]))
    assert "Q" in book.account_ids


def test_load_data_reads_csv_and_parquet_and_mapping(tmp_path):
    _orders().rename(columns={"account_id": "customer"}).to_csv(tmp_path / "orders.csv", index=False)
    _events(event_type=["招标通知", "visit"]).to_parquet(tmp_path / "events.parquet")
    (tmp_path / "mapping.yaml").write_text(
        "columns:\n  orders:\n    customer: account_id\nevent_types:\n  招标通知: retender_notice\n",
        encoding="utf-8",
    )
    book = load_data(tmp_path)
    assert book.events["event_type"].tolist() == ["retender_notice", "visit"]
    assert book.orders["amount"].sum() == pytest.approx(7300.0)


def test_load_data_names_the_file_in_errors(tmp_path):
    _orders(amount=["1", "2", "three", "4"]).to_csv(tmp_path / "orders.csv", index=False)
    with pytest.raises(DataError, match=r"orders\.csv, column 'amount'"):
        load_data(tmp_path)


def test_load_data_without_orders_or_folder(tmp_path):
    with pytest.raises(DataError, match="no orders.parquet or orders.csv"):
        load_data(tmp_path)
    with pytest.raises(DataError, match="no such data folder"):
        load_data(tmp_path / "nope")


def test_report_frame_lists_every_problem():
    orders = pd.concat([_orders(), _orders().iloc[[0]]], ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        book = AccountData(orders=orders, events=_events(account_id=["A", "Z"]), accounts=_accounts())
    frame = book.report.to_frame()
    assert frame["severity"].tolist() == ["warning", "warning"]
    assert set(frame["table"]) == {"orders", "accounts"}


def test_public_names_are_exported():
    for name in ("AccountData", "load_data", "DataError", "DataWarning", "KamriskError"):
        assert name in kamrisk.__all__ and getattr(kamrisk, name) is not None


@pytest.mark.parametrize(
    "mapping, message",
    [
        ({"encoding": "klingon"}, r"encoding 'klingon' is not an encoding Python knows"),
        ({"delimiter": ";;"}, r"delimiter ';;' must be one character"),
        ({"date_format": "DD/MM/YYYY"}, r"date_format 'DD/MM/YYYY' has no %-codes"),
        ({"date_format": {"order": "%d/%m/%Y"}}, r"'date_format' must be a text, or one text per table"),
        ({"columns": {"order": {"Kunde": "account_id"}}}, r"\['order'\] does not fit\. Tables are"),
        ({"colums": {}}, r"unknown section\(s\) \['colums'\]"),
    ],
)
def test_mapping_settings_are_checked(mapping, message):
    with pytest.raises(DataError, match=message):
        AccountData(orders=_orders(), mapping=mapping)


def test_a_column_mapped_onto_an_existing_canonical_column_is_an_error_per_table():
    orders = _orders(Umsatz=[1.0, 2.0, 3.0, 4.0])
    with pytest.raises(DataError, match=r"orders, column 'amount': columns \['Umsatz', 'amount'\] all become 'amount'"):
        AccountData(orders=orders, mapping={"columns": {"orders": {"Umsatz": "amount"}}})


def test_report_counts_notes_for_times_dropped():
    book = AccountData(orders=_orders(order_date=["2024-01-05 08:00", "2024-02-10", "2024-01-20", "2024-03-01"]))
    notes = [p for p in book.report.problems if p.severity == "info"]
    assert len(notes) == 1 and notes[0].count == 1 and notes[0].rows == (1,)
    assert "INFO: orders, column 'order_date': 1 value(s) carry a time of day" in str(book.report)


def test_rows_alike_but_for_a_text_cell_are_not_duplicates():
    orders = pd.DataFrame({"account_id": [" A", " A", " A", "B"], "order_date": ["2024-01-05"] * 4,
                           "amount": [100.0, 100.0, 100.0, 100.0], "product": ["P1", "P2", "P1", "P1"]}, dtype=object)
    orders = orders.astype({"account_id": "str", "order_date": "str", "product": "str", "amount": float})
    with pytest.warns(DataWarning, match=r"1 exact duplicate row\(s\); one copy of each kept \(rows 3\)"):
        book = AccountData(orders=orders)
    assert book.orders["product"].tolist() == ["P1", "P2", "P1"]
    assert book.orders["account_id"].tolist() == [" A", " A", "B"]  # ids exactly as given, spaces kept
    assert book.orders["account_id"].dtype == object
