"""Batch scoring: no account lost, the model and the data must agree, drift is flagged, every format."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kamrisk import AccountData, DataWarning, ModelError, OptionError, score
from kamrisk._score import DriftWarning, population_stability, write_scores

AS_OF = "2025-12-01"


@pytest.fixture(scope="module")
def model(trained):
    """The TrainedModel: what scoring takes, with its catalog, recipe and training sample."""
    return trained.trained


@pytest.fixture(scope="module")
def scored(sim_data, model):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DriftWarning)
        return score(sim_data, model, as_of=AS_OF, reasons="all")


def test_every_account_comes_out_scored_or_with_a_reason(scored, sim_data):
    scores = scored.scores
    assert sorted(scores["account_id"]) == sorted(sim_data.account_ids)
    assert set(scores["status"]) == {"scored", "unscorable"}
    unscorable = scores[scores["status"] == "unscorable"]
    assert (unscorable["status_reason"] != "").all() and unscorable["risk"].isna().all()
    assert unscorable["status_reason"].str.match(r"no orders in the last 365 days|already defected: no order for "
                                                 r"\d+ days|no orders before as_of").all()
    scored_rows = scores[scores["status"] == "scored"]
    assert scored_rows["risk"].between(0, 1).all() and scored_rows["band"].isin(["high", "medium", "low"]).all()


def test_columns_and_order(scored):
    scores = scored.scores
    for column in ("account_id", "as_of", "status", "status_reason", "risk", "band", "revenue_12m", "revenue_at_risk",
                   "reason_1", "reason_2", "reason_3", "reason_family_1", "cause_family", "action",
                   "contrib_channel_conflict", "whatif_channel_conflict", "name", "owner", "segment"):
        assert column in scores, column
    # the account team's reading order: warnings first, then declining, healthy, lapsed; revenue at risk within
    rank = scores["stage"].map({"warning": 0, "declining": 1, "healthy": 2, "lapsed": 3, "": 4})
    assert rank.notna().all() and rank.is_monotonic_increasing
    for _, group in scores.groupby(rank):
        at_risk = group["revenue_at_risk"].to_numpy()
        scored_part = at_risk[~np.isnan(at_risk)]
        assert (np.diff(scored_part) <= 0).all()  # sorted by revenue at risk within a stage
        assert np.isnan(at_risk[len(scored_part):]).all()  # unscorable rows last
    rows = scores[scores["status"] == "scored"]
    np.testing.assert_allclose(rows["revenue_at_risk"], rows["risk"] * rows["revenue_12m"])


def test_reasons_only_where_asked(sim_data, model):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DriftWarning)
        at_risk = score(sim_data, model, as_of=AS_OF, reasons="at_risk").scores
        none = score(sim_data, model, as_of=AS_OF, reasons="none").scores
    low = at_risk[at_risk["band"] == "low"]
    assert (low["reason_1"] == "").all() and low["contrib_shrinking_orders"].isna().all()
    assert (none["reason_1"] == "").all()
    np.testing.assert_allclose(none.sort_values("account_id")["risk"], at_risk.sort_values("account_id")["risk"])


def test_catalog_mismatch_is_refused(sim_data, model):
    other = copy.deepcopy(model)
    other.model.catalog_hash_ = "0000000000000000"
    with pytest.raises(ModelError, match="trained on features of sign catalog 0000000000000000"):
        score(sim_data, other, as_of=AS_OF)


def test_feature_column_mismatch_is_a_diff(sim_data, model):
    other = copy.deepcopy(model)
    other.model.feature_names_in_ = np.append(other.model.feature_names_in_, "orders_trend_90d")
    with pytest.raises(ModelError, match=r"missing \['orders_trend_90d'\]; unexpected \[\]"):
        score(sim_data, other, as_of=AS_OF)


def test_every_row_has_its_stage(scored, sim_data, model):
    scores = scored.scores
    scored_rows = scores[scores["status"] == "scored"]
    assert set(scored_rows["stage"]) <= {"warning", "declining", "healthy"}
    assert (scores.loc[scores["status_reason"].str.startswith(("already defected", "no orders in")), "stage"]
            == "lapsed").all()
    warn = scored_rows["band"].isin(["high", "medium"])
    assert (scored_rows.loc[scored_rows["stage"] == "warning", "band"].isin(["high", "medium"])).all()
    assert (scored_rows.loc[~warn, "stage"] != "warning").all()
    # declining is read from orders alone: the last 90 days below 60% of the yearly pace
    from kamrisk import build_features

    X = build_features(sim_data, [AS_OF], catalog=model.catalog).reset_index()
    merged = scored_rows.assign(as_of=pd.to_datetime(scored_rows["as_of"])).merge(X, on=["account_id", "as_of"])
    fell = merged["revenue_90d_y" if "revenue_90d_y" in merged else "revenue_90d"] < \
        0.6 * merged["revenue_365d"] * 90 / 365
    assert ((merged["stage"] == "declining") == fell).all() and fell.any() and (~fell).any()


def test_scores_say_which_model_and_question(scored, model):
    scores = scored.scores
    assert (scores["model_version"] == "unregistered").all()  # an in-memory model, never tracked
    assert (scores["horizon_days"] == model.recipe.horizon_days).all() and model.recipe.horizon_days == 180
    assert (scores["label_kind"] == "full").all()


@pytest.mark.parametrize(("as_of", "message"), [
    ("01/12/2025", "ambiguous between day-first and month-first"),
    ("2025-12-01 13:00", "must be an ISO date"),
    (pd.Timestamp("2025-12-01 13:00"), "without a time of day"),
    ([], "give at least one date"),
])
def test_as_of_must_be_a_clear_day(sim_data, model, as_of, message):
    with pytest.raises(OptionError, match=message):
        score(sim_data, model, as_of=as_of)


def test_the_same_as_of_twice_scores_once(sim_data, model):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DriftWarning)
        twice = score(sim_data, model, as_of=[AS_OF, AS_OF], reasons="none").scores
    assert len(twice) == len(sim_data.account_ids)


def test_new_category_levels_are_refused_unless_allowed(sim_data, model):
    accounts = sim_data.accounts.copy()
    accounts.loc[accounts.index[:3], "segment"] = "mining"
    data = AccountData(orders=sim_data.orders, events=sim_data.events, accounts=accounts)
    with pytest.raises(ModelError, match=r"Category levels the model never saw: \{'segment': \['mining'\]\}"):
        score(data, model, as_of=AS_OF)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DriftWarning)
        result = score(data, model, as_of=AS_OF, allow_new_levels=True)
    assert len(result.scores) == len(sim_data.account_ids)


def test_drift_is_flagged(sim_data, model):
    orders = sim_data.orders.assign(amount=sim_data.orders["amount"] * 25)
    data = AccountData(orders=orders, events=sim_data.events, accounts=sim_data.accounts)
    with pytest.warns(DriftWarning, match=r"drifted from the training data \(PSI > 0.2\): .*revenue_"):
        result = score(data, model, as_of=AS_OF)
    assert result.drifted["feature"].str.startswith("revenue_").any()


def test_population_stability_is_zero_for_the_same_data_and_large_for_a_shift():
    rng = np.random.default_rng(0)
    a = pd.DataFrame({"x": rng.normal(size=5000)})
    assert population_stability(a, a)["psi"].iloc[0] < 1e-9
    assert population_stability(a, a + 2)["psi"].iloc[0] > 1.0


def test_scoring_a_month_the_model_trained_on_raises_no_drift_warning(sim_data, model):
    trained_months = model.training_sample.index.get_level_values("as_of").unique()
    as_of = sorted(trained_months)[len(trained_months) // 2]
    with warnings.catch_warnings():
        warnings.simplefilter("error", DriftWarning)  # the suite's warnings-as-errors, said explicitly
        result = score(sim_data, model, as_of=as_of, reasons="none")
    assert result.drifted.empty
    peers = result.drift[result.drift["feature"].str.startswith("peer_")]
    assert len(peers) == 4 and (peers["psi"] < 0.1).all()


def test_peer_features_are_compared_month_for_month():
    """A peer share is one value per group and month: one month against the pool of six months is not a
    shift; a month whose shares exceed every training month's is."""
    rng = np.random.default_rng(0)
    months = pd.date_range("2025-01-01", periods=6, freq="MS")
    index = pd.MultiIndex.from_product([[f"A{i}" for i in range(300)], months], names=["account_id", "as_of"])
    group = rng.integers(0, 5, len(index))
    month = index.get_level_values("as_of").month.to_numpy()
    train = pd.DataFrame({"peer": (group * 0.02 + month * 0.01).astype(float)}, index=index)
    one_month = train[index.get_level_values("as_of") == months[2]]
    assert population_stability(train, one_month)["psi"].iloc[0] > 0.2  # pooled: a false alarm
    assert population_stability(train, one_month, by_as_of=["peer"])["psi"].iloc[0] < 0.01
    shifted = one_month + 0.5
    assert population_stability(train, shifted, by_as_of=["peer"])["psi"].iloc[0] > 1.0


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".xlsx"])
def test_each_output_format(scored, tmp_path, suffix):
    scores = scored.scores.copy()
    scores.loc[0, "name"] = "=HYPERLINK(\"http://evil\")"
    path = write_scores(scores, tmp_path / f"scores{suffix}")
    back = {".parquet": pd.read_parquet, ".csv": pd.read_csv, ".xlsx": pd.read_excel}[suffix](path)
    assert len(back) == len(scores) and list(back.columns) == list(scores.columns)
    # csv quotes formula-like text; xlsx keeps it as written in a string cell with Excel's quote prefix
    expected_name = "'" + scores.loc[0, "name"] if suffix == ".csv" else scores.loc[0, "name"]
    assert back.loc[0, "name"] == expected_name


@st.composite
def books(draw):
    n_accounts = draw(st.integers(1, 12))
    ids = [f"K{i}" for i in range(n_accounts)]
    n_orders = draw(st.integers(1, 40))
    account = draw(st.lists(st.sampled_from(ids), min_size=n_orders, max_size=n_orders))
    days = draw(st.lists(st.integers(0, 900), min_size=n_orders, max_size=n_orders))
    amounts = draw(st.lists(st.floats(-500, 50_000, allow_nan=False), min_size=n_orders, max_size=n_orders))
    orders = pd.DataFrame({"account_id": account,
                           "order_date": pd.Timestamp("2023-06-01") + pd.to_timedelta(days, unit="D"),
                           "amount": amounts})
    listed = draw(st.lists(st.sampled_from(ids + ["ghost"]), unique=True, max_size=n_accounts + 1))
    accounts = pd.DataFrame({"account_id": listed, "segment": "retail", "region": "east", "channel": "dealer"})
    return orders, accounts


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(book=books(), as_of_days=st.integers(0, 1000))
def test_no_account_is_lost_on_any_book(model, book, as_of_days):
    orders, accounts = book
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        warnings.simplefilter("ignore", DriftWarning)
        data = AccountData(orders=orders, accounts=accounts if len(accounts) else None)
        as_of = pd.Timestamp("2023-06-01") + pd.Timedelta(days=as_of_days)
        result = score(data, model, as_of=as_of, allow_new_levels=True, allow_outside_data=True)
    expected = set(orders["account_id"]) | set(accounts["account_id"])
    assert set(result.scores["account_id"]) == expected
    assert len(result.scores) == len(expected)
    assert result.scores["status"].isin(["scored", "unscorable"]).all()


@pytest.mark.parametrize("as_of", ["2019-06-01", "2027-03-01"])
def test_an_as_of_outside_the_data_is_refused_unless_asked(sim_data, model, as_of):
    span = f"{sim_data.start:%Y-%m-%d} to {sim_data.end:%Y-%m-%d}"
    with pytest.raises(OptionError, match=f"outside the data, which runs from {span}"):
        score(sim_data, model, as_of=as_of, reasons="none")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DriftWarning)
        result = score(sim_data, model, as_of=as_of, reasons="none", allow_outside_data=True)
    assert len(result.scores) == len(sim_data.account_ids)


def test_cli_score_writes_the_drift_table_beside_the_scores(trained, sim_book, tmp_path, capsys):
    """`kamrisk score` on a book whose amounts moved (a currency switch) says so on stderr and writes the
    whole drift table next to the scores; on a book like the training one it writes none."""
    from kamrisk._cli import main
    from kamrisk._tracking import log_training

    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    logged = log_training(trained, tracking_uri=store, experiment="drift-file")
    folder = tmp_path / "book"
    sim_book.write(folder)
    orders = pd.read_parquet(folder / "orders.parquet")
    orders["amount"] *= 25
    orders.to_parquet(folder / "orders.parquet", index=False)
    out = tmp_path / "scores.csv"
    main(["score", str(folder), "--as-of", AS_OF, "--out", str(out), "--model", logged.model_uri,
          "--tracking-uri", store, "--reasons", "none"])
    drift_file = tmp_path / "scores.drift.csv"
    assert str(drift_file) in capsys.readouterr().err
    table = pd.read_csv(drift_file)
    assert {"feature", "psi"} <= set(table.columns)
    moved = table[table["psi"] > 0.2]["feature"]
    assert moved.str.startswith("revenue_").any() and not moved.str.startswith("days_since").any()
    assert len(pd.read_csv(out)) == len(sim_book.accounts)

    calm = tmp_path / "calm"
    sim_book.write(calm)
    month = sorted(trained.trained.training_sample.index.get_level_values("as_of").unique())[-1]
    main(["score", str(calm), "--as-of", str(month.date()), "--out", str(tmp_path / "calm.csv"),
          "--model", logged.model_uri, "--tracking-uri", store, "--reasons", "none"])
    assert not (tmp_path / "calm.drift.csv").exists()
