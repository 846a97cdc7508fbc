"""A Chinese run says everything in Chinese: reasons, unscorable reasons, category values, the report, its
workbook and the console. English is allowed only where it is data or a name (listed in ALLOWED below).

`english_words` is the check: the visible text, with paths, command lines, option names and the data's
own names, ids and owners taken out, must hold no English word.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pandas as pd
import pytest

import kamrisk
from kamrisk import load_catalog, score, write_report

# English a Chinese run may show, and why:
ALLOWED = {
    "kamrisk",                          # the product's name
    "MLflow", "mlflow",                 # the tracking product's name, and its command in a printed command line
    "AUC", "ROC", "PR", "PSI", "Brier",  # metric names, written so in Chinese texts too
    "champion", "challenger",           # registry aliases the user types (models:/kamrisk@champion)
    "default",                          # the recipe's name, as the user types it (--recipe default)
}
_WORD = re.compile(r"[A-Za-z][A-Za-z'’]+")
# taken out before looking for words: paths and URIs, command lines the user copies, options, env variables
_NOT_TEXT = re.compile(r"\S*[/\\]\S*|--[\w-]+|\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b|mlflow ui\b.*|kamrisk score\b.*")


def english_words(texts, data_words=()) -> list[str]:
    """English words in ``texts`` other than ALLOWED and the words of the data's names, ids and owners."""
    allowed = ALLOWED | set(data_words)
    found = []
    for text in texts:
        for word in _WORD.findall(_NOT_TEXT.sub(" ", str(text))):
            if word not in allowed:
                found.append(word)
    return found


def data_words(accounts: pd.DataFrame) -> set[str]:
    """Words of the accounts' names, ids and owners: data, shown as written."""
    values = pd.concat([accounts[c] for c in ("account_id", "name", "owner") if c in accounts], ignore_index=True)
    return {w for v in values.dropna().astype(str) for w in _WORD.findall(v)}


class _Visible(HTMLParser):
    """Text a reader sees or hovers: text outside script and style, titles, aria labels, placeholders."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        self.texts += [v for k, v in attrs if k in ("title", "aria-label", "placeholder", "alt") and v]

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.texts.append(data)


def visible_html(html: str) -> list[str]:
    parser = _Visible()
    parser.feed(html)
    return parser.texts


def workbook_texts(path) -> list[str]:
    import openpyxl

    workbook = openpyxl.load_workbook(path, read_only=True)
    texts = list(workbook.sheetnames)
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows(values_only=True):
            texts += [v for v in row if isinstance(v, str)]
    return texts


def test_the_check_finds_english_and_spares_data_paths_and_commands():
    assert english_words(["风险 at risk 12%"]) == ["at", "risk"]
    assert english_words(["报告：/tmp/x/report.html"]) == []
    assert english_words(["浏览 MLflow 运行记录：mlflow ui --backend-store-uri sqlite:///a"]) == []
    assert english_words(["Crownwell Retail 风险"], {"Crownwell", "Retail"}) == []
    assert english_words(["MLFLOW_TRACKING_URI=sqlite:///x kamrisk score d --as-of 2026-01-01"]) == []


@pytest.fixture(scope="module")
def zh_scores(trained, sim_data):
    latest = sim_data.end
    dates = [latest - pd.DateOffset(months=1), latest]
    return score(sim_data, trained, as_of=dates, lang="zh").scores


def test_unscorable_reasons_are_chinese_and_status_is_not(zh_scores, trained, sim_data):
    unscorable = zh_scores[zh_scores["status"] == "unscorable"]
    assert len(unscorable), "the small book has unscorable accounts"
    assert set(zh_scores["status"]) == {"scored", "unscorable"}  # the column a program reads: one language
    reasons = unscorable["status_reason"]
    assert reasons.str.contains(r"[\u4e00-\u9fff]").all(), reasons.unique()[:5]
    assert english_words(reasons) == []
    lapsed = unscorable[unscorable["stage"] == "lapsed"]
    assert lapsed["status_reason"].str.match(r"^(已流失：已\d+天未下单|近\d+天没有订单)$").all()
    en = score(sim_data, trained, as_of=[sim_data.end], lang="en").scores
    assert en.loc[en["status"] == "unscorable", "status_reason"].str.match(
        r"^(already defected: no order for \d+ days|no orders in the last \d+ days|no orders before as_of)$").all()


def test_chinese_report_and_workbook_have_no_english(zh_scores, trained, sim_data, tmp_path):
    write_report(zh_scores, tmp_path / "r.html", xlsx=tmp_path / "r.xlsx", lang="zh", top=30, data=sim_data,
                 catalog=trained.trained.catalog)
    words = data_words(sim_data.accounts)
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert english_words(visible_html(html), words) == []
    texts = workbook_texts(tmp_path / "r.xlsx")
    assert texts[:2] == ["客户总览", "流失原因"]
    assert english_words(texts, words) == []
    # category values through the catalog's labels; the data keeps its own values
    assert "华东" in html and "经销商" in " ".join(texts)
    assert {"east", "distributor"} & set(zh_scores["region"]) | set(zh_scores["channel"])


def test_report_in_chinese_of_english_scores_keeps_the_reasons_language(trained, sim_data, tmp_path):
    en = score(sim_data, trained, as_of=[sim_data.end], lang="en").scores
    write_report(en, tmp_path / "r.html", lang="zh", catalog=trained.trained.catalog)
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "原因及无法评分的原因使用评分时所选的语言" in html  # the footnote says so
    # worded at scoring (an action without a cause family is the scored one)
    scored_texts = ["reason_1", "reason_2", "reason_3", "status_reason", "why_no_whatif", "action"]
    reasons = set(en[[c for c in scored_texts if c in en]].fillna("").to_numpy().ravel()) - {""}
    words = data_words(sim_data.accounts) | {w for r in reasons for w in _WORD.findall(r)}
    assert english_words(visible_html(html), words) == []  # everything else is Chinese


def test_label_table_is_validated(tmp_path):
    (tmp_path / "labels.yaml").write_text("segment:\n  retail: {zh: 零售, fr: Détail}\ncolour: {red: {en: Red}}\n",
                                          encoding="utf-8")
    with pytest.raises(kamrisk.CatalogError, match=r"labels.yaml: key segment.retail: unknown language") as error:
        load_catalog(tmp_path, extends=True)
    assert "key 'colour'" in str(error.value)


def test_own_labels_add_to_the_shipped_ones(tmp_path):
    (tmp_path / "labels.yaml").write_text("region:\n  east: {zh: 东部大区}\n  apac: {en: Asia-Pacific, zh: 亚太}\n",
                                          encoding="utf-8")
    catalog = load_catalog(tmp_path, extends=True)
    assert catalog.value_labels("region", "zh")["east"] == "东部大区"
    assert catalog.value_labels("region", "zh")["apac"] == "亚太"
    assert catalog.value_labels("segment", "zh")["retail"] == "零售"  # shipped ones stay
    assert catalog.hash == load_catalog().hash  # display labels do not change what a model reads
    frame = catalog.with_labels(pd.DataFrame({"region": ["east", "mars", ""]}), "zh")
    assert list(frame["region"]) == ["东部大区", "mars", ""]


def test_report_console_in_chinese(zh_scores, sim_data, tmp_path, capsys):
    from kamrisk._cli import main

    scores_file = tmp_path / "s.parquet"
    zh_scores.to_parquet(scores_file)
    main(["report", str(scores_file), "--out", str(tmp_path / "r.html"), "--xlsx", str(tmp_path / "r.xlsx"),
          "--lang", "zh"])
    printed = capsys.readouterr()
    assert "已将" in printed.out and "工作簿" in printed.out
    assert english_words([printed.out, printed.err], data_words(sim_data.accounts)) == []
