"""Reasons: TreeSHAP contributions add up, are grouped by family, and become risk-raising reasons in
English and Chinese with the family's action; what-if shows which action buys the most."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from kamrisk import explain
from kamrisk._explain import contributions, family_contributions

NOT_CAUSES = ("shrinking_orders", "account_context")  # a symptom and the context, by the catalog's roles


@pytest.fixture(scope="module")
def rows(trained):
    X = trained.X[trained.labelled]
    return X.sample(400, random_state=0)


def test_contributions_add_up_to_the_raw_score(trained, rows):
    contrib = contributions(trained.model, rows)
    assert list(contrib.columns[:-1]) == list(trained.model.feature_names_in_)
    np.testing.assert_allclose(contrib.sum(axis=1), trained.model.raw_score(rows), rtol=0, atol=1e-9)


def test_family_grouping_sums_each_family(trained, rows):
    contrib = contributions(trained.model, rows)
    families = family_contributions(contrib, trained.catalog)
    for family in families.columns.drop("base_value"):
        members = [c for c in contrib.columns[:-1] if trained.catalog.family_of(c) == family]
        np.testing.assert_allclose(families[family], contrib[members].sum(axis=1), atol=1e-12)
    np.testing.assert_allclose(families.sum(axis=1), trained.model.raw_score(rows), atol=1e-9)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_reasons_raise_the_risk_and_are_worded(trained, rows, lang):
    out = explain(trained.model, rows, trained.catalog, lang=lang, reference=trained.reference)
    for k in (1, 2, 3):
        text, family = out[f"reason_{k}"], out[f"reason_family_{k}"]
        has = family != ""
        assert ((text != "") == has).all()
        contribution = np.array([out.loc[i, f"contrib_{f}"] if f else np.nan for i, f in zip(out.index, family,
                                                                                             strict=True)])
        assert (contribution[has.to_numpy()] > 0).all()  # only reasons that actually raise the risk
        assert not text.str.contains(r"\{|\}|nan|None").any()
        if lang == "zh":
            assert text[has].str.contains(r"[\u4e00-\u9fff]").all()
    # reasons come in order of contribution
    c1 = np.array([out.loc[i, f"contrib_{f}"] if f else -np.inf for i, f in out["reason_family_1"].items()])
    c2 = np.array([out.loc[i, f"contrib_{f}"] if f else -np.inf for i, f in out["reason_family_2"].items()])
    assert (c1 >= c2).all()
    assert out["reason_1"].ne("").any()


def test_reasons_quote_the_accounts_own_numbers(trained, rows):
    out = explain(trained.model, rows, trained.catalog, lang="en")
    quoted = out["reason_1"].str.contains(r"\d")
    assert quoted[out["reason_1"] != ""].mean() > 0.9
    # e.g. a recency reason quotes the account's own days since the last order
    recency = out["reason_1"].str.startswith("No order for")
    for index in out.index[recency][:20]:
        days = int(rows.loc[index, "days_since_last_order"])
        assert re.search(rf"\b{days:,}\b", out.loc[index, "reason_1"]) or str(days) in out.loc[index, "reason_1"]


def test_cause_family_is_the_worded_driver_worth_the_most_and_carries_the_action(trained, rows):
    out = explain(trained.model, rows, trained.catalog, lang="en", reference=trained.reference)
    assert not out["cause_family"].isin(NOT_CAUSES).any()
    caused = out[out["cause_family"] != ""]
    assert len(caused) > 0.3 * len(out)
    expected = caused["cause_family"].map(lambda f: trained.catalog.action_text(f, lang="en"))
    assert (caused["action"] == expected).all()
    # the card's first action is always among its reasons, and raises the risk
    named = caused[["reason_family_1", "reason_family_2", "reason_family_3"]].eq(caused["cause_family"], axis=0)
    assert named.any(axis=1).all()
    assert (np.array([r[f"contrib_{r['cause_family']}"] for _, r in caused.iterrows()]) > 0).all()
    # no other driving family among the reasons is worth more than the cause
    for _, r in caused.iterrows():
        mine = r[f"whatif_{r['cause_family']}"]
        for k in (1, 2, 3):
            family = r[f"reason_family_{k}"]
            if family and f"whatif_{family}" in r:
                assert r[f"whatif_{family}"] <= mine + 5e-4, (r["cause_family"], family)


def test_what_if_is_never_negative_and_a_zero_says_why(trained):
    X = trained.X[trained.labelled]
    out = explain(trained.model, X, trained.catalog, reference=trained.reference)
    gains = out[[c for c in out if c.startswith("whatif_") and c != "why_no_whatif"]]
    assert len(gains.columns) >= 5 and (gains.fillna(0) >= 0).all().all()
    family = out["cause_family"].where(out["cause_family"] != "", out["reason_family_1"])
    first = np.array([out.at[i, f"whatif_{f}"] if f"whatif_{f}" in out else 0.0 for i, f in family.items()])
    acted = (family != "").to_numpy()
    zero = acted & (first <= 5e-4)
    assert (out.loc[zero, "why_no_whatif"] != "").all()
    assert (out.loc[acted & ~zero, "why_no_whatif"] == "").all()
    assert out.loc[zero, "why_no_whatif"].str.startswith("No what-if:").all()
    # the first action is worth something for most accounts the model flags
    high = (out["band"] == "high").to_numpy() & acted
    assert high.any() and (first[high] > 5e-4).mean() >= 0.9


def test_what_if_lowers_risk_for_an_account_with_open_complaints(trained):
    X = trained.X[trained.labelled]
    out = explain(trained.model, X, trained.catalog, reference=trained.reference)
    assert trained.reference["open_complaints"] == 0
    complained = (X["open_complaints"] >= 2) & (out["contrib_channel_conflict"] > 0.1)
    assert complained.any()
    gain = out.loc[complained, "whatif_channel_conflict"]
    assert (gain >= 0).all()
    assert (gain > 0).mean() > 0.8
    assert "whatif_shrinking_orders" not in out  # orders are not an action


def test_reason_modes(trained, rows):
    none = explain(trained.model, rows, trained.catalog, reasons="none")
    assert (none["reason_1"] == "").all() and none["contrib_channel_conflict"].isna().all()
    at_risk = explain(trained.model, rows, trained.catalog, reasons="at_risk")
    low = at_risk["band"] == "low"
    assert (at_risk.loc[low, "reason_1"] == "").all()
    full = explain(trained.model, rows, trained.catalog, reasons="all")
    pd.testing.assert_frame_equal(at_risk.loc[~low, ["reason_1", "cause_family"]],
                                  full.loc[~low, ["reason_1", "cause_family"]])
    with pytest.raises(Exception, match="reasons must be one of"):
        explain(trained.model, rows, trained.catalog, reasons="some")


def test_fast_treeshap_equals_lightgbm_and_leaves_reasons_unchanged(trained, rows, monkeypatch):
    fast = contributions(trained.model, rows)
    fast_reasons = explain(trained.model, rows, trained.catalog, lang="zh", reference=trained.reference)
    monkeypatch.setenv("KAMRISK_FAST_SHAP", "0")
    exact = contributions(trained.model, rows)
    exact_reasons = explain(trained.model, rows, trained.catalog, lang="zh", reference=trained.reference)
    np.testing.assert_allclose(fast.to_numpy(), exact.to_numpy(), rtol=0, atol=1e-12)
    pd.testing.assert_frame_equal(fast_reasons, exact_reasons, check_exact=False, atol=1e-12, rtol=0)


@pytest.mark.parametrize("reasons", ["all", "at_risk"])
def test_a_row_alone_gets_the_answer_it_gets_in_a_batch(trained, reasons):
    """A REST request scores one row (on one thread, from a matrix built for it); a batch scores thousands.
    Each row's answer (status, risk, reasons, cause, what-if) is the same either way, lapsed rows included."""
    rows = trained.input_example(24)
    rows.loc[rows.index[::5], "days_since_last_order"] = 500.0  # lapsed: unscorable in both
    batch = trained.trained.predict_frame(rows, lang="zh", reasons=reasons)
    alone = pd.concat([trained.trained.predict_frame(rows.iloc[[i]], lang="zh", reasons=reasons)
                       for i in range(len(rows))], ignore_index=True)
    assert list(alone.columns) == list(batch.columns)
    assert (batch["status"] == "unscorable").sum() == 5
    assert batch["reason_1"].str.len().gt(0).any()
    for column in batch.columns:
        if pd.api.types.is_float_dtype(batch[column]):
            np.testing.assert_allclose(alone[column].to_numpy(float), batch[column].to_numpy(float), rtol=0,
                                       atol=1e-12, err_msg=column)
        else:
            assert alone[column].tolist() == batch[column].tolist(), column
