"""The simulator's event log: procurement changes, conflicts, strategy shifts, competitors, visits, surveys.

Private to :mod:`kamrisk.sim`. Every account carries a latent *health* that drifts (a weekly
Ornstein-Uhlenbeck process around an account-level mean, with a downward shift for some accounts). Event
rates depend on it: an account heading for trouble gets more complaints, competitor offers and strategy
news, fewer (and less senior) visits and lower survey scores. Health never enters the defection hazard
directly; the hazard reads only the events generated here (:mod:`kamrisk.sim._hazard`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._book import Accounts, season_factor

__all__ = [
    "EVENT_TYPES",
    "EVENT_FAMILY",
    "LEVELS",
    "COMPLAINTS",
    "NEVER",
    "EventLog",
    "make_health",
    "make_campaigns",
    "make_events",
    "note_text",
]

# canonical type -> (family, events per account-year at health 0, health sensitivity beta)
# rate multiplier exp(-beta * health): beta > 0 means more events when the account is unhealthy
_TYPES: dict[str, tuple[str, float, float]] = {
    "retender_notice": ("procurement_change", 0.006, 1.6),
    "purchasing_model_change": ("procurement_change", 0.015, 0.9),
    "new_buyer": ("procurement_change", 0.1, 0.3),
    "payment_term_change": ("procurement_change", 0.06, 0.9),
    "complaint": ("channel_conflict", 0.45, 1.1),
    "quality_complaint": ("channel_conflict", 0.3, 0.7),
    "price_dispute": ("channel_conflict", 0.2, 1.3),
    "cross_region_selling": ("channel_conflict", 0.2, 0.4),
    "late_delivery": ("channel_conflict", 0.8, 0.2),
    "stock_out": ("channel_conflict", 0.5, 0.2),
    "escalation": ("channel_conflict", 0.0, 0.0),  # follows a complaint left open
    "backward_integration": ("strategy_shift", 0.0015, 1.0),
    "private_label": ("strategy_shift", 0.0025, 1.0),
    "merger_acquisition": ("strategy_shift", 0.006, 0.5),
    "leadership_change": ("strategy_shift", 0.012, 0.5),
    "contraction": ("strategy_shift", 0.003, 1.4),
    "competitor_offer": ("competitor_pressure", 0.035, 1.5),
    "competitor_visit": ("competitor_pressure", 0.2, 0.5),
    "visit": ("relationship", 0.0, -0.5),  # rate per account (tier, owner)
    "satisfaction_survey": ("relationship", 0.0, 0.0),  # on a schedule
}
EVENT_TYPES: tuple[str, ...] = tuple(_TYPES)
EVENT_FAMILY: dict[str, str] = {name: spec[0] for name, spec in _TYPES.items()}
COMPLAINTS = ("complaint", "quality_complaint", "price_dispute", "cross_region_selling", "late_delivery",
              "stock_out")
LEVELS = ("executive", "manager", "operational")
NEVER = 10**7  # resolved day of a complaint that is never settled
_NOTES: dict[str, tuple[str, ...]] = {
    "retender_notice": ("Re-tender announced for next year's supply contract", "招标通知: 年度供应商重新招标",
                        "RFQ sent to three suppliers"),
    "purchasing_model_change": ("Buying moves from central to regional purchasing", "采购模式调整为区域采购",
                                "New framework agreement process"),
    "new_buyer": ("New purchasing manager took over", "新采购经理上任", "Buyer replaced after reorganisation"),
    "payment_term_change": ("Payment terms renegotiated", "账期调整"),
    "complaint": ("Invoice errors", "服务响应慢", "Wrong items delivered"),
    "quality_complaint": ("Batch failed incoming inspection", "产品质量问题", "Packaging damaged"),
    "price_dispute": ("Disputes the year-end rebate", "价格争议: 要求降价", "Price increase rejected"),
    "cross_region_selling": ("Goods found in another dealer's territory", "窜货: 发现跨区域销售"),
    "late_delivery": ("Delivery two days late", "交货延迟", "Truck missed the delivery slot"),
    "stock_out": ("Item out of stock in peak season", "缺货", "Backorder on a top seller"),
    "escalation": ("Escalated to the sales director", "升级至区域总经理"),
    "backward_integration": ("Building its own production line", "自建生产线"),
    "private_label": ("Launching an own-brand range", "推出自有品牌"),
    "merger_acquisition": ("Merger announced", "并购重组"),
    "leadership_change": ("New CEO appointed", "新任总经理上任"),
    "contraction": ("Closing two sites", "关闭部分门店"),
    "competitor_offer": ("Competitor offered a lower price", "竞品报价更低", "Competitor offered consignment stock"),
    "competitor_visit": ("Competitor's sales team seen on site", "竞争对手拜访客户"),
    "visit": ("Quarterly business review", "例行拜访", "Site visit", "Dinner with purchasing"),
    "satisfaction_survey": ("Quarterly survey",),
}
_NOTE_OFFSET = np.cumsum([0] + [len(_NOTES[t]) for t in EVENT_TYPES])
_NOTE_LIST = np.asarray([note for t in EVENT_TYPES for note in _NOTES[t]], dtype=object)


def note_text(code: np.ndarray) -> np.ndarray:
    """Note strings of note codes (-1: no note)."""
    out = np.full(len(code), None, dtype=object)
    has = code >= 0
    out[has] = _NOTE_LIST[code[has]]
    return out


@dataclass
class EventLog:
    """All events of the book (true dates), one entry per event, sorted by day.

    ``day`` counts from the simulation start (negative in the burn-in year, which the hazard reads but the
    exported book does not show); ``resolved`` is :data:`NEVER` for a conflict never settled and -1 where
    unused; ``level`` and ``note`` are codes, -1 where unused.
    """

    acc: np.ndarray
    day: np.ndarray
    etype: np.ndarray
    value: np.ndarray
    resolved: np.ndarray
    level: np.ndarray
    note: np.ndarray
    rates_at: np.ndarray  # (types, as_of, accounts): expected events per day at each as_of

    def of(self, *names: str) -> np.ndarray:
        """Mask of the events of the given canonical types."""
        return np.isin(self.etype, [EVENT_TYPES.index(name) for name in names])


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def make_health(rng: np.random.Generator, n: int, weeks: int) -> np.ndarray:
    """Latent account health per week, shape ``(weeks, n)``; about N(0, 1), lower is worse."""
    mean = rng.normal(0.0, 0.8, n)
    shift_week = np.where(rng.random(n) < 0.25, rng.integers(0, weeks, n), weeks)  # a downturn for some
    shift = rng.uniform(0.8, 2.0, n)
    recover_week = shift_week + rng.integers(13, 104, n)
    phi = np.exp(-7.0 / 180.0)
    innovation = 0.6 * np.sqrt(1.0 - phi**2)
    health = np.empty((weeks, n), dtype=np.float32)
    current = mean + rng.normal(0.0, 0.6, n)
    for w in range(weeks):  # weeks, not accounts
        level = mean - shift * ((w >= shift_week) & (w < recover_week))
        current = level + phi * (current - level) + innovation * rng.standard_normal(n)
        health[w] = current
    return health


def make_campaigns(rng: np.random.Generator, groups: int, weeks: int) -> np.ndarray:
    """A competitor's campaign in a segment and region: ``(weeks, groups)`` multiplier of its activity."""
    factor = np.ones((weeks, groups))
    count = np.minimum(rng.poisson(0.3 * weeks / 52.0, groups), 4)
    week = np.arange(weeks)[:, None]
    for c in range(4):  # at most four campaigns per group
        begin = rng.integers(0, weeks, groups)
        length = rng.integers(9, 27, groups)
        active = (count > c) & (week >= begin) & (week < begin + length)
        factor = np.where(active, factor * 3.0, factor)
    return factor


def _type_rates(acc: Accounts, name: str, health: np.ndarray, campaign: np.ndarray, week_days: np.ndarray,
                start: pd.Timestamp) -> np.ndarray:
    """Expected events per day of one type, shape ``(len(week_days), n)`` for the given weeks."""
    family, rate, beta = _TYPES[name]
    if name == "visit":
        base = acc.visit_rate[None, :]
    else:
        base = np.full((1, acc.n), rate)
    lam = base / 365.25 * np.exp(-beta * health)
    seg = acc.segment
    if name == "cross_region_selling":
        lam = lam * np.array([2.0, 2.0, 0.6, 0.3])[acc.channel]
    elif name in ("late_delivery", "stock_out"):  # peak season stretches our supply
        rows = np.broadcast_to(np.arange(acc.n), (len(week_days), acc.n))
        peak = np.maximum(0.0, season_factor(acc, start, week_days[:, None] + 3, rows))
        lam = lam * (1.0 + 2.5 * peak**2)
    elif name == "private_label":
        lam = lam * np.array([0.3, 3.0, 1.5, 0.5, 0.3])[seg]
    elif name == "backward_integration":
        lam = lam * np.array([1.6, 0.5, 0.8, 0.6, 1.4])[seg]
    elif family == "competitor_pressure":
        lam = lam * campaign[:, acc.group]
    return lam


def _expand(rng: np.random.Generator, counts: np.ndarray, week_days: np.ndarray) -> tuple[np.ndarray, ...]:
    week, account = np.nonzero(counts)
    reps = counts[week, account]
    week, account = np.repeat(week, reps), np.repeat(account, reps)
    return week, account, week_days[week] + rng.integers(0, 7, len(week))


def make_events(
    rng: np.random.Generator,
    acc: Accounts,
    health: np.ndarray,
    campaign: np.ndarray,
    first_day: int,
    days: int,
    start: pd.Timestamp,
    as_of_days: np.ndarray,
) -> EventLog:
    """Draw the event log from ``first_day`` (the burn-in) to ``days`` (the data end, exclusive)."""
    weeks = health.shape[0]
    week_days = first_day + 7 * np.arange(weeks)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("acc", "day", "etype", "value", "resolved", "level")}
    as_of_week = (as_of_days - first_day) // 7
    rates_at = np.zeros((len(EVENT_TYPES), len(as_of_days), acc.n), dtype=np.float32)

    def add(code: int, account: np.ndarray, day: np.ndarray, value: np.ndarray | None = None,
            resolved: np.ndarray | None = None, level: np.ndarray | None = None) -> None:
        count = len(account)
        parts["acc"].append(account)
        parts["day"].append(day)
        parts["etype"].append(np.full(count, code, dtype=np.int8))
        parts["value"].append(np.full(count, np.nan) if value is None else value)
        parts["resolved"].append(np.full(count, -1, dtype=np.int64) if resolved is None else resolved)
        parts["level"].append(np.full(count, -1, dtype=np.int8) if level is None else level)

    for code, name in enumerate(EVENT_TYPES):
        if name in ("escalation", "satisfaction_survey"):
            continue
        lam = _type_rates(acc, name, health, campaign, week_days, start)
        rates_at[code] = lam[as_of_week]
        week, account, day = _expand(rng, rng.poisson(lam * 7.0), week_days)
        h = health[week, account].astype(np.float64)
        if name in COMPLAINTS:
            never = rng.random(len(day)) < _expit(-5.0 - 1.5 * h)
            duration = np.ceil(np.exp(rng.normal(np.log(12.0) - 0.35 * h, 0.9))).astype(np.int64)
            resolved = np.where(never, NEVER, day + duration)
            add(code, account, day, resolved=resolved)
            # a conflict still open after three weeks may be escalated above the account team
            open_late = never | (duration > 21)
            esc = open_late & (rng.random(len(day)) < _expit(-2.3 - 0.8 * h))
            add(EVENT_TYPES.index("escalation"), account[esc], day[esc] + 21 + rng.integers(0, 21, int(esc.sum())))
        elif name == "payment_term_change":
            later = rng.random(len(day)) < _expit(0.3 - 0.9 * h)
            size = rng.choice(np.array([15.0, 30.0, 45.0, 60.0]), len(day))
            add(code, account, day, value=np.where(later, size, -size))
        elif name == "competitor_offer":
            gap = rng.uniform(2.0, 10.0, len(day)) + 5.0 * np.maximum(0.0, -h)
            gap += 4.0 * (campaign[week, acc.group[account]] > 1.0)
            add(code, account, day, value=np.where(rng.random(len(day)) < 0.25, np.nan, np.round(gap, 1)))
        elif name == "visit":
            executive = np.minimum(0.5, 0.12 * np.exp(0.6 * h) * np.array([1.8, 1.0, 0.5])[acc.tier[account]])
            u = rng.random(len(day))
            level = np.where(u < executive, 0, np.where(u < executive + 0.4, 1, 2)).astype(np.int8)
            add(code, account, day, level=level)
        else:
            add(code, account, day)
    # satisfaction surveys on each surveyed account's schedule; unhappy accounts answer less often
    surveyed = np.flatnonzero(acc.survey_every > 0)
    every = acc.survey_every[surveyed]
    slots = int(np.ceil((days - first_day) / 91.0)) + 1
    day = first_day + acc.survey_phase[surveyed][:, None] + every[:, None] * np.arange(slots)[None, :]
    account = np.broadcast_to(surveyed[:, None], day.shape)
    inside = day < days
    day, account = day[inside], account[inside]
    h = health[(day - first_day) // 7, account].astype(np.float64)
    answered = rng.random(len(day)) < _expit(2.2 + 0.6 * h)
    score = np.clip(np.round(3.7 + 0.9 * h + rng.normal(0.0, 0.6, len(day))), 1.0, 5.0)
    add(EVENT_TYPES.index("satisfaction_survey"), account[answered], day[answered], value=score[answered])

    log = {k: np.concatenate(v) for k, v in parts.items()}
    keep = (log["day"] >= np.maximum(acc.since[log["acc"]], first_day)) & (log["day"] < days)
    frame = pd.DataFrame({k: v[keep] for k, v in log.items()})
    has_note = rng.random(len(frame)) < 0.4
    options = np.diff(_NOTE_OFFSET)[frame["etype"].to_numpy()]
    pick = np.floor(rng.random(len(frame)) * options).astype(np.int64)
    frame["note"] = np.where(has_note, _NOTE_OFFSET[frame["etype"].to_numpy()] + pick, -1).astype(np.int16)
    # two identical records of one fact (same day, type, level, note) are one event
    frame = frame.drop_duplicates().sort_values(["day", "acc", "etype"], kind="stable")
    return EventLog(
        acc=frame["acc"].to_numpy(np.int64),
        day=frame["day"].to_numpy(np.int64),
        etype=frame["etype"].to_numpy(np.int8),
        value=frame["value"].to_numpy(np.float64),
        resolved=frame["resolved"].to_numpy(np.int64),
        level=frame["level"].to_numpy(np.int8),
        note=frame["note"].to_numpy(np.int16),
        rates_at=rates_at,
    )
