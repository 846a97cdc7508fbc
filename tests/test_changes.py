"""What changed since the last scoring: the change columns (hand-checked), accounts that appear or disappear,
``score(previous=...)`` and ``--previous`` on the simulated book, and the report's opening section in both
languages and in a real browser."""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape
from test_report import AS_OF, BEFORE, XSS, browser, make_scores  # noqa: F401  (browser is a fixture)

import kamrisk
from kamrisk._cli import main
from kamrisk._report import prepare_scores, read_scores, write_report
from kamrisk._report._changes import CHANGE_COLUMNS, CHANGES_UI, GONE, NEW, compare_scores


def hand_made() -> tuple[pd.DataFrame, pd.DataFrame]:
    """This month (test_report's scores at AS_OF) and last month, changed by hand:

    A001 0.30 medium -> 0.81 high (newly high; its reasons were only shrinking orders before),
    A002 0.15 low -> 0.55 high (newly high, the hostile name), A003 0.30 medium -> 0.12 low (recovered),
    A004 as in test_report (0.21 -> 0.34, medium both), A005 0.09 -> 0.07, A006 not scored before (new),
    Z009 only last month (gone)."""
    scores = make_scores()
    now = scores[scores["as_of"] == AS_OF].reset_index(drop=True)
    before = scores[scores["as_of"] == BEFORE].set_index("account_id")
    for account, risk, band in (("A001", 0.30, "medium"), ("A002", 0.15, "low"), ("A003", 0.30, "medium")):
        before.loc[account, ["risk", "band"]] = risk, band
        before.loc[account, "revenue_at_risk"] = risk * before.loc[account, "revenue_12m"]
    before.loc["A001", ["reason_family_2", "reason_family_3", "reason_2", "reason_3"]] = ""
    before.loc["A003", "stage"] = "warning"
    gone = before.loc[["A005"]].rename(index={"A005": "Z009"}).assign(name="Zeta Trading", risk=0.4, band="high",
                                                                      revenue_at_risk=40_000.0)
    before = pd.concat([before, gone]).reset_index()
    return now, before


@pytest.fixture(scope="module")
def compared() -> pd.DataFrame:
    now, before = hand_made()
    return compare_scores(now, before).set_index("account_id")


def test_change_columns_are_hand_checked(compared):
    assert set(CHANGE_COLUMNS) <= set(compared.columns)
    assert compared.loc["A001", "risk_change"] == pytest.approx(0.81 - 0.30)
    assert compared.loc["A001", "band_change"] == "medium->high"
    assert compared.loc["A002", "band_change"] == "low->high"
    assert compared.loc["A003", "band_change"] == "medium->low"
    assert compared.loc["A003", "risk_change"] == pytest.approx(0.12 - 0.30)
    assert compared.loc["A004", "band_change"] == ""
    assert compared.loc["A001", "new_reasons"] == "channel_conflict, relationship"
    assert compared.loc["A004", "new_reasons"] == ""
    assert compared.loc["A001", "previous_as_of"] == BEFORE


def test_accounts_in_only_one_scoring_are_listed_never_dropped(compared):
    now, before = hand_made()
    assert sorted(compared.index) == sorted(set(now["account_id"]) | set(before["account_id"]))
    assert compared.loc["A006", "band_change"] == NEW and pd.isna(compared.loc["A006", "risk_change"])
    gone = compared.loc["Z009"]
    assert gone["band_change"] == GONE and gone["status"] == "unscorable" and gone["as_of"] == AS_OF
    assert gone["status_reason"] == "not in the data of this scoring (scored on 2025-05-01)"
    assert gone["name"] == "Zeta Trading" and gone["previous_risk"] == pytest.approx(0.4)
    # the scores contract still holds: the report reads it
    prepare_scores(compared.reset_index())


def test_the_report_opens_with_what_changed(compared, tmp_path):
    out = write_report(compared.reset_index(), tmp_path / "report.html")
    html = out.read_text(encoding="utf-8")
    assert html.index('id="changes"') < html.index('id="portfolio"')
    assert "What changed since 2025-05-01" in html

    def group(key: str) -> str:
        return html.split(f'id="changes-{key}"', 1)[1].split("</table>", 1)[0]

    def accounts(key: str) -> list[str]:
        return [part.split('"', 1)[0] for part in group(key).split('<tr data-changed="')[1:]]

    assert sorted(accounts("newly_high")) == ["A001", "A002", "A006"]
    assert accounts("recovered") == ["A003"]
    # A006 was not scored last month; A007 and A008 (unscorable now) had no row then either
    assert accounts("appeared") == ["A006", "A007", "A008"] and accounts("gone") == ["Z009"]
    assert "A001" in accounts("new_reasons") and "Last visit 120 days ago" in group("new_reasons")
    assert accounts("rose")[0] == "A001"  # +51 points, the largest rise
    assert 'data-count="3"' in html.split('id="changes-newly_high"', 1)[1][:40]
    assert XSS not in html and str(escape(XSS)) in group("newly_high")
    moved = compared["revenue_at_risk"].fillna(0).sum() - compared["previous_revenue_at_risk"].fillna(0).sum()
    assert f"Revenue at risk moved: {moved:+,.0f}" in html


def test_the_section_in_chinese_and_after_a_csv_round_trip(compared, tmp_path):
    path = tmp_path / "scores.csv"
    kamrisk.write_scores(compared.reset_index(), path)
    out = write_report(read_scores(path), tmp_path / "report.html", lang="zh")
    html = out.read_text(encoding="utf-8")
    assert "自 2025-05-01 以来的变化" in html and CHANGES_UI["zh"]["newly_high"] in html
    assert 'id="changes-gone"' in html and "Zeta Trading" in html


def test_without_change_columns_the_two_latest_as_of_dates_are_compared(tmp_path):
    out = write_report(make_scores(), tmp_path / "report.html")
    html = out.read_text(encoding="utf-8")
    section = html.split('id="changes-newly_high"', 1)[1].split("</table>", 1)[0]
    assert 'data-changed="A006"' in section  # scored high now, not scored a month before
    single = make_scores()
    out = write_report(single[single["as_of"] == AS_OF], tmp_path / "single.html")
    assert 'id="changes"' not in out.read_text(encoding="utf-8")  # nothing to compare


def test_every_changes_string_exists_in_both_languages():
    assert set(CHANGES_UI["en"]) == set(CHANGES_UI["zh"])


# -- two monthly scorings of the simulated book ------------------------------------------------------------------
@pytest.fixture(scope="module")
def monthly(sim_data, trained):
    model = trained.trained
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", kamrisk.DriftWarning)
        old = kamrisk.score(sim_data, model, as_of="2025-05-01").scores
        old = old[old["account_id"] != old["account_id"].iloc[0]]  # an account the old scoring did not have
        extra = old.iloc[[0]].assign(account_id="KA-OLD", name="Departed Ltd")  # one the data no longer has
        old = pd.concat([old, extra], ignore_index=True)
        new = kamrisk.score(sim_data, model, as_of="2025-06-01", previous=old).scores
    return old, new


def test_score_with_previous_compares_every_account(monthly, sim_data):
    old, new = monthly
    assert len(new) == len(sim_data.account_ids) + 1  # every account, and the one that is gone
    indexed = new.set_index("account_id")
    assert indexed.loc["KA-OLD", "band_change"] == GONE
    first = set(sim_data.account_ids) - set(old["account_id"])
    assert (indexed.loc[sorted(first), "band_change"] == NEW).all()
    both = old.merge(new, on="account_id", suffixes=("_old", "_new"))
    both = both[both["band_change"] != GONE]
    expected = both["risk_new"] - both["risk_old"]
    assert np.allclose(both["risk_change"], expected, equal_nan=True)
    moved = both[both["band_old"] != both["band_new"]]
    assert len(moved) and (moved["band_change"] == moved["band_old"].replace("", "unscored") + "->"
                           + moved["band_new"].replace("", "unscored")).all()


def test_the_report_of_two_monthly_scorings_works_in_a_browser(monthly, sim_data, trained, browser, tmp_path):  # noqa: F811
    from selenium.webdriver.common.by import By

    _, new = monthly
    out = write_report(new, tmp_path / "report.html", data=sim_data, catalog=trained.trained.catalog, top=20)
    browser.get(out.resolve().as_uri())
    section = browser.find_element(By.ID, "changes")
    assert section.is_displayed() and section.location["y"] < browser.find_element(By.ID, "portfolio").location["y"]
    gone = browser.find_elements(By.CSS_SELECTOR, '#changes-gone tr[data-changed="KA-OLD"]')
    assert len(gone) == 1 and "Departed Ltd" in gone[0].text
    browser.save_screenshot(str(tmp_path / "changes.png"))
    shutil.copyfile(tmp_path / "changes.png", "/tmp/kamrisk_changes.png")
    problems = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert problems == []


def test_cli_score_previous(trained, sim_dir, tmp_path, capsys, monthly):
    from kamrisk._tracking import log_training

    old, _ = monthly
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    logged = log_training(trained, tracking_uri=store, experiment="changes-test")
    previous = tmp_path / "old.parquet"
    kamrisk.write_scores(old, previous)
    out = tmp_path / "new.xlsx"
    main(["score", str(sim_dir), "--as-of", "2025-06-01", "--out", str(out), "--model", logged.model_uri,
          "--tracking-uri", store, "--previous", str(previous)])
    printed = capsys.readouterr().out
    assert "Since the previous scoring:" in printed and "1 gone (kept as unscorable rows)" in printed
    table = read_scores(out)
    assert set(CHANGE_COLUMNS) <= set(table.columns) and (table["band_change"] == GONE).sum() == 1
    with pytest.raises(SystemExit):
        main(["score", str(sim_dir), "--as-of", "2025-06-01", "--out", str(out), "--model", logged.model_uri,
              "--tracking-uri", store, "--previous", str(tmp_path / "missing.parquet")])
    assert "missing.parquet: no such scores file" in capsys.readouterr().err
