"""The sign catalog: ``features/<family>.yaml`` files, loaded, validated and worded.

Each family file owns its family: its ``role`` (``driver``: a cause the account team can act on;
``symptom``: shows *that* an account leaves, never a cause; ``context``: who the account is, never a
reason), its ``order`` in tables and reports, its display ``name`` and what-if ``fix`` phrase, its
``description`` and ``action`` (the key-account playbook's answer), all in English and Chinese, and its
``signs``. No list of families is written anywhere else: a new family is a new file.

A sign names the ``kind`` (a vectorised function in ``kamrisk._features``) and its ``params``, and carries
a ``description``, a monotone ``direction``, an ``actionable`` flag and ``reason`` templates that quote the
account's own numbers. See ``features/README.md``.

Every problem is collected and reported at once in a :class:`~kamrisk.CatalogError` naming the file, the
sign and the field.
"""

from __future__ import annotations

import hashlib
import math
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ._errors import CatalogError
from ._features._registry import KINDS, UNITS
from ._options import LANGUAGES, check_lang
from ._resources import features_dir
from ._vocabulary import parse_vocabulary

__all__ = ["Catalog", "Sign", "Family", "load_catalog", "LANGUAGES", "ROLES"]

ROLES = ("driver", "symptom", "context")
_FILE_KEYS = ("family", "order", "role", "name", "fix", "description", "action", "signs")
_SIGN_KEYS = ("id", "family", "kind", "params", "description", "direction", "actionable", "reason")
_SIGN_REQUIRED = ("id", "kind", "description", "direction", "actionable", "reason")
_ID = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
_WINDOW_TOKEN = re.compile(r"(?:^|_)(\d+[a-z]*)(?=_|$)")
_DAYS = re.compile(r"^[1-9]\d*d$")
_VOCABULARY = "vocabulary.yaml"
_LABELS = "labels.yaml"  # display labels of account attribute values: not signs, not in the catalog hash
LABEL_COLUMNS = ("segment", "region", "channel", "tier")


@dataclass(frozen=True)
class Family:
    """A sign family: its role, names, what it means and what the account team should do (``en``/``zh``)."""

    id: str
    description: dict[str, str] = field(hash=False)
    action: dict[str, str] = field(hash=False)
    role: str = "driver"
    order: int = 100
    name: dict[str, str] = field(default_factory=dict, hash=False)
    fix: dict[str, str] = field(default_factory=dict, hash=False)

    @property
    def is_cause(self) -> bool:
        """A driver can be the cause an action works on; symptoms and context cannot."""
        return self.role == "driver"

    @property
    def is_reason(self) -> bool:
        """Drivers and symptoms are signs of leaving; context (segment, size) is not."""
        return self.role != "context"


@dataclass(frozen=True)
class Sign:
    """One defection sign of the catalog: a feature column."""

    id: str
    family: str
    kind: str
    params: dict[str, Any] = field(hash=False)
    description: dict[str, str] = field(hash=False)
    direction: int
    actionable: bool
    reason: dict[str, str] = field(hash=False)

    @property
    def unit(self) -> str:
        """What the value is (money, count, days, change, share, ...): sets its formatting."""
        return KINDS[self.kind].unit_for(self.params)


# -- wording -----------------------------------------------------------------------------------------
_MISSING = {"en": "n/a", "zh": "不详"}
_UNKNOWN = {"en": "unknown", "zh": "未知"}
_TREND = {"en": ("down", "flat", "up"), "zh": ("下降", "持平", "上升")}
_FLAG = {"en": ("no", "yes"), "zh": ("否", "是")}


def _whole(text: str) -> str:
    return "0" if text in ("-0", "+0") else text


def _number(value: float) -> str:
    """An integer when whole, else one decimal."""
    return _whole(f"{value:.0f}") if abs(value - round(value)) < 1e-9 else f"{value:.1f}"


def _missing(value: Any) -> bool:
    """None, NaN, NaT or pandas.NA."""
    if isinstance(value, float):  # the common case, without pandas
        return value != value
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # a list or array: not a missing scalar
        return False


def format_value(unit: str, placeholder: str, value: Any, lang: str) -> str:
    """The text of ``placeholder`` for a sign of ``unit`` holding ``value``."""
    if unit == "category":
        return _UNKNOWN[lang] if _missing(value) else str(value)
    if _missing(value):
        return _MISSING[lang]
    v = float(value)
    if not math.isfinite(v):
        return _MISSING[lang]
    if unit in ("money", "count"):
        return _whole(f"{v:,.0f}")
    if unit == "days":
        return f"{v / 365.25:.1f}" if placeholder == "years" else _whole(f"{v:.0f}")
    if unit == "change":
        percent = round(v * 100)
        if placeholder == "trend":
            return _TREND[lang][(percent > 0) - (percent < 0) + 1]
        return f"{abs(percent)}" if placeholder == "pct" else f"{percent:+d}%"
    if unit == "difference":
        shown = round(v, 1)
        if placeholder == "trend":
            return _TREND[lang][(shown > 0) - (shown < 0) + 1]
        return _number(abs(v)) if placeholder == "diff" else ("+" if shown > 0 else "") + _number(v)
    if unit == "share":
        return f"{round(v * 100)}" + ("%" if placeholder == "value" else "")
    if unit == "percent":
        return _whole(f"{v:.0f}")
    if unit in ("ratio", "score"):
        return f"{v:.1f}"
    if unit == "flag":
        return _FLAG[lang][int(v > 0)]
    return _number(v)  # pragma: no cover - every unit is handled above


# a revenue (or order size) change below -100%: the window's net revenue is negative
_NET_RETURN_KINDS = frozenset({"revenue_change", "average_order_size_change"})
_NET_RETURNS = {"en": " (returns and cancellations exceeded new orders)", "zh": "（退货及取消超过新订单）"}
_PLURAL = re.compile(r"\[([^\[\]|]*(?:\|[^\[\]|]*){1,2})\]")


def _plurals(template: str, values: Mapping[str, str]) -> str:
    """``template`` with each ``[one|other]`` (or ``[zero|one|other]``) group replaced by the form that
    fits the number its placeholder shows: the first placeholder of the group's last form, else the nearest
    placeholder before the group, else the template's first."""
    if "[" not in template:
        return template
    fields = [(m.start(), m.group(1)) for m in re.finditer(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", template)]

    def pick(match: re.Match[str]) -> str:
        forms = match.group(1).split("|")
        last = re.findall(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", forms[-1])
        before = [name for position, name in fields if position < match.start()]
        name = last[0] if last else before[-1] if before else (fields[0][1] if fields else None)
        shown = values.get(name, "") if name else ""
        if len(forms) == 3 and shown == "0":
            return forms[0]
        return forms[-2] if shown == "1" else forms[-1]

    return _PLURAL.sub(pick, template)


def _placeholders(template: str) -> list[str]:
    """Field names of a template; ``ValueError`` for broken braces or a format spec."""
    return list(_parsed_placeholders(template))


@lru_cache(maxsize=4096)
def _parsed_placeholders(template: str) -> tuple[str, ...]:
    """:func:`_placeholders`, parsed once per template (a reason is worded for every explained row)."""
    names = []
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ValueError(f"placeholder {{{name}{'!' + conversion if conversion else ''}"
                             f"{':' + spec if spec else ''}}} must be a plain name such as {{pct}}")
        names.append(name)
    return tuple(names)


class Catalog:
    """The validated sign catalog.

    Attributes
    ----------
    signs : list of Sign
        In catalog order (families in their fixed order, signs as written).
    families : dict
        Family id -> :class:`Family`.
    feature_ids : list of str
        Sign ids in catalog order: the feature columns.
    directions : dict
        Sign id -> -1, 0 or +1 (monotone constraints).
    categorical : list of str
        Ids of categorical signs.
    hash : str
        Short sha256 of the catalog files' content (the catalog version).
    path : Path
        The catalog folder.
    """

    def __init__(self, signs: list[Sign], families: dict[str, Family], hash: str, path: Path,
                 vocabulary: Mapping[str, str] | None = None,
                 labels: Mapping[str, Mapping[str, Mapping[str, str]]] | None = None) -> None:
        self.signs = list(signs)
        self.families = dict(families)
        self.hash = hash
        self.path = path
        self.vocabulary = dict(vocabulary or {})
        self.labels = {column: dict(values) for column, values in (labels or {}).items()}
        self._by_id = {s.id: s for s in self.signs}

    def __getstate__(self) -> dict[str, Any]:
        return self.__dict__

    def __setstate__(self, state: dict[str, Any]) -> None:
        state.setdefault("vocabulary", {})
        state.setdefault("labels", {})  # a model saved before labels.yaml existed
        self.__dict__.update(state)

    @property
    def causes(self) -> list[str]:
        """Families that can be the cause an action works on (role ``driver``), in catalog order."""
        return [f for f, fam in self.families.items() if fam.is_cause]

    @property
    def reason_families(self) -> list[str]:
        """Families whose signs may be given as reasons (drivers and symptoms, not context)."""
        return [f for f, fam in self.families.items() if fam.is_reason]

    def family_name(self, family: str, lang: str = "en") -> str:
        """Short display name of a family ("Channel conflict"); an unknown id reads as words."""
        lang = self._lang(lang)
        known = self.families.get(family)
        return (known.name.get(lang) if known else None) or family.replace("_", " ").capitalize()

    def value_labels(self, column: str, lang: str = "en") -> dict[str, str]:
        """``{value: label}`` for an account attribute (segment, region, channel, tier) in ``lang``, from
        ``labels.yaml``; values it does not list are shown as written."""
        lang = self._lang(lang)
        return {value: texts[lang] for value, texts in self.labels.get(column, {}).items() if texts.get(lang)}

    def with_labels(self, frame: Any, lang: str = "en") -> Any:
        """A copy of a DataFrame whose segment, region, channel and tier values read as their labels in
        ``lang`` (values without a label stay as written)."""
        out = frame.copy()
        for column in LABEL_COLUMNS:
            mapping = self.value_labels(column, lang) if column in out.columns else {}
            if mapping:
                values = out[column].astype(object)
                out[column] = values.map(mapping).where(values.isin(list(mapping)), values)
        return out

    def family_fix(self, family: str, lang: str = "en") -> str:
        """The what-if phrase for putting a family right ("Settling the channel conflict")."""
        lang = self._lang(lang)
        known = self.families.get(family)
        if known and known.fix.get(lang):
            return known.fix[lang]
        fallback = {"en": "Settling {name}", "zh": "改善{name}"}[lang]
        return fallback.format(name=self.family_name(family, lang).lower())

    @property
    def feature_ids(self) -> list[str]:
        return [s.id for s in self.signs]

    @property
    def directions(self) -> dict[str, int]:
        return {s.id: s.direction for s in self.signs}

    @property
    def categorical(self) -> list[str]:
        return [s.id for s in self.signs if s.unit == "category"]

    @property
    def units(self) -> dict[str, str]:
        return {s.id: s.unit for s in self.signs}

    def __len__(self) -> int:
        return len(self.signs)

    def __contains__(self, sign_id: object) -> bool:
        return sign_id in self._by_id

    def __repr__(self) -> str:
        return f"Catalog({len(self.signs)} signs in {len(self.families)} families, hash {self.hash})"

    def sign(self, sign_id: str) -> Sign:
        """The sign ``sign_id``; :class:`~kamrisk.CatalogError` when the catalog has none."""
        try:
            return self._by_id[sign_id]
        except KeyError:
            raise CatalogError(f"Unknown sign {sign_id!r}: the catalog at {self.path} has no such sign.") from None

    def family_of(self, sign_id: str) -> str:
        """The family id of sign ``sign_id``."""
        return self.sign(sign_id).family

    @staticmethod
    def _lang(lang: str) -> str:
        return check_lang(lang)

    def reason_text(self, sign_id: str, row: Mapping[str, Any] | Any, lang: str = "en") -> str:
        """The sign's reason, its template filled from ``row``.

        A ``[one|other]`` group of a template (``[zero|one|other]`` with three forms) takes the form that
        fits the number shown by the first placeholder of its last form, else by the placeholder before
        it, else by the template's first placeholder: "1 complaint", "2 complaints", "No visits". A
        revenue or order-size change beyond -100% means returns and cancellations outweighed new orders
        over the window, and the reason says so.

        Parameters
        ----------
        sign_id : str
        row : Series or dict
            Feature values of one (account, as_of); a template may quote other signs of the row.
        lang : {"en", "zh"}

        Examples
        --------
        >>> catalog.reason_text("revenue_change_90d", {"revenue_change_90d": -0.38})  # doctest: +SKIP
        'Revenue down 38% vs the prior 90 days'
        >>> catalog.reason_text("escalations_180d", {"escalations_180d": 1})  # doctest: +SKIP
        '1 escalation in the last 180 days'
        """
        sign = self.sign(sign_id)
        lang = self._lang(lang)
        own = row.get(sign.id) if hasattr(row, "get") else None
        if _missing(own):
            separator = "：" if lang == "zh" else ": "
            return f"{sign.description[lang]}{separator}{_MISSING[lang]}"
        unit = sign.unit
        template = sign.reason[lang]
        values = {}
        for name in _placeholders(template):
            if name in UNITS[unit]:
                values[name] = format_value(unit, name, own, lang)
            else:
                other = self._by_id[name]
                values[name] = format_value(other.unit, "value", row.get(name), lang)
        text = _plurals(template, values).format(**values)
        if sign.kind in _NET_RETURN_KINDS and float(own) < -1.0 and round(float(own) * 100) < -100:
            text += _NET_RETURNS[lang]
        return text

    def reason_texts(self, sign_id: str, frame: pd.DataFrame | Mapping[str, Any], lang: str = "en") -> list[str]:
        """:meth:`reason_text` for every row of ``frame``, reading only the columns the template quotes.

        ``frame`` is a DataFrame, or a mapping of column -> values (one per row, as Python objects)."""
        sign = self.sign(sign_id)
        lang = self._lang(lang)
        quoted = [name for name in _placeholders(sign.reason[lang]) if name not in UNITS[sign.unit]]
        columns = [c for c in dict.fromkeys([sign.id, *quoted]) if c in frame]
        if isinstance(frame, pd.DataFrame):
            records = frame[columns].to_dict("records")
        else:
            rows = zip(*(frame[c] for c in columns), strict=True)
            records = [dict(zip(columns, values, strict=True)) for values in rows]
        return [self.reason_text(sign_id, record, lang) for record in records]

    def quoted_signs(self, sign_id: str) -> list[str]:
        """The other signs a reason template of ``sign_id`` quotes (in either language)."""
        sign = self.sign(sign_id)
        names = [n for lang in LANGUAGES for n in _placeholders(sign.reason[lang]) if n not in UNITS[sign.unit]]
        return list(dict.fromkeys(names))

    def action_text(self, family: str, lang: str = "en") -> str:
        """The playbook action for ``family``."""
        lang = self._lang(lang)
        if family not in self.families:
            raise CatalogError(f"Unknown sign family {family!r}; the catalog has {list(self.families)}.")
        return self.families[family].action[lang]

    def to_frame(self) -> pd.DataFrame:
        """One row per sign: id, family, kind, unit, direction, actionable, description (en, zh)."""
        return pd.DataFrame(
            [
                {"id": s.id, "family": s.family, "kind": s.kind, "unit": s.unit, "direction": s.direction,
                 "actionable": s.actionable, "description_en": s.description["en"],
                 "description_zh": s.description["zh"]}
                for s in self.signs
            ]
        )


# -- loading and validation -----------------------------------------------------------------------------
class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, file: Path, message: str, sign: str | None = None, field_name: str | None = None) -> None:
        where = file.name
        if sign is not None:
            where += f": sign {sign!r}"
        if field_name is not None:
            where += f", field {field_name!r}"
        self.items.append(f"{where}: {message}")


def _texts(value: Any, what: str, problems: _Problems, file: Path, sign: str | None) -> dict[str, str]:
    """A mapping with a non-empty text for each language."""
    if not isinstance(value, Mapping):
        problems.add(file, f"expected a mapping with {list(LANGUAGES)} texts, got {value!r}", sign, what)
        return {}
    for lang in value:
        if lang not in LANGUAGES:
            problems.add(file, f"unknown language {lang!r}; expected {list(LANGUAGES)}", sign, what)
    texts = {}
    for lang in LANGUAGES:
        text = value.get(lang)
        if not isinstance(text, str) or not text.strip():
            problems.add(file, f"missing the {lang!r} translation", sign, f"{what}.{lang}")
        else:
            texts[lang] = text.strip()
    return texts


def _check_sign(raw: Any, position: int, family: str, file: Path, vocabulary: Mapping[str, str],
                known_families: set[str], problems: _Problems) -> Sign | None:
    if not isinstance(raw, Mapping):
        problems.add(file, f"sign #{position} must be a mapping of {list(_SIGN_KEYS)}, got {raw!r}")
        return None
    sign_id = raw.get("id")
    name = sign_id if isinstance(sign_id, str) else f"#{position}"
    before = len(problems.items)
    for key in raw:
        if key not in _SIGN_KEYS:
            problems.add(file, f"unknown key; a sign has {list(_SIGN_KEYS)}", name, str(key))
    for key in _SIGN_REQUIRED:
        if key not in raw:
            problems.add(file, "missing", name, key)
    if not isinstance(sign_id, str) or not _ID.match(sign_id):
        problems.add(file, f"expected a snake_case id such as 'revenue_change_90d', got {sign_id!r}", name, "id")
    else:
        for token in _WINDOW_TOKEN.findall(sign_id):
            if not _DAYS.match(token):
                problems.add(file, f"window {token!r} in the id must be a number of days such as '90d'",
                             name, "id")
    own_family = raw.get("family", family)
    if own_family != family:
        what = "unknown family" if own_family not in known_families else "a sign of another family"
        problems.add(file, f"{what} {own_family!r}; signs of {file.name} belong to {family!r}", name, "family")
    kind = KINDS.get(raw.get("kind"))  # type: ignore[arg-type]
    if "kind" in raw and kind is None:
        problems.add(file, f"unknown kind {raw.get('kind')!r}; known kinds: {sorted(KINDS)}", name, "kind")
    params = raw.get("params") or {}
    if not isinstance(params, Mapping):
        problems.add(file, f"expected a mapping, got {params!r}", name, "params")
        params = {}
    params = dict(params)
    if kind is not None:
        for key, value in params.items():
            spec = kind.params.get(key)
            if spec is None:
                problems.add(file, f"unknown parameter of kind {kind.name!r}; it takes {list(kind.params)}",
                             name, f"params.{key}")
                continue
            try:
                checked = spec.check(value)
            except ValueError as exc:
                problems.add(file, str(exc), name, f"params.{key}")
                continue
            if spec.type == "types":
                for event_type in checked:
                    if event_type not in vocabulary:
                        problems.add(file, f"event type {event_type!r} is not in the vocabulary "
                                           f"({_VOCABULARY}): {sorted(vocabulary)}", name, f"params.{key}")
        for key, spec in kind.params.items():
            if spec.required and key not in params:
                problems.add(file, f"missing; kind {kind.name!r} needs it", name, f"params.{key}")
        window = params.get("window")
        if "window" in kind.params and isinstance(window, str) and _DAYS.match(window) and isinstance(
            sign_id, str
        ) and window not in _WINDOW_TOKEN.findall(sign_id):
            problems.add(file, f"the id must name its window {window!r} (params.window)", name, "id")
    direction = raw.get("direction")
    if "direction" in raw and (isinstance(direction, bool) or direction not in (-1, 0, 1)):
        problems.add(file, f"expected -1, 0 or 1, got {direction!r}", name, "direction")
    if kind is not None and kind.unit_for(params) == "category" and direction not in (0, None):
        problems.add(file, "a categorical sign has no order: its direction must be 0", name, "direction")
    if "actionable" in raw and not isinstance(raw.get("actionable"), bool):
        problems.add(file, f"expected true or false, got {raw.get('actionable')!r}", name, "actionable")
    description = _texts(raw.get("description"), "description", problems, file, name) if "description" in raw \
        else {}
    reason = _texts(raw.get("reason"), "reason", problems, file, name) if "reason" in raw else {}
    if len(problems.items) > before:
        return None
    return Sign(sign_id, family, kind.name, params, description, int(direction), raw["actionable"], reason)


def _check_reasons(signs: list[Sign], files: dict[str, Path], problems: _Problems) -> None:
    ids = {s.id for s in signs}
    for sign in signs:
        offered = UNITS[sign.unit]
        for lang, template in sign.reason.items():
            try:
                names = _placeholders(template)
            except ValueError as exc:
                problems.add(files[sign.id], str(exc), sign.id, f"reason.{lang}")
                continue
            for placeholder in names:
                if placeholder not in offered and placeholder not in ids:
                    problems.add(files[sign.id],
                                 f"placeholder {{{placeholder}}} is not provided: a {sign.unit} sign offers "
                                 f"{sorted('{' + p + '}' for p in offered)}, or name another sign's id",
                                 sign.id, f"reason.{lang}")


def _family_header(family: str, raw: Mapping[str, Any], file: Path, problems: _Problems) -> Family:
    for key in raw:
        if key not in _FILE_KEYS:
            problems.add(file, f"unknown key; a family file has {list(_FILE_KEYS)}", field_name=str(key))
    if raw.get("family", family) != family:
        problems.add(file, f"family {raw.get('family')!r} does not match the file name: this file holds {family!r}",
                     field_name="family")
    role = raw.get("role")
    if role not in ROLES:
        problems.add(file, f"expected one of {list(ROLES)} (driver: a cause the account team can act on; "
                           "symptom: shows that an account leaves; context: who the account is), got {role!r}",
                     field_name="role")
    order = raw.get("order", 100)
    if isinstance(order, bool) or not isinstance(order, int):
        problems.add(file, f"expected a whole number (the family's position in tables), got {order!r}",
                     field_name="order")
        order = 100
    description = _texts(raw.get("description"), "description", problems, file, None)
    action = _texts(raw.get("action"), "action", problems, file, None)
    name = _texts(raw.get("name"), "name", problems, file, None)
    fix = _texts(raw["fix"], "fix", problems, file, None) if "fix" in raw else {}
    if role == "context" and "fix" in raw:
        problems.add(file, "a context family has no what-if: remove fix", field_name="fix")
    return Family(family, description, action, role=str(role), order=order, name=name, fix=fix)


def _parse_labels(content: bytes, file: Path, problems: _Problems) -> dict[str, dict[str, dict[str, str]]]:
    """``{column: {value: {lang: label}}}`` from a labels file; every problem names the file and the key."""
    try:
        raw = yaml.safe_load(content.decode("utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        problems.add(file, f"not valid YAML: {exc}")
        return {}
    if not isinstance(raw, Mapping):
        problems.add(file, f"expected a mapping of {list(LABEL_COLUMNS)} to {{value: {{en: ..., zh: ...}}}}")
        return {}
    labels: dict[str, dict[str, dict[str, str]]] = {}
    for column, values in raw.items():
        if column not in LABEL_COLUMNS:
            problems.add(file, f"key {column!r}: labels are for the account columns {list(LABEL_COLUMNS)}")
            continue
        if not isinstance(values, Mapping):
            problems.add(file, f"key {column!r}: expected a mapping of values to {{en: ..., zh: ...}}")
            continue
        labels[column] = {}
        for value, texts in values.items():
            where = f"key {column}.{value}"
            if isinstance(value, bool) or value is None:
                problems.add(file, f"{where}: YAML read the value as {value!r}; quote it (e.g. 'yes': ...)")
                continue
            if not isinstance(texts, Mapping) or not texts:
                problems.add(file, f"{where}: expected {{en: ..., zh: ...}}, got {texts!r}")
                continue
            unknown = [lang for lang in texts if lang not in LANGUAGES]
            empty = [lang for lang, text in texts.items() if not isinstance(text, str) or not text.strip()]
            if unknown:
                problems.add(file, f"{where}: unknown language(s) {unknown}; expected {list(LANGUAGES)}")
            elif empty:
                problems.add(file, f"{where}: the label in {empty} must be a non-empty text")
            else:
                labels[column][str(value)] = {lang: text.strip() for lang, text in texts.items()}
    return labels


def _parse(folder: Path, contents: tuple[tuple[str, bytes], ...], digest: str) -> Catalog:
    problems = _Problems()
    vocabulary: dict[str, str] = {}
    labels: dict[str, dict[str, dict[str, str]]] = {}
    families: dict[str, Family] = {}
    signs: list[Sign] = []
    files: dict[str, Path] = {}
    parsed: dict[str, tuple[Path, Any]] = {}
    for name, content in contents:
        file = folder / name
        if name == _VOCABULARY:
            try:
                vocabulary = parse_vocabulary(content, file)
            except CatalogError as exc:
                problems.items.append(str(exc))
            continue
        if name == _LABELS:
            labels = _parse_labels(content, file, problems)
            continue
        stem = Path(name).stem
        if not _ID.match(stem):
            problems.add(file, f"a family file is named after its family in snake_case (e.g. supplier_quality.yaml), "
                               f"got {name!r}")
            continue
        try:
            raw = yaml.safe_load(content.decode("utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            problems.add(file, f"not valid YAML: {exc}")
            continue
        parsed[stem] = (file, raw)
    for family, (file, raw) in parsed.items():
        if not isinstance(raw, Mapping):
            problems.add(file, f"expected a mapping with keys {list(_FILE_KEYS)}")
            continue
        families[family] = _family_header(family, raw, file, problems)
    # a fixed family order, whatever the file system lists: the families' own `order`, then their names
    ordered = sorted(families, key=lambda f: (families[f].order, f))
    families = {f: families[f] for f in ordered}
    for family in ordered:
        file, raw = parsed[family]
        entries = raw.get("signs")
        if not isinstance(entries, list) or not entries:
            problems.add(file, "expected a non-empty list of signs", field_name="signs")
            continue
        for position, entry in enumerate(entries, start=1):
            sign = _check_sign(entry, position, family, file, vocabulary, set(families), problems)
            if sign is None:
                continue
            if sign.id in files:
                problems.add(file, f"duplicate id: already defined in {files[sign.id].name}", sign.id, "id")
                continue
            files[sign.id] = file
            signs.append(sign)
    if not parsed and not problems.items:
        problems.add(folder / "*.yaml", f"no family files in {folder}; a family file is <family>.yaml")
    _check_reasons(signs, files, problems)
    if problems.items:
        raise CatalogError(
            f"The sign catalog at {folder} is invalid ({len(problems.items)} problem(s)):\n"
            + "\n".join(f"- {p}" for p in problems.items)
        )
    return Catalog(signs, families, digest, folder, vocabulary, labels)


@lru_cache(maxsize=16)
def _load(folder: Path, contents: tuple[tuple[str, bytes], ...], digest: str) -> Catalog:
    return _parse(folder, contents, digest)


def _layer(folders: list[Path]) -> tuple[tuple[str, bytes], ...]:
    """The effective files of layered catalog folders: a later folder's family file replaces an earlier
    one of the same name; vocabularies are merged (a later folder adds event types), and so are labels
    (a later folder adds values or replaces their labels)."""
    files: dict[str, bytes] = {}
    vocabularies: list[Any] = []
    labels: list[bytes] = []
    for folder in folders:
        for path in sorted(folder.glob("*.yaml")):
            if path.name == _VOCABULARY:
                vocabularies.append(path.read_bytes())
            elif path.name == _LABELS:
                labels.append(path.read_bytes())
            else:
                files[path.name] = path.read_bytes()
    if len(vocabularies) == 1:
        files[_VOCABULARY] = vocabularies[0]
    elif vocabularies:
        merged: dict[str, Any] = {}
        for content in vocabularies:
            try:
                raw = yaml.safe_load(content.decode("utf-8")) or {}
            except (yaml.YAMLError, UnicodeDecodeError):
                raw = {}
            for family, types in (raw.items() if isinstance(raw, Mapping) else []):
                if isinstance(types, Mapping) and isinstance(merged.get(family), Mapping):
                    merged[family] = {**merged[family], **types}
                else:
                    merged[family] = types
        files[_VOCABULARY] = yaml.safe_dump(merged, allow_unicode=True, sort_keys=False).encode("utf-8")
    if labels:
        files[_LABELS] = _merge_labels(labels)
    return tuple(sorted(files.items()))


def _merge_labels(contents: list[bytes]) -> bytes:
    """Label files merged value by value, the later winning; a file that is not a mapping of mappings is
    passed on alone, so that parsing names its problem."""
    merged: dict[Any, dict[Any, Any]] = {}
    for content in contents:
        try:
            raw = yaml.safe_load(content.decode("utf-8")) or {}
        except (yaml.YAMLError, UnicodeDecodeError):
            return content
        if not isinstance(raw, Mapping) or not all(isinstance(v, Mapping) for v in raw.values()):
            return content
        for column, values in raw.items():
            merged.setdefault(column, {}).update(values)
    return contents[0] if len(contents) == 1 else yaml.safe_dump(merged, allow_unicode=True).encode("utf-8")


def load_catalog(path: str | Path | None = None, *, extends: bool = False) -> Catalog:
    """Load and validate the sign catalog (cached while its files are unchanged).

    Parameters
    ----------
    path : str or Path, optional
        A catalog folder; the shipped ``features/`` by default (``KAMRISK_FEATURES_DIR`` overrides).
    extends : bool, default False
        Read ``path`` on top of the shipped catalog: its family files add new families (or replace a
        shipped family file of the same name) and its ``vocabulary.yaml`` adds event types. This is how a
        user adds their own signs without forking kamrisk (``kamrisk train --catalog DIR`` does it).

    Raises
    ------
    CatalogError
        Naming file, sign and field of every problem found.
    """
    folders = [features_dir()] if path is None or extends else []
    if path is not None:
        folders.append(Path(path))
    for folder in folders:
        if not folder.is_dir():
            raise CatalogError(
                f"{folder}: no such catalog folder; give the folder holding the <family>.yaml files."
            )
    folders = [f.resolve() for f in folders]
    contents = _layer(folders)
    digest = hashlib.sha256()
    for name, content in contents:
        if name != _LABELS:  # display labels do not change what a model reads
            digest.update(name.encode() + b"\0" + hashlib.sha256(content).digest())
    return _load(folders[-1], contents, digest.hexdigest()[:16])
