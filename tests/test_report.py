"""The account team's report: HTML content in both languages, escaping, the Excel workbook, the CLI, and the
page in a real (headless) browser."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape

from kamrisk import DataError, OptionError, load_catalog
from kamrisk._cli import main
from kamrisk._report import REQUIRED_COLUMNS, prepare_scores, read_scores, write_report
from kamrisk._report._text import UI
from kamrisk._safety import neutralise_formula, neutralise_frame

FAMILIES = ("shrinking_orders", "procurement_change", "channel_conflict", "strategy_shift", "competitor_pressure",
            "relationship", "contagion", "account_context")
AS_OF, BEFORE = pd.Timestamp("2025-06-01"), pd.Timestamp("2025-05-01")
XSS = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://evil.example","click")'

# id, name, owner, segment, region, channel, risk now, risk a month before (None: not scored then), revenue 12m
ACCOUNTS = [
    ("A001", "Huadong Building Supplies", "Li Wei", "construction", "East", "distributor", 0.81, 0.62, 2_450_000),
    ("A002", XSS, "Anna Schmidt", "retail", "North", "retail_chain", 0.55, 0.58, 3_100_000),
    ("A003", FORMULA, "Li Wei", "industrial", "South", "direct", 0.12, 0.10, 5_800_000),
    ("A004", "Nordlicht Handels GmbH", "Anna Schmidt", "retail", "East", "dealer", 0.34, 0.21, 1_200_000),
    ("A005", "Pearl River Chemicals", "王芳", "industrial", "South", "distributor", 0.07, 0.09, 900_000),
    ("A006", "Sunrise Retail Chain", "王芳", "retail", "North", "retail_chain", 0.66, None, 640_000),
]
# revenue at risk: A001 1,984,500 > A002 1,705,000 > A003 696,000 > A006 422,400 > A004 408,000 > A005 63,000
ORDER = ["A001", "A002", "A003", "A006", "A004", "A005"]
REASONS = {  # (reason text, family) x up to 3, cause family, contributions, what-if gains
    "A001": ([("Revenue down 38% vs the prior 90 days", "shrinking_orders"),
              ("2 complaints open, the oldest for 75 days", "channel_conflict"),
              ("Last visit 120 days ago", "relationship")], "channel_conflict",
             {"shrinking_orders": 0.9, "channel_conflict": 0.7, "relationship": 0.4, "account_context": -0.2},
             {"channel_conflict": 0.12, "relationship": 0.05, "competitor_pressure": 0.001}),
    "A002": ([("Re-tender announced 20 days ago", "procurement_change"),
              ("-1.2 points of satisfaction over the last 2 surveys", "relationship")], "procurement_change",
             {"procurement_change": 1.1, "relationship": 0.3, "account_context": 0.2},
             {"procurement_change": 0.21, "relationship": 0.04}),
    "A003": ([("3 competitor offers in the last 90 days", "competitor_pressure")], "competitor_pressure",
             {"competitor_pressure": 0.2, "shrinking_orders": -0.4}, {"competitor_pressure": 0.02}),
    "A004": ([("Orders down 25% vs the prior 90 days", "shrinking_orders"),
              ("New leadership announced 45 days ago", "strategy_shift")], "strategy_shift",
             {"shrinking_orders": 0.5, "strategy_shift": 0.45}, {"strategy_shift": 0.08}),
    "A005": ([], "", {"shrinking_orders": -0.6, "relationship": -0.2}, {}),
    "A006": ([("2 peer accounts defected in the last 180 days", "contagion")], "contagion",
             {"contagion": 0.8, "relationship": 0.1}, {"contagion": 0.06, "relationship": 0.01}),
}
UNSCORABLE = [
    ("A007", "Old Mill Traders", "Li Wei", "no orders in the last 365 days"),
    ("A008", "@SUM(A1:A9)", "", "no orders before as_of"),
]


def band_of(risk: float) -> str:
    return "high" if risk >= 0.5 else "medium" if risk >= 0.2 else "low"


def make_scores(lang: str = "en") -> pd.DataFrame:
    """A small scores table as `kamrisk score` writes it: two as_of dates, two unscorable accounts."""
    catalog = load_catalog()
    rows = []
    for account_id, name, owner, segment, region, channel, risk, before, revenue in ACCOUNTS:
        reasons, cause, contrib, gains = REASONS[account_id]
        for as_of, value, growth in ((AS_OF, risk, 1.0), (BEFORE, before, 1.06)):
            if value is None:
                continue
            row = {"account_id": account_id, "as_of": as_of, "status": "scored", "status_reason": "", "name": name,
                   "owner": owner or np.nan, "segment": segment, "region": region, "channel": channel,
                   "risk": value, "band": band_of(value), "revenue_12m": revenue * growth,
                   "revenue_at_risk": value * revenue * growth, "cause_family": cause,
                   "action": catalog.action_text(cause, lang) if cause else ""}
            for k in (1, 2, 3):
                text, family = reasons[k - 1] if k <= len(reasons) else ("", "")
                row[f"reason_{k}"], row[f"reason_family_{k}"] = text, family
            for family in FAMILIES:
                row[f"contrib_{family}"] = contrib.get(family, 0.0)
            for family in FAMILIES[:-1]:
                row[f"whatif_{family}"] = gains.get(family, 0.0)
            rows.append(row)
    for account_id, name, owner, reason in UNSCORABLE:
        row = {"account_id": account_id, "as_of": AS_OF, "status": "unscorable", "status_reason": reason,
               "name": name, "owner": owner, "segment": "retail", "region": "West", "channel": "dealer",
               "risk": np.nan, "band": "", "revenue_12m": 15_000.0, "revenue_at_risk": np.nan, "cause_family": "",
               "action": ""}
        row.update({f"reason_{k}": "" for k in (1, 2, 3)} | {f"reason_family_{k}": "" for k in (1, 2, 3)})
        row.update({f"contrib_{f}": np.nan for f in FAMILIES} | {f"whatif_{f}": np.nan for f in FAMILIES[:-1]})
        rows.append(row)
    return pd.DataFrame(rows).sample(frac=1.0, random_state=3).reset_index(drop=True)  # order must not matter


def make_orders() -> pd.DataFrame:
    """Two years of monthly orders for each scored account, A001 shrinking in the last months."""
    months = pd.date_range("2023-05-10", "2025-05-20", freq="MS") + pd.Timedelta(days=9)
    rows = []
    for account_id, *_, revenue in ACCOUNTS:
        for i, date in enumerate(months):
            factor = 0.4 if account_id == "A001" and i >= len(months) - 4 else 1.0
            rows.append({"account_id": account_id, "order_date": date, "amount": revenue / 12 * factor})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def scores() -> pd.DataFrame:
    return make_scores()


@pytest.fixture(scope="module")
def book():
    from kamrisk import AccountData

    return AccountData(orders=make_orders())


@pytest.fixture(scope="module")
def report_en(scores, book, tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("report") / "report.html"
    write_report(scores, out, xlsx=out.with_suffix(".xlsx"), lang="en", data=book)
    return out, out.read_text(encoding="utf-8")


def table(html: str) -> dict:
    """The accounts table report.js draws: the compact JSON in the page."""
    import json

    return json.loads(html.split('<script type="application/json" id="kr-rows">', 1)[1].split("</script>", 1)[0])


def table_ids(html: str) -> list[str]:
    return [row[0] for row in table(html)["rows"]]


# -- HTML content ---------------------------------------------------------------------------------------------
def test_report_shows_the_portfolio_in_english(report_en):
    _, html = report_en
    for key in ("title", "accounts_scored", "revenue_at_risk_total", "by_band_title", "drivers_title",
                "table_title", "cards_title", "unscorable_title", "reasons", "actions", "whatif", "chart_revenue"):
        assert UI["en"][key] in html, key
    assert '<html lang="en">' in html
    assert "2025-06-01" in html and "compared with 2025-05-01" in html
    assert re.search(r'id="kpi-scored">6<', html) and re.search(r'id="kpi-unscorable">2<', html)
    total = sum(r * v for *_, r, _, v in ACCOUNTS)
    assert f'id="kpi-at-risk">{total:,.0f}<' in html  # 5,278,900
    assert "1,984,500" in html and "2,450,000" in html and "81%" in html


def test_accounts_are_sorted_by_revenue_at_risk(report_en):
    _, html = report_en
    assert table_ids(html) == ORDER  # unscorable accounts (A007, A008) have their own section


def test_cards_show_reasons_actions_what_if_and_charts(report_en):
    _, html = report_en
    catalog = load_catalog()
    cards = html.split('<section id="cards">', 1)[1].split("</section>", 1)[0]
    assert cards.count('<article class="card') == 6  # default: every scored account
    first = cards.split("<article", 2)[1]
    assert 'data-account="A001"' in first and "band-high" in first
    assert "Revenue down 38% vs the prior 90 days" in first and "Channel conflict" in first
    assert escape(catalog.action_text("channel_conflict", "en")) in first  # the cause's action comes first
    assert escape(catalog.action_text("relationship", "en")) in first
    assert "Settling the channel conflict lowers risk by 12 points" in first
    assert "Restoring the relationship lowers risk by 5 points" in first
    assert "Answering the competitor" not in first  # a gain under half a point is noise
    assert "+19 pts vs 2025-05-01" in first and "-6% vs 2025-05-01" in first
    assert 'class="revenue-chart"' in first and first.count('<rect class="bar') == 24
    assert 'class="risk-chart"' in first and first.count('<circle class="dot') == 2
    a006 = cards.split('data-account="A006"', 1)[1].split("</article>", 1)[0]
    assert 'class="risk-chart"' not in a006  # scored once only: no trend to draw
    assert "Peer defections" in a006
    assert "Holding the peer accounts lowers risk by 6 points" in a006
    assert "Restoring the relationship" not in a006  # the card names neither the family nor its action


def test_the_first_action_shows_what_it_is_worth_or_why_nothing(scores, book, tmp_path):
    changed = scores.copy()
    a004 = changed["account_id"] == "A004"
    changed.loc[a004, "whatif_strategy_shift"] = 0.0
    changed["why_no_whatif"] = ""
    why = "No what-if: the signs of strategy shift are already at a healthy level"
    changed.loc[a004, "why_no_whatif"] = why
    changed.loc[changed["account_id"] == "A003", "whatif_competitor_pressure"] = 0.01
    out = tmp_path / "report.html"
    write_report(changed, out, lang="en", data=book)
    cards = out.read_text(encoding="utf-8").split('<section id="cards">', 1)[1]
    card = {a: cards.split(f'data-account="{a}"', 1)[1].split("</article>", 1)[0] for a in ("A001", "A003", "A004")}
    main = {a: c.split('class="main"', 1)[1].split("</li>", 1)[0] for a, c in card.items()}
    assert "Settling the channel conflict lowers risk by 12 points" in main["A001"]
    assert "Answering the competitor lowers risk by 1 point<" in main["A003"]  # singular
    assert why in main["A004"] and "lowers risk" not in card["A004"]


def test_unscorable_accounts_are_listed_with_the_reason(report_en):
    _, html = report_en
    section = html.split('<section class="panel" id="unscorable">', 1)[1]
    assert "Old Mill Traders" in section and "no orders in the last 365 days" in section
    assert "A008" in section and "no orders before as_of" in section


def test_drivers_chart_ranks_families_across_the_book(report_en):
    _, html = report_en
    chart = html.split('id="drivers-chart"', 1)[1].split("</svg>", 1)[0]
    labels = re.findall(r'class="label"[^>]*>([^<]+)<', chart)
    assert labels[0] == "Shrinking orders" and "Account context" not in labels  # 0.9+0.5 positive log-odds
    assert "main cause for 1" in chart


def test_report_in_chinese(scores, book, tmp_path):
    out = write_report(make_scores("zh"), tmp_path / "report.html", lang="zh", data=book)
    html = out.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in html
    for key in ("title", "accounts_scored", "revenue_at_risk_total", "table_title", "cards_title",
                "unscorable_title", "actions"):
        assert UI["zh"][key] in html, key
    assert "渠道冲突" in html and "解决渠道冲突可使风险降低12个百分点" in html
    assert escape(load_catalog().action_text("channel_conflict", "zh")) in html
    assert "1,984,500" in html and "81%" in html
    assert UI["en"]["table_title"] not in html and UI["en"]["cards_title"] not in html


def test_every_ui_string_exists_in_both_languages():
    assert set(UI["en"]) == set(UI["zh"])
    catalog = load_catalog()
    for family in catalog.families.values():  # names and what-if phrases are the catalog's, in both languages
        assert family.name["en"] and family.name["zh"]
        assert family.role == "context" or (family.fix["en"] and family.fix["zh"])


def test_top_limits_the_cards_not_the_table(scores, tmp_path):
    html = write_report(scores, tmp_path / "r.html", top=2).read_text(encoding="utf-8")
    assert html.count('<article class="card') == 2
    assert "The 2 accounts with the most revenue at risk" in html
    assert len(table_ids(html)) == 6 and table(html)["top"] == 2  # report.js links rows 1-2 to their cards
    assert 'class="revenue-chart"' not in html  # no data given: no revenue chart


def test_a_single_as_of_has_no_trend(scores, tmp_path):
    html = write_report(scores[scores["as_of"] == AS_OF], tmp_path / "r.html").read_text(encoding="utf-8")
    assert "compared with" not in html and 'class="risk-chart"' not in html and " pts vs " not in html
    assert html.count('<article class="card') == 6


def test_a_book_with_nothing_scored_still_reports(scores, tmp_path):
    unscorable = scores[scores["status"] == "unscorable"]
    html = write_report(unscorable, tmp_path / "r.html", xlsx=tmp_path / "r.xlsx").read_text(encoding="utf-8")
    assert re.search(r'id="kpi-scored">0<', html) and UI["en"]["drivers_empty"] in html
    assert "<article" not in html and "Old Mill Traders" in html


def test_report_is_self_contained(report_en):
    _, html = report_en
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert "@import" not in html and "url(" not in html
    assert "Content-Security-Policy" in html


# -- untrusted text -------------------------------------------------------------------------------------------
def test_html_escapes_text_from_the_data(report_en):
    _, html = report_en
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert" not in html
    assert html.count("<script") == 3  # the UI strings and the table (JSON) and kamrisk's own script
    for name in ("kr-ui", "kr-rows"):
        json_block = html.split(f'<script type="application/json" id="{name}">', 1)[1].split("</script>", 1)[0]
        assert "<" not in json_block and ">" not in json_block


def test_names_that_close_attributes_or_json_stay_text(tmp_path):
    scores = make_scores()
    scores.loc[scores["account_id"] == "A004", "owner"] = '"><img src=x onerror=alert(2)>'
    scores.loc[scores["account_id"] == "A005", "name"] = "</script><script>alert(3)</script>"
    html = write_report(scores, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<img" not in html and "<script>alert" not in html
    assert "&lt;/script&gt;&lt;script&gt;alert(3)" in html
    assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in html
    rows = table(html)  # the table's JSON holds them as they are, for report.js to set as text
    assert '"><img src=x onerror=alert(2)>' in rows["owner"]
    assert "</script><script>alert(3)</script>" in [row[1] for row in rows["rows"]]


def test_neutralise_formula():
    assert neutralise_formula(FORMULA) == "'" + FORMULA
    for text in ("+1", "-1", "@SUM(A1)", "\t=1", "\r=1"):
        assert neutralise_formula(text) == "'" + text
    assert neutralise_formula("Acme") == "Acme" and neutralise_formula("") == ""
    assert neutralise_formula(-3.5) == -3.5 and neutralise_formula(None) is None
    frame = neutralise_frame(pd.DataFrame({"name": ["=1+1", "ok", None], "risk": [-0.5, 0.1, 0.2]}))
    assert frame["name"].tolist()[:2] == ["'=1+1", "ok"] and frame["risk"].tolist() == [-0.5, 0.1, 0.2]


# -- Excel ----------------------------------------------------------------------------------------------------
def test_workbook_sheets_headers_and_formats(report_en):
    import openpyxl

    path, _ = report_en
    workbook = openpyxl.load_workbook(path.with_suffix(".xlsx"))
    assert workbook.sheetnames == ["Portfolio", "Reasons"]
    sheet = workbook["Portfolio"]
    headers = [c.value for c in sheet[1]]
    assert headers[:4] == ["Account ID", "Account name", "Owner", "Segment"]
    assert {"Band", "Risk", "Revenue at risk", "Main cause", "Action", "Reason 1", "Why unscorable"} <= set(headers)
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == f"A1:S{len(ACCOUNTS) + len(UNSCORABLE) + 1}"
    column = {h: i + 1 for i, h in enumerate(headers)}
    ids = [sheet.cell(row=i, column=1).value for i in range(2, sheet.max_row + 1)]
    assert ids == [*ORDER, "A007", "A008"]
    risk = sheet.cell(row=2, column=column["Risk"])
    assert risk.value == pytest.approx(0.81) and risk.number_format == "0.0%"
    money = sheet.cell(row=2, column=column["Revenue at risk"])
    assert money.value == pytest.approx(1_984_500) and money.number_format == "#,##0"
    band = sheet.cell(row=2, column=column["Band"])
    assert band.value == "High" and band.fill.fgColor.rgb.endswith("F8D7DA")
    assert sheet.column_dimensions["A"].width >= 10
    reasons = workbook["Reasons"]
    assert [c.value for c in reasons[1]] == ["Account ID", "Account name", "Rank", "Sign family", "Reason",
                                             "Action", "Risk drop if settled"]
    assert reasons.max_row - 1 == sum(len(r[0]) for r in REASONS.values())
    first = [c.value for c in reasons[3]]
    assert first[0] == "A001" and first[2] == 2 and first[3] == "Channel conflict"
    assert first[6] == pytest.approx(0.12) and reasons.cell(row=3, column=7).number_format == "0.0%"


def test_workbook_never_holds_a_formula(report_en):
    import openpyxl

    path, _ = report_en
    workbook = openpyxl.load_workbook(path.with_suffix(".xlsx"))
    cells = [c for ws in workbook for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    guarded = {c.value: c for c in cells if isinstance(c.value, str) and c.value[:1] in "=+-@"}
    assert {FORMULA, "@SUM(A1:A9)", "-1.2 points of satisfaction over the last 2 surveys"} <= set(guarded)
    assert all(c.data_type == "s" and c.quotePrefix for c in guarded.values())


def test_workbook_in_chinese(scores, tmp_path):
    import openpyxl

    write_report(scores, tmp_path / "r.html", xlsx=tmp_path / "r.xlsx", lang="zh")
    workbook = openpyxl.load_workbook(tmp_path / "r.xlsx")
    assert workbook.sheetnames == ["客户总览", "流失原因"]
    assert [c.value for c in workbook["客户总览"][1]][:2] == ["客户编号", "客户名称"]
    assert workbook["客户总览"].cell(row=2, column=7).value == "高"
    assert [c.value for c in workbook["流失原因"][1]][3] == "信号类别"


# -- reading and validating scores -------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".xlsx"])
def test_scores_files_round_trip(scores, tmp_path, suffix):
    path = tmp_path / f"scores{suffix}"
    if suffix == ".parquet":
        scores.to_parquet(path, index=False)
    elif suffix == ".csv":
        neutralise_frame(scores).to_csv(path, index=False)
    else:
        scores.to_excel(path, index=False)
    table = read_scores(path)
    assert len(table) == len(scores) and table["as_of"].max() == AS_OF
    assert set(table.loc[table["status"] == "scored", "band"]) == {"high", "medium", "low"}
    html = write_report(table, tmp_path / "r.html").read_text(encoding="utf-8")
    assert table_ids(html) == ORDER


def test_scores_indexed_by_account_and_as_of_are_accepted(scores, tmp_path):
    indexed = scores.set_index(["account_id", "as_of"])
    html = write_report(indexed, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "A001" in table_ids(html)


def test_only_the_required_columns_are_enough(scores, tmp_path):
    html = write_report(scores[list(REQUIRED_COLUMNS)], tmp_path / "r.html").read_text(encoding="utf-8")
    assert UI["en"]["drivers_empty"] in html and html.count('<article class="card') == 6


def test_missing_columns_are_named(scores):
    with pytest.raises(DataError, match=r"scores: missing column\(s\) \['risk', 'band'\]"):
        prepare_scores(scores.drop(columns=["risk", "band"]))


@pytest.mark.parametrize(
    "change, message",
    [
        ({"status": "maybe"}, r"column 'status': unknown value\(s\) \['maybe'\]"),
        ({"as_of": "soon"}, r"column 'as_of': 1 value\(s\) not a date: soon"),
        ({"risk": 1.7}, r"column 'risk': scored account\(s\) A001 have no risk between 0 and 1"),
        ({"band": "severe"}, r"column 'band': scored account\(s\) A001 have band\(s\) \['severe'\]"),
    ],
)
def test_broken_scores_are_explained(scores, change, message):
    broken = scores.copy()
    row = broken.index[(broken["account_id"] == "A001") & (broken["as_of"] == AS_OF)][0]
    for column, value in change.items():
        broken[column] = broken[column].astype(object)
        broken.loc[row, column] = value
    with pytest.raises(DataError, match=message):
        prepare_scores(broken)


def test_duplicated_rows_are_refused(scores):
    with pytest.raises(DataError, match=r"account\(s\) A001 have more than one row for the same as_of"):
        prepare_scores(pd.concat([scores, scores[scores["account_id"] == "A001"]]))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"lang": "fr"}, "lang must be one of"),
        ({"top": -1}, "top must be a whole number"),
        ({"xlsx": "r.csv"}, "give a path ending in .xlsx"),
    ],
)
def test_bad_options_are_refused(scores, tmp_path, kwargs, message):
    with pytest.raises(OptionError, match=message):
        write_report(scores, tmp_path / "r.html", **kwargs)
    with pytest.raises(OptionError, match="give a path ending in .html"):
        write_report(scores, tmp_path / "r.pdf")


# -- command line ---------------------------------------------------------------------------------------------
def test_cli_writes_the_report_and_the_workbook(scores, tmp_path, capsys):
    scores.to_parquet(tmp_path / "scores.parquet", index=False)
    data = tmp_path / "data"
    data.mkdir()
    make_orders().to_csv(data / "orders.csv", index=False)
    main(["report", str(tmp_path / "scores.parquet"), "--out", str(tmp_path / "out" / "report.html"),
          "--xlsx", str(tmp_path / "out" / "report.xlsx"), "--lang", "zh", "--top", "3", "--data", str(data)])
    out = capsys.readouterr().out
    assert "已将 6 个已评分、2 个无法评分客户的报告（评估日 2025-06-01）" in out  # in the report's language
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert UI["zh"]["title"] in html and html.count('<article class="card') == 3 and 'class="revenue-chart"' in html
    assert (tmp_path / "out" / "report.xlsx").is_file()


@pytest.mark.parametrize(
    "name, args, message",
    [
        ("missing.parquet", [], "missing.parquet: no such scores file"),
        ("scores.txt", [], "scores.txt: unknown scores format '.txt'"),
        ("thin.csv", [], "thin.csv: missing column(s) ['status', 'risk', 'band', 'revenue_12m', 'revenue_at_risk']"),
        ("scores.csv", ["--lang", "fr"], "lang must be one of ['en', 'zh'], got 'fr'"),
        ("scores.csv", ["--top", "-2"], "Invalid value for '--top'"),
        ("scores.csv", ["--data", "/no/such/folder"], "/no/such/folder: no such data folder"),
    ],
)
def test_cli_mistakes_exit_1_with_the_reason(scores, tmp_path, capsys, name, args, message):
    scores.to_csv(tmp_path / "scores.csv", index=False)
    (tmp_path / "scores.txt").write_text("account_id\nA001\n")
    scores[["account_id", "as_of"]].to_csv(tmp_path / "thin.csv", index=False)
    with pytest.raises(SystemExit) as exit_info:
        main(["report", str(tmp_path / name), "--out", str(tmp_path / "r.html"), *args])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and message in err and "Traceback" not in err


def test_cli_refuses_an_output_that_is_not_html(scores, tmp_path, capsys):
    scores.to_csv(tmp_path / "scores.csv", index=False)
    with pytest.raises(SystemExit):
        main(["report", str(tmp_path / "scores.csv"), "--out", str(tmp_path / "report.pdf")])
    assert "report.pdf: unknown output format '.pdf'; give a path ending in .html" in capsys.readouterr().err


# -- a real browser -------------------------------------------------------------------------------------------
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


@pytest.fixture
def browser(tmp_path):
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        pytest.skip(f"headless browser test needs {CHROMIUM} and {CHROMEDRIVER} "
                    "(apt-get install -y chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="the browser test needs selenium")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--window-size=1400,2200",
                 f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_report_works_in_a_browser(report_en, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    path, _ = report_en
    browser.get(path.resolve().as_uri())
    assert browser.title.startswith("Key account defection risk")

    def visible_accounts() -> list[str]:
        rows = browser.find_elements(By.CSS_SELECTOR, "#kr-accounts tbody tr")
        return [r.get_attribute("data-account") for r in rows if r.is_displayed()]

    assert visible_accounts() == ORDER
    cards = browser.find_elements(By.CSS_SELECTOR, "article.card")
    assert len(cards) == 6 and all(c.is_displayed() for c in cards)
    assert browser.find_element(By.CSS_SELECTOR, "#card-1 .revenue-chart svg").size["width"] > 100
    name = browser.find_element(By.CSS_SELECTOR, 'tr[data-account="A002"] td:nth-child(2) a').text
    assert name == XSS  # shown as text, never run
    browser.save_screenshot(str(tmp_path / "report.png"))
    shutil.copyfile(tmp_path / "report.png", "/tmp/kamrisk_report.png")

    Select(browser.find_element(By.ID, "filter-band")).select_by_value("high")
    assert visible_accounts() == ["A001", "A002", "A006"]
    assert browser.find_element(By.ID, "kr-count").text == "Showing 3 of 6 accounts"
    assert not browser.find_element(By.ID, "card-3").is_displayed()  # A003 (low) card is filtered too
    Select(browser.find_element(By.ID, "filter-owner")).select_by_visible_text("Anna Schmidt")
    assert visible_accounts() == ["A002"]
    Select(browser.find_element(By.ID, "filter-owner")).select_by_value("*")
    Select(browser.find_element(By.ID, "filter-band")).select_by_value("*")
    assert visible_accounts() == ORDER

    risk_header = browser.find_element(By.CSS_SELECTOR, 'th[data-key="risk"]')
    risk_header.click()
    assert visible_accounts() == ["A001", "A006", "A002", "A004", "A003", "A005"]
    assert risk_header.get_attribute("aria-sort") == "descending"
    risk_header.click()
    assert visible_accounts() == ["A005", "A003", "A004", "A002", "A006", "A001"]
    browser.find_element(By.CSS_SELECTOR, 'th[data-key="change"]').click()  # A006 has no change: last
    assert visible_accounts()[0] == "A001" and visible_accounts()[-1] == "A006"
    browser.find_element(By.CSS_SELECTOR, 'th[data-key="account"]').click()
    assert visible_accounts()[:2] == ["A002", "A003"]  # "<script>…" and "=HYPERLINK…" sort before letters

    search = browser.find_element(By.ID, "kr-search")
    search.send_keys("nordlicht")
    assert visible_accounts() == ["A004"]

    problems = [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]
    assert problems == []


# -- size ---------------------------------------------------------------------------------------------------------
def test_a_big_book_lists_every_account_but_cards_only_the_top_200(scores, tmp_path):
    from kamrisk._report import DEFAULT_TOP

    latest = scores[(scores["as_of"] == AS_OF) & (scores["status"] == "scored")]
    copies = []
    for k in range(5000 // len(latest) + 1):
        copy = latest.copy()
        copy["account_id"] = [f"B{k:04d}{i}" for i in range(len(copy))]
        copy["name"] = copy["name"] + f" {k}"
        copy["revenue_at_risk"] = copy["revenue_at_risk"] * (1 + k / 1000)
        copies.append(copy)
    big = pd.concat(copies, ignore_index=True).head(5000)
    html = write_report(big, tmp_path / "r.html").read_text(encoding="utf-8")
    assert sorted(table_ids(html)) == sorted(big["account_id"])
    assert html.count('<article class="card') == DEFAULT_TOP
    top = big.sort_values("revenue_at_risk", ascending=False)["account_id"].head(DEFAULT_TOP)
    cards = html.split('<section id="cards">', 1)[1]
    assert all(f'data-account="{a}"' in cards for a in top)
    assert len(html.encode("utf-8")) < 2_000_000  # the table is compact JSON; the cards stay a fixed cost


def test_the_report_says_which_model_and_question(scores, tmp_path):
    stamped = scores.assign(model_version="kamrisk v3", horizon_days=180, label_kind="full")
    html = write_report(stamped, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Model kamrisk v3: full defection within 180 days" in html
    zh = write_report(stamped, tmp_path / "zh.html", lang="zh").read_text(encoding="utf-8")
    assert "模型 kamrisk v3：预测180天内全面流失" in zh
    plain = write_report(scores, tmp_path / "plain.html").read_text(encoding="utf-8")
    assert "model-line" not in plain  # scores from before the model was named: no line, no placeholder


def test_a_100000_account_book_gives_an_html_under_15_mb_with_every_account(scores, tmp_path):
    """A synthetic book of 100,000 scored accounts with distinct names (a third Chinese), distinct ids,
    owners, segments and regions by the dozen, and reasons worded with the account's own numbers."""
    rng = np.random.default_rng(16)
    n = 100_000
    latest = scores[(scores["as_of"] == AS_OF) & (scores["status"] == "scored")]
    big = latest.iloc[rng.integers(0, len(latest), n)].reset_index(drop=True)
    big["account_id"] = [f"KA{i:06d}" for i in range(n)]
    big["name"] = [f"苏州联合食品供应链有限公司{i}" if i % 3 == 0 else f"Nordlicht Handel GmbH & Co. KG {i}"
                   for i in range(n)]
    big["owner"] = [f"Owner {k}" for k in rng.integers(0, 60, n)]
    big["segment"] = [f"segment {k}" for k in rng.integers(0, 12, n)]
    big["region"] = [f"region {k}" for k in rng.integers(0, 8, n)]
    big["risk"] = rng.random(n)
    big["band"] = np.where(big["risk"] >= 0.3, "high", np.where(big["risk"] >= 0.15, "medium", "low"))
    big["revenue_12m"] = rng.lognormal(12, 1.5, n).round(2)
    big["revenue_at_risk"] = big["risk"] * big["revenue_12m"]
    templates = ("Revenue down {}% vs the prior 90 days", "{} peer accounts in the same segment defected in the "
                 "last 180 days", "Oldest open complaint raised {} days ago", "Share of orders through the "
                 "distributor up {} points in 180 days")
    big["reason_1"] = [templates[k % 4].format(v) for k, v in zip(rng.integers(0, 4, n), rng.integers(1, 400, n),
                                                                   strict=True)]
    path = write_report(big, tmp_path / "r.html")
    size = path.stat().st_size
    html = path.read_text(encoding="utf-8")
    assert size < 15_000_000, f"{size / 1e6:.1f} MB"
    ids = table_ids(html)
    assert len(ids) == n and set(ids) == set(big["account_id"])  # every account once
    assert html.count('<article class="card') == 200


def test_a_long_table_is_drawn_as_the_reader_scrolls(scores, browser, tmp_path):
    """1,200 accounts: the first 500 rows are drawn, scrolling to the end draws the rest; search finds any."""
    from selenium.webdriver.common.by import By

    latest = scores[(scores["as_of"] == AS_OF) & (scores["status"] == "scored")]
    big = latest.iloc[np.arange(1200) % len(latest)].reset_index(drop=True)
    big["account_id"] = [f"L{i:05d}" for i in range(1200)]
    big["name"] = [f"Long Table Customer {i}" for i in range(1200)]
    path = write_report(big, tmp_path / "r.html", top=3)
    browser.get(path.resolve().as_uri())

    def drawn() -> int:
        return len(browser.find_elements(By.CSS_SELECTOR, "#kr-accounts tbody tr"))

    assert drawn() == 500 and browser.find_element(By.ID, "kr-count").text == "Showing 1,200 of 1,200 accounts"
    for _ in range(50):  # the page draws on its intersection observer's callback: scroll and wait for it
        browser.execute_script("window.scrollTo(0, document.body.scrollHeight)")
        if drawn() == 1200:
            break
        time.sleep(0.2)
    assert drawn() == 1200
    browser.find_element(By.ID, "kr-search").send_keys("l01199")
    assert [r.get_attribute("data-account") for r in browser.find_elements(By.CSS_SELECTOR, "#kr-accounts tbody tr")
            ] == ["L01199"]
    assert browser.find_element(By.ID, "kr-count").text == "Showing 1 of 1,200 accounts"
