"""The simulated book: realistic, deterministic, and with a ground truth that holds together."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.metrics import roc_auc_score

import kamrisk
from kamrisk._vocabulary import load_vocabulary
from kamrisk.sim import SimulatedBook, top_share

CAUSES = {"procurement_change", "channel_conflict", "strategy_shift", "competitor_pressure", "relationship",
          "contagion", "none"}
COMPLAINTS = ["complaint", "quality_complaint", "price_dispute", "cross_region_selling", "late_delivery",
              "stock_out"]
STRATEGY = ["backward_integration", "private_label", "merger_acquisition", "leadership_change", "contraction"]
START = pd.Timestamp("2023-01-01")
FAMILIES = ["procurement_change", "channel_conflict", "strategy_shift", "competitor_pressure", "relationship",
            "contagion"]


@pytest.fixture(scope="module")
def book() -> SimulatedBook:
    return kamrisk.simulate(accounts=500, months=36, seed=11)


def _frames(book: SimulatedBook) -> dict[str, pd.DataFrame]:
    return {name: getattr(book, name) for name in ("accounts", "orders", "events", "truth", "oracle")}


def test_same_seed_gives_the_same_book_and_another_seed_a_different_one() -> None:
    first = kamrisk.simulate(accounts=150, months=18, seed=3)
    again = kamrisk.simulate(accounts=150, months=18, seed=3)
    other = kamrisk.simulate(accounts=150, months=18, seed=4)
    for name, frame in _frames(first).items():
        pd.testing.assert_frame_equal(frame, _frames(again)[name])
    assert not first.orders.equals(other.orders)
    assert not first.truth.equals(other.truth)


def test_tables_follow_the_data_contract(book: SimulatedBook) -> None:
    accounts, orders, events = book.accounts, book.orders, book.events
    assert list(accounts.columns) == ["account_id", "name", "segment", "region", "channel", "tier", "since", "owner"]
    assert list(orders.columns) == ["account_id", "order_date", "amount", "order_id", "quantity", "product",
                                    "category"]
    assert list(events.columns) == ["account_id", "event_date", "event_type", "value", "resolved_date", "level",
                                    "note"]
    assert accounts["account_id"].str.fullmatch(r"KA\d{5}").all() and accounts["account_id"].is_unique
    assert accounts["name"].is_unique
    assert set(accounts["channel"]) == {"distributor", "dealer", "retail_chain", "direct"}
    assert set(accounts["tier"]) == {"strategic", "key", "standard"}
    assert (accounts["since"] < START).mean() > 0.9
    assert 25 <= len(accounts) / accounts["owner"].nunique() <= 40
    assert pd.api.types.is_datetime64_any_dtype(orders["order_date"])
    assert 0.005 < (orders["amount"] < 0).mean() < 0.06  # returns and cancellations
    vocabulary = set(load_vocabulary())
    assert set(events["event_type"]) <= vocabulary
    assert len(set(events["event_type"])) >= len(vocabulary) - 2  # all but the rarest strategy shifts occur
    visits = events[events["event_type"] == "visit"]
    assert set(visits["level"]) == {"executive", "manager", "operational"}
    assert (visits["level"] == "executive").mean() < 0.3
    surveys = events.loc[events["event_type"] == "satisfaction_survey", "value"]
    assert surveys.between(1, 5).all() and surveys.nunique() == 5
    conflicts = events[events["event_type"].isin(COMPLAINTS)]
    assert 0.0 < conflicts["resolved_date"].isna().mean() < 0.3
    assert (conflicts["resolved_date"].dropna() > conflicts.loc[conflicts["resolved_date"].notna(), "event_date"]).all()
    assert events.loc[~events["event_type"].isin(COMPLAINTS), "resolved_date"].isna().all()
    data = book.to_account_data()  # a clean book loads without a single warning
    assert len(data.accounts) == len(accounts)


def test_revenue_is_concentrated_in_the_top_fifth(book: SimulatedBook) -> None:
    assert 0.7 <= top_share(book.orders) <= 0.9


def test_accounts_have_their_own_rhythm_and_product_lines(book: SimulatedBook) -> None:
    positive = book.orders[book.orders["amount"] > 0]
    per_order = positive.drop_duplicates("order_id").sort_values("order_date")
    gaps = per_order.groupby("account_id")["order_date"].diff().dt.days.groupby(per_order["account_id"]).median()
    assert gaps.min() <= 10 and gaps.max() >= 60  # weekly to quarterly
    lines = positive.groupby("account_id")["category"].nunique()
    assert lines.min() >= 1 and lines.max() <= 8 and lines.nunique() >= 5


def test_stock_outs_and_late_deliveries_come_in_the_peak_season(book: SimulatedBook) -> None:
    peak = {"industrial": 10, "retail": 12, "foodservice": 7, "healthcare": 1, "construction": 6}
    events = book.events.merge(book.accounts[["account_id", "segment"]], on="account_id")
    supply = events[events["event_type"].isin(["stock_out", "late_delivery"])]
    distance = (supply["event_date"].dt.month - supply["segment"].map(peak)) % 12
    distance = np.minimum(distance, 12 - distance)
    in_peak, off_peak = (distance <= 1).sum() / 3, (distance >= 4).sum() / 5  # per month of each band
    assert in_peak > 1.5 * off_peak


def _snapshots(book: SimulatedBook, horizon: int = 180) -> pd.DataFrame:
    """Per month start and account not yet visibly gone: the signs on record and the label."""
    accounts, events = book.accounts, book.events
    visible = book.truth.set_index("account_id")["visible_on"]
    end = book.orders["order_date"].max()
    rows = []
    for as_of in pd.date_range(START + pd.DateOffset(months=3), end - pd.Timedelta(days=horizon), freq="MS"):
        snap = accounts[["account_id", "segment", "region", "since"]].copy()
        snap["visible_on"] = snap["account_id"].map(visible)
        snap = snap[(snap["since"] < as_of) & ~(snap["visible_on"] < as_of)].copy()
        snap["defects"] = snap["visible_on"].between(as_of, as_of + pd.Timedelta(days=horizon - 1))
        past = events[events["event_date"] < as_of]
        since = {d: as_of - pd.Timedelta(days=d) for d in (90, 180, 365)}

        def seen(mask: pd.Series, snap: pd.DataFrame = snap, past: pd.DataFrame = past) -> pd.Series:
            return snap["account_id"].isin(past.loc[mask, "account_id"])

        kind = past["event_type"]
        snap["channel_conflict"] = seen(kind.isin(COMPLAINTS) & ~(past["resolved_date"] < as_of))
        snap["procurement_change"] = seen(kind.isin(["retender_notice", "purchasing_model_change"])
                                          & (past["event_date"] >= since[180]))
        snap["strategy_shift"] = seen(kind.isin(STRATEGY) & (past["event_date"] >= since[365]))
        snap["competitor_pressure"] = seen((kind == "competitor_offer") & (past["event_date"] >= since[90]))
        score = past[kind == "satisfaction_survey"].sort_values("event_date").groupby("account_id")["value"].last()
        visited = seen((kind == "visit") & (past["event_date"] >= since[180]))
        snap["relationship"] = (snap["account_id"].map(score) <= 2) | (~visited & (since[180] >= START))
        key = pd.MultiIndex.from_frame(snap[["segment", "region"]])
        for days in (90, 180):
            gone = accounts.assign(recent=accounts["account_id"].map(visible).between(since[days], as_of,
                                                                                      inclusive="left"))
            peers = gone.groupby(["segment", "region"])["recent"].agg(["sum", "size"])
            snap[f"peers_gone_{days}d"] = (peers["sum"].reindex(key).to_numpy()
                                          / (peers["size"].reindex(key).to_numpy() - 1))
        snap["contagion"] = snap["peers_gone_90d"] >= 0.1
        snap["as_of"] = as_of
        rows.append(snap)
    return pd.concat(rows, ignore_index=True)


def test_every_sign_family_raises_the_defection_rate(book: SimulatedBook) -> None:
    # two books, as a peer wave is a rare, clustered event in a book of 500
    snapshots = pd.concat([_snapshots(book), _snapshots(kamrisk.simulate(accounts=500, months=36, seed=12))])
    for family in ("channel_conflict", "procurement_change", "strategy_shift", "competitor_pressure",
                   "relationship", "contagion"):
        flagged = snapshots[family]
        assert flagged.sum() >= 100, family
        with_sign, without = snapshots.loc[flagged, "defects"].mean(), snapshots.loc[~flagged, "defects"].mean()
        assert with_sign > 1.25 * without, (family, with_sign, without)


def test_truth_holds_together(book: SimulatedBook) -> None:
    truth, orders = book.truth, book.orders
    assert set(truth["account_id"]) <= set(book.accounts["account_id"])
    assert truth["account_id"].is_unique  # an account defects at most once
    assert (truth["visible_on"] > truth["decided_on"]).all()
    assert truth["decided_on"].between(START, orders["order_date"].max()).all()
    assert set(truth["kind"]) == {"full", "partial"} and set(truth["cause"]) <= CAUSES
    assert 0.15 <= len(truth) / len(book.accounts) <= 0.5
    assert 0.55 <= (truth["kind"] == "full").mean() <= 0.85
    assert 0.05 <= truth["abrupt"].mean() <= 0.25
    assert (truth.loc[truth["abrupt"], "transition_days"] < 30).all()
    assert truth.loc[~truth["abrupt"], "transition_days"].between(30, 180).all()
    # the cause is the largest term of the hazard at the decision
    terms = ["base", "procurement_change", "channel_conflict", "strategy_shift", "competitor_pressure",
             "relationship", "contagion"]
    largest = truth[[f"hazard_{t}" for t in terms]].to_numpy().argmax(axis=1)
    assert (np.asarray(terms)[largest] == truth["cause"].replace("none", "base")).all()
    # a full defector orders nothing from the day its defection is visible
    full = truth[truth["kind"] == "full"].set_index("account_id")["visible_on"]
    later = orders["order_date"] >= orders["account_id"].map(full)
    assert not later.any()
    assert orders["account_id"].map(full).notna().any()
    # a partial defector keeps buying, at a lower level
    partial = truth[(truth["kind"] == "partial") & (truth["visible_on"] < orders["order_date"].max()
                                                    - pd.Timedelta(days=90))]
    merged = orders.merge(partial, on="account_id")
    before = merged[merged["order_date"] < merged["decided_on"]].groupby("account_id")["amount"].sum() / (
        (partial.set_index("account_id")["decided_on"] - START).dt.days.clip(lower=30))
    after = merged[merged["order_date"] >= merged["visible_on"]].groupby("account_id")["amount"].sum() / (
        (orders["order_date"].max() - partial.set_index("account_id")["visible_on"]).dt.days)
    assert (after.reindex(before.index).fillna(0.0) / before).median() < 0.7


def test_oracle_knows_who_is_about_to_defect(book: SimulatedBook) -> None:
    oracle, truth = book.oracle, book.truth
    assert list(oracle.columns) == ["account_id", "as_of", "p_visible_90d", "p_visible_180d", "p_decide_90d",
                                    "p_decide_180d", *(f"hazard_{f}" for f in FAMILIES), "oracle_cause"]
    assert len(oracle) == 36 * len(book.accounts)
    assert (oracle["as_of"].dt.day == 1).all()
    frame = oracle.merge(truth[["account_id", "visible_on"]], on="account_id", how="left").merge(
        book.accounts[["account_id", "since"]], on="account_id")
    gone = (frame["visible_on"] < frame["as_of"]) | (frame["since"] > frame["as_of"])
    assert (frame["p_visible_180d"].isna() == gone).all()  # NaN exactly where documented
    frame = frame[~gone]
    assert frame["p_visible_180d"].between(0, 1).all()
    assert (frame["p_visible_90d"] <= frame["p_visible_180d"] + 1e-12).all()
    soon = (frame["visible_on"] - frame["as_of"]).dt.days.between(0, 179)
    assert frame.loc[soon, "p_visible_180d"].mean() > 3 * frame.loc[~soon, "p_visible_180d"].mean()
    assert roc_auc_score(soon, frame["p_visible_180d"]) > 0.75
    # calibrated in the large, where the labels are complete
    complete = frame["as_of"] <= book.orders["order_date"].max() - pd.Timedelta(days=180)
    assert frame.loc[complete, "p_visible_180d"].mean() == pytest.approx(soon[complete].mean(), rel=0.35)


def _digest(frame: pd.DataFrame) -> str:
    return hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()).hexdigest()[:16]


def test_the_book_of_a_seed_stays_the_same_across_versions() -> None:
    # digests taken before the oracle grew p_decide_* and hazard_*: the oracle must only read the book,
    # never draw from its random streams, so figures measured on a seed's book stay comparable
    book = kamrisk.simulate(accounts=300, months=24, seed=3)
    assert {name: _digest(getattr(book, name)) for name in ("accounts", "orders", "events", "truth")} == {
        "accounts": "b63374e51b7c3ca0", "orders": "e7109d885c734bc8", "events": "d643977cf64e5bd4",
        "truth": "c532eb59547c8665"}
    assert _digest(book.oracle[["account_id", "as_of", "p_visible_90d", "p_visible_180d"]]) == "3bfd980eae92b755"


@pytest.fixture(scope="module")
def oracle_view() -> pd.DataFrame:
    """The oracle of a 1,000-account book beside each account's decision, on rows where it has a view."""
    book = kamrisk.simulate(accounts=1000, months=36, seed=3)
    frame = book.oracle.merge(book.truth[["account_id", "decided_on", "visible_on", "cause"]], on="account_id",
                              how="left")
    return frame[frame["p_visible_180d"].notna()]


def test_oracle_decides_before_defections_show(oracle_view: pd.DataFrame) -> None:
    frame = oracle_view
    undecided = ~(frame["decided_on"] < frame["as_of"])
    for h in (90, 180):
        # a defection shows only after the decision: deciding is at least as likely as showing
        assert (frame.loc[undecided, f"p_decide_{h}d"] >= frame.loc[undecided, f"p_visible_{h}d"]).all()
        assert (frame.loc[~undecided, f"p_decide_{h}d"] == 0.0).all()  # an account decides once
        assert frame[f"p_decide_{h}d"].between(0, 1).all()
    assert (frame["p_decide_90d"] <= frame["p_decide_180d"]).all()
    # it ranks the accounts that will decide among those that have not yet
    rows = frame[undecided & (frame["as_of"] <= frame["as_of"].max() - pd.DateOffset(months=6))]
    soon = (rows["decided_on"] - rows["as_of"]).dt.days.between(0, 179)
    assert roc_auc_score(soon, rows["p_decide_180d"]) > 0.7
    assert rows["p_decide_180d"].mean() == pytest.approx(soon.mean(), rel=0.35)


def test_oracle_cause_is_the_largest_family_and_names_the_planted_cause(oracle_view: pd.DataFrame) -> None:
    frame = oracle_view
    hazards = frame[[f"hazard_{f}" for f in FAMILIES]]
    assert hazards.notna().all().all() and (hazards >= 0).all().all()
    assert (frame["oracle_cause"] == np.asarray(FAMILIES)[hazards.to_numpy().argmax(axis=1)]).all()
    # among accounts deciding in the next 90 days for a planted reason, the oracle's cause is mostly right:
    # far above the ~1 in 5 of the commonest cause
    deciding = (frame["decided_on"] - frame["as_of"]).dt.days.between(0, 89) & (frame["cause"] != "none")
    rows = frame[deciding]
    assert len(rows) > 300
    agreement = (rows["oracle_cause"] == rows["cause"]).mean()
    commonest = rows["cause"].value_counts(normalize=True).iloc[0]
    assert agreement > 2.5 * commonest, (agreement, commonest)


def test_messy_book_loads_with_warnings(tmp_path) -> None:
    book = kamrisk.simulate(accounts=300, months=24, seed=5, messy=True, out=tmp_path)
    mapping = yaml.safe_load((tmp_path / "mapping.yaml").read_text(encoding="utf-8"))
    assert mapping == book.mapping
    assert mapping["columns"]["orders"]["customer"] == "account_id"
    own = {k: v for k, v in mapping["event_types"].items() if v != "ignore"}
    assert own and set(own.values()) <= set(load_vocabulary())
    assert set(own) & set(book.events["activity"])
    assert "account_id" not in book.orders.columns
    with pytest.warns(kamrisk.DataWarning) as caught:
        data = kamrisk.load_data(tmp_path)
    messages = " ".join(str(w.message) for w in caught)
    assert "duplicate" in messages and "not in accounts" in messages
    assert set(data.events["event_type"]) <= set(load_vocabulary())
    assert len(data.accounts) == 300 > len(book.accounts)
    assert data.report.rows_dropped["orders"] > 0
    with pytest.warns(kamrisk.DataWarning):
        in_memory = book.to_account_data()
    assert len(in_memory.orders) == len(data.orders)


def test_write_and_summary(tmp_path) -> None:
    book = kamrisk.simulate(accounts=60, months=13, seed=2)
    book.write(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "accounts.parquet", "events.parquet", "oracle.parquet", "orders.parquet", "truth.parquet"]
    assert book.mapping is None
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "truth.parquet"), book.truth, check_dtype=False)
    again = SimulatedBook.read(tmp_path)
    for name, frame in _frames(book).items():
        pd.testing.assert_frame_equal(getattr(again, name), frame, check_dtype=False)
    (tmp_path / "oracle.parquet").unlink()
    with pytest.raises(FileNotFoundError, match="oracle.parquet is missing"):
        SimulatedBook.read(tmp_path)
    line = book.summary()
    assert "\n" not in line and line.startswith("60 accounts") and "defections" in line and "top 20%" in line


def test_command_line_writes_a_book(tmp_path, capsys) -> None:
    from kamrisk._cli import main

    main(["simulate", "--out", str(tmp_path), "--accounts", "40", "--months", "13", "--seed", "1", "--messy"])
    assert "Wrote a simulated book" in capsys.readouterr().out
    assert (tmp_path / "mapping.yaml").is_file() and (tmp_path / "orders.parquet").is_file()


@pytest.mark.parametrize(("arguments", "message"), [
    ({"accounts": 5}, "accounts must be at least 10"),
    ({"months": 0}, "months must be at least 1"),
    ({"start": "not a date"}, "start must be a date"),
])
def test_bad_arguments_are_named(arguments: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        kamrisk.simulate(**arguments)
