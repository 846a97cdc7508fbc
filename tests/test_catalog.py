"""The sign catalog: it loads, every validation case names file, sign and field, reasons read well."""

from __future__ import annotations

import math
import shutil

import pytest
import yaml

from kamrisk import Catalog, CatalogError, OptionError, load_catalog
from kamrisk._resources import features_dir

SHIPPED = ["shrinking_orders", "procurement_change", "channel_conflict", "strategy_shift", "competitor_pressure",
           "relationship", "contagion", "account_context"]


def _sign(**overrides):
    sign = {
        "id": "revenue_90d",
        "kind": "revenue",
        "params": {"window": "90d"},
        "description": {"en": "Net revenue over 90 days", "zh": "近90天净营收"},
        "direction": 0,
        "actionable": False,
        "reason": {"en": "Revenue of {money} in 90 days", "zh": "近90天营收{money}"},
    }
    sign.update(overrides)
    return sign


def _write(folder, signs, name="shrinking_orders", **extra):
    content = {
        "family": name,
        "order": {"shrinking_orders": 1, "relationship": 6}.get(name, 50),
        "role": "symptom",
        "name": {"en": "Shrinking orders", "zh": "订单萎缩"},
        "description": {"en": "Orders shrink", "zh": "订单萎缩"},
        "action": {"en": "Share-of-wallet review", "zh": "采购份额评估"},
        "signs": signs,
        **extra,
    }
    (folder / f"{name}.yaml").write_text(yaml.safe_dump(content, allow_unicode=True), encoding="utf-8")
    return folder


def test_shipped_catalog_loads_with_every_family():
    catalog = load_catalog()
    assert isinstance(catalog, Catalog)
    assert list(catalog.families) == SHIPPED  # each file's `order`, whatever the file system lists
    assert catalog.causes == SHIPPED[1:-1]  # drivers: what an action can work on
    assert catalog.reason_families == SHIPPED[:-1]  # context is never a reason
    assert catalog.family_name("relationship") == "Cooling relationship"
    assert catalog.family_fix("channel_conflict", "zh") == "解决渠道冲突"
    assert catalog.vocabulary["retender_notice"] == "procurement_change"
    assert catalog.feature_ids == [s.id for s in catalog.signs]
    assert len(set(catalog.feature_ids)) == len(catalog.feature_ids)
    assert {"revenue_365d", "recency_gap_ratio", "days_since_last_order"} <= set(catalog.feature_ids)
    assert catalog.categorical == ["segment", "region", "channel", "tier"]
    assert set(catalog.directions.values()) <= {-1, 0, 1}
    assert catalog.family_of("open_complaints") == "channel_conflict"
    assert all(catalog.directions[c] == 0 for c in catalog.categorical)
    for family in catalog.families.values():
        assert family.description["en"] and family.description["zh"] and family.action["zh"]
    assert "re-tender" in catalog.action_text("procurement_change")
    assert "高层" in catalog.action_text("relationship", "zh")
    assert load_catalog() is catalog  # cached while the files are unchanged


def test_catalog_is_found_through_the_environment(tmp_path, monkeypatch):
    _write(tmp_path, [_sign()])
    shutil.copy(features_dir() / "vocabulary.yaml", tmp_path)
    monkeypatch.setenv("KAMRISK_FEATURES_DIR", str(tmp_path))
    assert load_catalog().feature_ids == ["revenue_90d"]


def test_hash_is_stable_and_follows_the_content(tmp_path):
    shipped = load_catalog()
    copy = tmp_path / "features"
    shutil.copytree(features_dir(), copy)
    assert load_catalog(copy).hash == shipped.hash == load_catalog(features_dir()).hash
    target = copy / "relationship.yaml"
    target.write_text(target.read_text(encoding="utf-8").replace("direction: -1", "direction: 0"),
                      encoding="utf-8")
    changed = load_catalog(copy)
    assert changed.hash != shipped.hash
    assert changed.directions["satisfaction_last"] == 0


@pytest.mark.parametrize(
    ("sign", "pattern"),
    [
        (_sign(colour="red"), r"shrinking_orders\.yaml: sign 'revenue_90d', field 'colour': unknown key"),
        (_sign(id="revenue_3m"), r"sign 'revenue_3m', field 'id': window '3m' in the id"),
        (_sign(params={"window": "90 days"}), r"sign 'revenue_90d', field 'params.window': .*not a window"),
        (_sign(params={"window": "30d"}), r"sign 'revenue_90d', field 'id': the id must name its window '30d'"),
        (_sign(params={}), r"sign 'revenue_90d', field 'params.window': missing"),
        (_sign(params={"window": "90d", "colour": 1}), r"field 'params.colour': unknown parameter"),
        (_sign(direction=2), r"sign 'revenue_90d', field 'direction': expected -1, 0 or 1, got 2"),
        (_sign(direction=True), r"field 'direction': expected -1, 0 or 1"),
        (_sign(actionable="yes"), r"field 'actionable': expected true or false"),
        (_sign(description={"en": "Revenue"}), r"sign 'revenue_90d', field 'description.zh': missing the 'zh'"),
        (_sign(reason={"en": "Revenue {money}", "zh": ""}), r"field 'reason.zh': missing the 'zh' translation"),
        (_sign(reason={"en": "Revenue {money}", "zh": "营收", "fr": "Chiffre"}), r"unknown language 'fr'"),
        (_sign(kind="revenue_magic"), r"sign 'revenue_90d', field 'kind': unknown kind 'revenue_magic'"),
        (_sign(family="gossip"), r"sign 'revenue_90d', field 'family': unknown family 'gossip'"),
        (_sign(family="relationship"), r"field 'family': a sign of another family"),
        (_sign(reason={"en": "Revenue {percent}", "zh": "营收{money}"}),
         r"sign 'revenue_90d', field 'reason.en': placeholder \{percent\} is not provided"),
        (_sign(reason={"en": "Revenue {money:.2f}", "zh": "营收{money}"}), r"field 'reason.en': .*plain name"),
        (_sign(reason={"en": "Revenue {money", "zh": "营收{money}"}), r"field 'reason.en'"),
        (_sign(id="complaints_90d", kind="event_count", params={"types": ["complaint", "grumble"], "window": "90d"},
               reason={"en": "{count}", "zh": "{count}"}),
         r"sign 'complaints_90d', field 'params.types': event type 'grumble' is not in the vocabulary"),
        (_sign(id="segment", kind="account_attribute", params={"column": "segment"}, direction=1,
               reason={"en": "Segment {value}", "zh": "{value}"}),
         r"sign 'segment', field 'direction': a categorical sign has no order"),
        (_sign(id="Revenue 90d"), r"field 'id': expected a snake_case id"),
    ],
)
def test_each_invalid_sign_is_named_by_file_sign_and_field(tmp_path, sign, pattern):
    _write(tmp_path, [sign])
    _write(tmp_path, [_sign(id="revenue_30d", params={"window": "30d"})], name="relationship")
    with pytest.raises(CatalogError, match=pattern):
        load_catalog(tmp_path)


def test_duplicate_ids_name_both_files(tmp_path):
    _write(tmp_path, [_sign()])
    _write(tmp_path, [_sign()], name="relationship")
    with pytest.raises(CatalogError, match=r"relationship\.yaml: sign 'revenue_90d', field 'id': duplicate id: "
                                           r"already defined in shrinking_orders\.yaml"):
        load_catalog(tmp_path)


def test_file_level_problems(tmp_path):
    (tmp_path / "Gossip File.yaml").write_text("signs: []\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"Gossip File\.yaml: a family file is named after its family"):
        load_catalog(tmp_path)
    (tmp_path / "Gossip File.yaml").unlink()
    _write(tmp_path, [_sign()], role="villain")
    with pytest.raises(CatalogError, match=r"shrinking_orders\.yaml, field 'role': expected one of "
                                           r"\['driver', 'symptom', 'context'\]"):
        load_catalog(tmp_path)
    _write(tmp_path, [_sign()])
    path = tmp_path / "shrinking_orders.yaml"
    content = yaml.safe_load(path.read_text(encoding="utf-8"))
    path.write_text(yaml.safe_dump({**content, "name": {"en": "Shrinking"}}), encoding="utf-8")
    with pytest.raises(CatalogError, match=r"shrinking_orders\.yaml, field 'name\.zh': missing the 'zh'"):
        load_catalog(tmp_path)
    _write(tmp_path, [_sign()], owner="me")
    with pytest.raises(CatalogError, match=r"shrinking_orders\.yaml, field 'owner': unknown key"):
        load_catalog(tmp_path)
    _write(tmp_path, [_sign()], action={"en": "Review"})
    with pytest.raises(CatalogError, match=r"shrinking_orders\.yaml, field 'action\.zh': missing the 'zh'"):
        load_catalog(tmp_path)
    (tmp_path / "shrinking_orders.yaml").write_text("signs: [\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"shrinking_orders\.yaml: not valid YAML"):
        load_catalog(tmp_path)
    with pytest.raises(CatalogError, match="no such catalog folder"):
        load_catalog(tmp_path / "absent")


def test_every_problem_is_reported_at_once(tmp_path):
    _write(tmp_path, [_sign(direction=5), _sign(id="revenue_30d", params={"window": "30d"}, kind="nope")])
    with pytest.raises(CatalogError, match=r"2 problem\(s\)") as info:
        load_catalog(tmp_path)
    assert "'direction'" in str(info.value) and "'kind'" in str(info.value)


def _sample(unit):
    return {"money": 1234567.4, "count": 3.0, "days": 75.0, "change": -0.384, "difference": -2.0,
            "share": 0.25, "percent": 12.0, "ratio": 2.46, "score": 2.5, "flag": 1.0, "category": "retail"}[unit]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_reason_template_fills_in_both_languages(lang):
    catalog = load_catalog()
    row = {s.id: _sample(s.unit) for s in catalog.signs}
    missing = {s.id: math.nan for s in catalog.signs}
    for sign in catalog.signs:
        for values in (row, {**row, **{k: v for k, v in missing.items() if k != sign.id}},
                       {**row, sign.id: math.nan}):
            text = catalog.reason_text(sign.id, values, lang)
            assert text and "{" not in text and "}" not in text, (sign.id, text)
            assert "nan" not in text.lower() and "None" not in text, (sign.id, text)


def test_reasons_quote_the_accounts_numbers():
    catalog = load_catalog()
    assert catalog.reason_text("revenue_change_90d", {"revenue_change_90d": -0.384}) == \
        "Revenue down 38% vs the prior 90 days"
    assert catalog.reason_text("revenue_change_90d", {"revenue_change_90d": 0.5}, "zh") == "近90天营收较前90天上升50%"
    row = {"open_complaints": 2.0, "oldest_open_complaint_days": 75.4}
    assert catalog.reason_text("open_complaints", row) == "2 complaints open, the oldest for 75 days"
    assert catalog.reason_text("open_complaints", row, "zh") == "2项投诉未解决，最早一项已75天"
    assert catalog.reason_text("revenue_365d", {"revenue_365d": 1234567.4}) == \
        "Revenue of 1,234,567 in the last 12 months"
    assert catalog.reason_text("executive_visit_share_365d", {"executive_visit_share_365d": 0.125}) == \
        "Only 12% of visits in the last 12 months at executive level"
    assert catalog.reason_text("segment", {"segment": "retail"}) == "Segment retail"
    assert catalog.reason_text("segment", {"segment": math.nan}, "zh") == "客户所属细分行业：不详"
    assert catalog.reason_text("recency_gap_ratio", {"recency_gap_ratio": 2.46, "days_since_last_order": 120,
                                                     "typical_reorder_gap_days": 48.8}) == \
        "No order for 120 days, 2.5 times its usual gap of 49 days"
    assert catalog.reason_text("revenue_change_90d", {}) == \
        "Revenue of the last 90 days against the 90 days before: n/a"


def test_unknown_names_raise_catalog_errors():
    catalog = load_catalog()
    with pytest.raises(CatalogError, match="Unknown sign 'foo'"):
        catalog.reason_text("foo", {})
    with pytest.raises(OptionError, match=r"lang must be one of \['en', 'zh'\], got 'fr'"):
        catalog.reason_text("revenue_365d", {"revenue_365d": 1.0}, "fr")
    with pytest.raises(CatalogError, match="Unknown sign family 'gossip'"):
        catalog.action_text("gossip")


SUPPLIER_QUALITY = {
    "family": "supplier_quality",
    "order": 6,
    "role": "driver",
    "name": {"en": "Quality problems", "zh": "质量问题"},
    "fix": {"en": "Fixing the quality problems", "zh": "解决质量问题"},
    "description": {"en": "Our deliveries fail the account's quality checks.", "zh": "我方交付未通过客户质检。"},
    "action": {"en": "Send a quality engineer with a corrective plan.", "zh": "派质量工程师带整改方案上门。"},
    "signs": [{
        "id": "failed_inspections_180d", "kind": "event_count",
        "params": {"types": ["failed_inspection"], "window": "180d"},
        "description": {"en": "Failed incoming inspections in the last 180 days", "zh": "近180天来料检验不合格次数"},
        "direction": 1, "actionable": True,
        "reason": {"en": "{count} failed inspections in the last 180 days", "zh": "近180天来料检验不合格{count}次"},
    }],
}


def write_own_family(folder):
    """A user's own sign folder: one new family file and the event type it reads."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "supplier_quality.yaml").write_text(yaml.safe_dump(SUPPLIER_QUALITY, allow_unicode=True),
                                                  encoding="utf-8")
    (folder / "vocabulary.yaml").write_text(
        "supplier_quality:\n  failed_inspection: an incoming inspection of our goods failed\n", encoding="utf-8")
    return folder


def test_a_new_family_is_one_file_on_top_of_the_shipped_catalog(tmp_path):
    own = write_own_family(tmp_path / "my_signs")
    catalog = load_catalog(own, extends=True)
    shipped = load_catalog()
    assert catalog.hash != shipped.hash
    assert list(catalog.families) == [*SHIPPED[:6], "supplier_quality", *SHIPPED[6:]]  # order 6, then by name
    assert set(shipped.feature_ids) < set(catalog.feature_ids)
    assert catalog.family_of("failed_inspections_180d") == "supplier_quality"
    assert "supplier_quality" in catalog.causes
    assert catalog.vocabulary["failed_inspection"] == "supplier_quality"
    assert catalog.vocabulary["retender_notice"] == "procurement_change"  # the shipped vocabulary stays
    assert catalog.family_fix("supplier_quality") == "Fixing the quality problems"
    assert catalog.reason_text("failed_inspections_180d", {"failed_inspections_180d": 3.0}, "zh") == \
        "近180天来料检验不合格3次"
    assert load_catalog(own).families.keys() == {"supplier_quality"}  # alone, without extends


def test_a_new_familys_signs_read_only_event_types_of_the_vocabulary(tmp_path):
    own = write_own_family(tmp_path / "my_signs")
    (own / "vocabulary.yaml").unlink()
    with pytest.raises(CatalogError, match=r"supplier_quality\.yaml: sign 'failed_inspections_180d', field "
                                           r"'params.types': event type 'failed_inspection' is not in the vocabulary"):
        load_catalog(own, extends=True)
