"""The review of lost accounts: who is in it (by the recipe's label rule), verdicts that add up, a history that
never uses later data, the team's recorded reasons, the planted cause on simulated data, the page in both
languages and in a real browser, the workbook, and the command line."""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape

import kamrisk
from kamrisk import AccountData, DataWarning, OptionError, make_labels
from kamrisk._cli import main
from kamrisk._review import IN_TIME_DAYS, VERDICTS, review, write_review
from kamrisk._review._text import REVIEW_UI

START, END = pd.Timestamp("2024-07-01"), pd.Timestamp("2025-07-01")
XSS = '<img src=x onerror="alert(1)">'
FORMULA = '=HYPERLINK("http://evil.example","click")'


@pytest.fixture(scope="module")
def model(trained):
    return trained.trained


@pytest.fixture(scope="module")
def result(sim_data, model, sim_book):
    return review(sim_data, model, start=START, end=END, truth=sim_book)


def expected_falls(data, model) -> pd.Series:
    """The first day of each account's fall in [START, END), straight from make_labels on every day."""
    label = model.recipe.label
    last = min(END - pd.Timedelta(days=1), data.end - pd.Timedelta(days=label.horizon_days))
    days = pd.date_range(START - pd.Timedelta(days=1), last, freq="D")
    labels = make_labels(data, days, horizon=label.horizon_days, kind=label.kind,
                         full_threshold=label.full_threshold, partial_threshold=label.partial_threshold,
                         active_days=model.recipe.activity.active_days)
    wide = (labels["label"] == 1).unstack("as_of", fill_value=False).reindex(columns=days, fill_value=False)
    starts = wide & ~wide.shift(1, axis=1, fill_value=False)
    starts = starts.loc[:, starts.columns >= START]
    fallen = starts.any(axis=1)
    return starts[fallen].idxmax(axis=1).rename("fell_on")


# -- who is in the review ---------------------------------------------------------------------------------------
def test_the_review_lists_every_defection_the_label_rule_sees_in_the_period(result, sim_data, model):
    expected = expected_falls(sim_data, model)
    assert len(expected) > 10
    got = result.accounts.set_index("account_id")["fell_on"]
    assert sorted(got.index) == sorted(expected.index)
    assert (got.reindex(expected.index) == expected).all()
    assert got.between(START, END - pd.Timedelta(days=1)).all()


def test_planted_full_defections_of_the_period_are_found(result, sim_book):
    truth = sim_book.truth
    planted = truth[(truth["kind"] == "full") & truth["visible_on"].between(START + pd.Timedelta(days=60),
                                                                          END - pd.Timedelta(days=60))]
    found = set(result.accounts["account_id"])
    assert len(planted) >= 5
    assert np.mean([a in found for a in planted["account_id"]]) >= 0.8


def test_a_period_the_label_cannot_judge_yet_is_refused(sim_data, model):
    late = sim_data.end - pd.Timedelta(days=30)
    with pytest.raises(OptionError, match=r"needs 180 days of orders after the fall"):
        review(sim_data, model, start=late, end=late + pd.Timedelta(days=20))
    with pytest.raises(OptionError, match="period is empty"):
        review(sim_data, model, start=END, end=START)


# -- verdicts -----------------------------------------------------------------------------------------------------
def test_verdicts_add_up(result):
    a, h = result.accounts, result.headline()
    assert h["in_time"] + h["late"] + h["missed"] == h["lost"] == len(a)
    assert set(a["verdict"]) <= set(VERDICTS)
    warned = a["verdict"] != "missed"
    assert (a.loc[warned, "first_high"] < a.loc[warned, "fell_on"]).all()
    assert ((a["lead_days"] >= IN_TIME_DAYS) == (a["verdict"] == "in_time")).all()
    assert a.loc[~warned, "first_high"].isna().all()
    assert h["share_in_time"] == pytest.approx((a["verdict"] == "in_time").mean())
    assert h["median_lead_days"] == pytest.approx(a.loc[warned, "lead_days"].median())
    by_owner = result.by("owner")
    assert by_owner["accounts"].sum() == len(a)
    assert by_owner["revenue_lost"].sum() == pytest.approx(a["revenue_lost"].sum())
    assert result.by("cause_family")["missed"].sum() == h["missed"]


def test_the_first_high_flag_is_the_first_high_month_of_the_timeline(result):
    t = result.timeline
    for row in result.accounts.head(15).itertuples():
        mine = t[(t["account_id"] == row.account_id) & (t["as_of"] < row.fell_on)]
        high = mine.loc[mine["band"] == "high", "as_of"]
        if len(high):
            assert row.first_high == high.min()
            assert row.lead_days == (row.fell_on - high.min()).days
        else:
            assert pd.isna(row.first_high)
        assert mine["as_of"].min() >= row.fell_on - pd.Timedelta(days=result.lookback_days)


def test_a_month_of_the_history_is_what_scoring_gave_then(result, sim_data, model):
    row = result.timeline[(result.timeline["status"] == "scored") & (result.timeline["days_to_fall"] < -60)].iloc[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", kamrisk.DriftWarning)
        scores = kamrisk.score(sim_data, model, as_of=row["as_of"]).scores.set_index("account_id")
    then = scores.loc[row["account_id"]]
    assert then["risk"] == pytest.approx(row["risk"], abs=1e-12)
    assert (then["band"], then["stage"], then["reason_1"], then["cause_family"]) == (
        row["band"], row["stage"], row["reason_1"], row["cause_family"])


def test_no_month_of_the_history_uses_later_data(result, sim_data, model):
    cut = pd.Timestamp("2024-10-01")
    rng = np.random.default_rng(3)
    ids = rng.choice(sim_data.account_ids, 150, replace=False)
    later_orders = pd.DataFrame({"account_id": ids, "order_date": cut + pd.to_timedelta(rng.integers(0, 200, 150), "D"),
                                 "amount": rng.uniform(1e4, 1e6, 150)})
    later_events = pd.DataFrame({"account_id": ids, "event_date": cut + pd.to_timedelta(rng.integers(0, 200, 150), "D"),
                                 "event_type": rng.choice(["complaint", "retender_notice", "competitor_offer"], 150)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        more = AccountData(orders=pd.concat([sim_data.orders, later_orders], ignore_index=True),
                           events=pd.concat([sim_data.events, later_events], ignore_index=True),
                           accounts=sim_data.accounts)
    again = review(more, model, start=START, end=END)
    keys = ["account_id", "as_of"]
    columns = ["status", "stage", "risk", "band", "reason_1", "reason_2", "cause_family",
               *[c for c in result.timeline.columns if c.startswith("contrib_")]]
    before = result.timeline[result.timeline["as_of"] <= cut].set_index(keys)[columns]
    after = again.timeline[again.timeline["as_of"] <= cut].set_index(keys)[columns]
    both = before.index.intersection(after.index)
    assert len(both) > 100
    pd.testing.assert_frame_equal(before.loc[both], after.loc[both])
    # and the later facts do change what comes after the cut (the comparison can fail)
    later = result.timeline[result.timeline["as_of"] > cut].set_index(keys)["risk"]
    changed = again.timeline[again.timeline["as_of"] > cut].set_index(keys)["risk"]
    common = later.index.intersection(changed.index)
    assert not np.allclose(later.loc[common].fillna(-1), changed.loc[common].fillna(-1))


def test_signs_begin_and_peak_before_the_fall(result):
    s = result.signs
    assert len(s) and (s["first_seen_days"] < 0).all() and (s["peak_days"] < 0).all()
    assert (s["first_seen_days"] <= s["peak_days"]).all()
    assert (s["peak_contribution"] >= 0.2).all()
    assert set(s["family"]) <= set(result.reason_families)
    families = result.families()
    top = families.iloc[0]
    assert top["accounts"] == (s["family"] == top["family"]).sum()


def test_the_planted_cause_sits_beside_the_model_s(result):
    a = result.accounts
    planted = a["planted_cause"] != ""
    assert planted.mean() > 0.5
    assert (a["cause_agrees"] == (planted & (a["cause_family"] == a["planted_cause"]))).all()
    assert result.headline()["cause_agreement"] == pytest.approx(a.loc[planted, "cause_agrees"].mean())


def test_the_product_needs_no_truth(sim_data, model, result):
    plain = review(sim_data, model, start=START, end=END)
    assert "planted_cause" not in plain.accounts and not plain.simulated
    assert sorted(plain.accounts["account_id"]) == sorted(result.accounts["account_id"])


# -- the account team's own reason -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def noted(sim_data, model, result):
    """The book with a lost_reason note for the two accounts with the most revenue lost (one hostile)."""
    first, second = result.accounts.head(2).itertuples()
    notes = pd.DataFrame({"account_id": [first.account_id, second.account_id, first.account_id],
                          "event_date": [first.fell_on + pd.Timedelta(days=20), second.fell_on + pd.Timedelta(days=5),
                                         first.fell_on - pd.Timedelta(days=800)],
                          "event_type": "lost_reason",
                          "note": ["Moved to a cheaper regional supplier " + XSS, FORMULA, "an old loss"]})
    data = AccountData(orders=sim_data.orders, events=pd.concat([sim_data.events, notes], ignore_index=True),
                       accounts=sim_data.accounts)
    return review(data, model, start=START, end=END, lang="zh")


def test_the_team_s_recorded_reason_is_quoted(noted, result):
    a = noted.accounts.set_index("account_id")
    first, second = result.accounts["account_id"].head(2)
    assert a.loc[first, "team_reason"] == "Moved to a cheaper regional supplier " + XSS
    assert a.loc[second, "team_reason"] == FORMULA
    assert (a.drop(index=[first, second])["team_reason"] == "").all()


# -- the page and the workbook ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def page_en(result, tmp_path_factory):
    out = tmp_path_factory.mktemp("review") / "review.html"
    write_review(result, out, xlsx=out.with_suffix(".xlsx"))
    return out, out.read_text(encoding="utf-8")


def test_the_page_shows_the_headline_and_every_lost_account(page_en, result):
    _, html = page_en
    h = result.headline()
    assert "Review of lost key accounts" in html and '<html lang="en">' in html
    assert f'<strong id="kpi-lost">{h["lost"]}</strong>' in html
    assert f"{h['in_time']} · {h['share_in_time'] * 100:.0f}%" in html
    tbody = html.split('<table id="kr-accounts">', 1)[1].split("</tbody>", 1)[0]
    assert tbody.count("<tr data-account=") == len(result.accounts)
    assert html.count('<article class="card verdict-') == len(result.accounts)
    for verdict in VERDICTS:
        assert tbody.count(f'data-verdict="{verdict}"') == h[verdict]
    assert "script-src 'sha256-" in html and "http" not in html.split("<body>", 1)[1].replace(
        "http://evil", "").split("<script>")[0]


def test_the_page_in_chinese_escapes_the_team_s_notes(noted, tmp_path):
    out = write_review(noted, tmp_path / "review.html", xlsx=tmp_path / "review.xlsx")
    html = out.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in html and "流失大客户复盘" in html and "及时预警" in html
    assert XSS not in html and str(escape(XSS)) in html
    assert str(escape(FORMULA)) in html
    from openpyxl import load_workbook

    book = load_workbook(tmp_path / "review.xlsx")
    sheet = book[REVIEW_UI["zh"]["sheet_accounts"]]
    header = [c.value for c in sheet[1]]
    cells = [c for row in sheet.iter_rows(min_row=2) for c in row]
    assert any(c.value == FORMULA for c in cells)
    assert all(c.data_type != "f" for c in cells)
    assert header.index("team_reason") >= 0


def test_every_review_string_exists_in_both_languages():
    assert set(REVIEW_UI["en"]) == set(REVIEW_UI["zh"])


def test_the_workbook_holds_the_accounts_timeline_and_groups(page_en, result):
    from openpyxl import load_workbook

    path, _ = page_en
    book = load_workbook(path.with_suffix(".xlsx"), read_only=True)
    ui = REVIEW_UI["en"]
    assert book.sheetnames == [ui["sheet_accounts"], ui["sheet_timeline"], ui["sheet_signs"], ui["sheet_families"],
                               ui["sheet_by"]]
    assert book[ui["sheet_accounts"]].max_row == len(result.accounts) + 1
    assert book[ui["sheet_timeline"]].max_row == len(result.timeline) + 1


def test_bad_outputs_are_refused_before_writing(result, tmp_path):
    with pytest.raises(OptionError, match="give a path ending in .html"):
        write_review(result, tmp_path / "review.pdf")
    with pytest.raises(OptionError, match="lang must be one of"):
        write_review(result, tmp_path / "review.html", lang="fr")


# -- a real browser -------------------------------------------------------------------------------------------------
def test_the_review_works_in_a_browser(page_en, result, tmp_path):
    from test_report import CHROMEDRIVER, CHROMIUM

    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        pytest.skip(f"headless browser test needs {CHROMIUM} and {CHROMEDRIVER} "
                    "(apt-get install -y chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="the browser test needs selenium")
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage",
                 "--window-size=1400,2400", f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        path, _ = page_en
        browser.get(path.resolve().as_uri())
        assert browser.title.startswith("Review of lost key accounts")

        def visible() -> list[str]:
            rows = browser.find_elements(By.CSS_SELECTOR, "#kr-accounts tbody tr")
            return [r.get_attribute("data-account") for r in rows if r.is_displayed()]

        assert visible() == list(result.accounts["account_id"])
        assert browser.find_element(By.CSS_SELECTOR, "#card-1 .timeline-chart svg").size["width"] > 100
        browser.save_screenshot(str(tmp_path / "review.png"))
        shutil.copyfile(tmp_path / "review.png", "/tmp/kamrisk_review.png")
        Select(browser.find_element(By.ID, "filter-verdict")).select_by_value("missed")
        assert visible() == list(result.missed["account_id"])
        assert browser.find_element(By.ID, "kr-count").text == \
            f"Showing {len(result.missed)} of {len(result.accounts)} accounts"
        Select(browser.find_element(By.ID, "filter-verdict")).select_by_value("*")
        browser.find_element(By.CSS_SELECTOR, 'th[data-key="lead"]').click()
        leads = result.accounts.sort_values("lead_days", ascending=False, na_position="last")
        assert visible()[0] == leads["account_id"].iloc[0]
        problems = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
        assert problems == []
    finally:
        browser.quit()


# -- the command line ---------------------------------------------------------------------------------------------
def test_cli_review_writes_the_page_and_prints_the_headline(trained, sim_dir, tmp_path, capsys):
    from kamrisk._tracking import log_training

    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    logged = log_training(trained, tracking_uri=store, experiment="review-test")
    out = tmp_path / "review.html"
    main(["review", str(sim_dir), "--model", logged.model_uri, "--tracking-uri", store, "--from", "2024-07-01",
          "--to", "2025-07-01", "--out", str(out), "--xlsx", str(tmp_path / "review.xlsx"), "--lang", "zh",
          "--simulated"])
    printed = capsys.readouterr().out
    assert "Review 2024-07-01 to 2025-07-01:" in printed and "Warned in time:" in printed
    assert "planted" in printed and f"Wrote the review to {out}" in printed
    assert "流失大客户复盘" in out.read_text(encoding="utf-8") and (tmp_path / "review.xlsx").is_file()
    with pytest.raises(SystemExit):
        main(["review", str(sim_dir), "--model", logged.model_uri, "--tracking-uri", store, "--from", "01/07/2024",
              "--to", "2025-07-01", "--out", str(out)])
    assert "Error: start must be an ISO date" in capsys.readouterr().err
