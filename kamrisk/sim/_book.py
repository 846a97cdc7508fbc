"""The simulator's master data and order book: who the key accounts are and how they buy.

Private to :mod:`kamrisk.sim`. Everything is vectorised over accounts; days are integers counted
from the simulation start (day 0), negative before it.

An account's revenue is ``annual revenue x seasonality x trend x demand shocks``, delivered as a renewal
process of orders around the account's reorder rhythm. A defection multiplies what the account buys from us
by a share-of-wallet factor ``m(t)`` that runs down over the transition; orders are thinned with probability
``sqrt(m)`` and shrink by ``sqrt(m)``, so both their frequency and their size fall and revenue follows ``m``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "SEGMENTS",
    "REGIONS",
    "CHANNELS",
    "TIERS",
    "CATEGORIES",
    "Accounts",
    "OrderSchedule",
    "make_accounts",
    "make_schedule",
    "defection_multiplier",
    "kept_orders",
    "last_order_days",
    "month_of_year",
    "season_factor",
    "order_rows",
]

SEGMENTS = ("industrial", "retail", "foodservice", "healthcare", "construction")
_SEGMENT_WEIGHTS = np.array([0.30, 0.20, 0.18, 0.12, 0.20])
_SEGMENT_PEAK_MONTH = np.array([10.0, 12.0, 7.0, 1.0, 6.0])  # the month the segment buys most
REGIONS = ("north", "east", "south", "west", "central")
_REGION_WEIGHTS = np.array([0.20, 0.27, 0.23, 0.13, 0.17])
CHANNELS = ("distributor", "dealer", "retail_chain", "direct")
_CHANNEL_BY_SEGMENT = np.array(  # P(channel | segment), rows follow SEGMENTS
    [
        [0.45, 0.20, 0.00, 0.35],
        [0.20, 0.10, 0.60, 0.10],
        [0.50, 0.15, 0.15, 0.20],
        [0.50, 0.10, 0.10, 0.30],
        [0.35, 0.40, 0.05, 0.20],
    ]
)
TIERS = ("strategic", "key", "standard")
_INTERVALS = np.array([7.0, 14.0, 30.0, 60.0, 91.0])  # reorder rhythm: weekly to quarterly
_INTERVAL_BY_CHANNEL = np.array(  # P(rhythm | channel), rows follow CHANNELS
    [
        [0.15, 0.35, 0.35, 0.10, 0.05],
        [0.10, 0.30, 0.40, 0.15, 0.05],
        [0.45, 0.35, 0.15, 0.05, 0.00],
        [0.05, 0.15, 0.35, 0.25, 0.20],
    ]
)
CATEGORIES = ("fasteners", "adhesives", "packaging", "cleaning", "safety", "tools", "lubricants", "electrical")
_CATEGORY_CODES = ("FST", "ADH", "PKG", "CLN", "SAF", "TOL", "LUB", "ELC")
_PRODUCTS_PER_CATEGORY = 6

_EN_FIRST = ("North", "Blue", "Summit", "River", "Golden", "Pacific", "Union", "Pioneer", "Eagle", "Crown",
             "Harbor", "Granite", "Silver", "Oak", "Delta", "Apex", "Metro", "Prime", "Star", "Valley")
_EN_SECOND = ("tech", "field", "bridge", "stone", "way", "line", "point", "gate", "mark", "wood", "well", "ridge")
_EN_SECTOR = (
    ("Industrial Supply", "Manufacturing", "Machinery", "Components"),
    ("Retail Group", "Stores", "Markets", "Home Centers"),
    ("Foodservice", "Catering", "Food Partners", "Hospitality"),
    ("Health Systems", "Medical Supply", "Clinics", "Care Group"),
    ("Construction", "Building Materials", "Contractors", "Builders"),
)
_EN_LEGAL = ("Ltd", "GmbH", "Inc.", "Co.", "AG", "LLC", "plc")
_ZH_CITY = ("上海", "苏州", "广州", "深圳", "成都", "武汉", "杭州", "南京", "天津", "西安", "重庆", "青岛", "郑州",
            "长沙", "沈阳", "宁波", "佛山", "合肥")
_ZH_BRAND = ("华盛", "宏达", "金鼎", "恒泰", "永兴", "联合", "新世纪", "东方", "瑞丰", "嘉禾", "鑫源", "中天", "隆基",
             "百川", "海纳", "广源", "同创", "汇通")
_ZH_SECTOR = (
    ("工业品", "机电设备", "五金机械", "精密制造"),
    ("超市", "连锁商贸", "百货", "便利连锁"),
    ("餐饮管理", "食品供应链", "酒店用品", "餐饮连锁"),
    ("医药", "医疗器械", "医疗供应链", "健康产业"),
    ("建材", "建设工程", "装饰工程", "建筑安装"),
)
_OWNER_FAMILY = ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu", "Becker", "Fischer",
                 "Weber", "Smith", "Brown", "Garcia", "Rossi", "Dubois", "Novak", "Tanaka")
_OWNER_GIVEN = ("Lei", "Na", "Wei", "Fang", "Jun", "Min", "Hui", "Jie", "Anna", "Lukas", "Sophie", "Jonas", "Emma",
                "David", "Laura", "Marco", "Claire", "Petra", "Ken", "Mei")


@dataclass
class Accounts:
    """The latent and public attributes of every account (arrays of length ``n``).

    ``revenue`` is our annual revenue with the account at the start: its ``wallet`` (what it spends in our
    categories) times our ``share`` of it. ``interval`` is its reorder rhythm in days, ``lines`` its
    product categories in order of preference (the first ``n_lines`` are bought), ``since`` the first day
    of the relationship (negative: before the start), ``group`` its segment x region peer group.
    """

    n: int
    ids: np.ndarray
    segment: np.ndarray
    region: np.ndarray
    channel: np.ndarray
    tier: np.ndarray
    group: np.ndarray
    wallet: np.ndarray
    share: np.ndarray
    revenue: np.ndarray
    interval: np.ndarray
    n_lines: np.ndarray
    lines: np.ndarray
    peak_month: np.ndarray
    amplitude: np.ndarray
    growth: np.ndarray
    since: np.ndarray
    visit_rate: np.ndarray
    survey_every: np.ndarray
    survey_phase: np.ndarray
    frame: pd.DataFrame


@dataclass
class OrderSchedule:
    """Every order an account would place if it never defected, as ``(n, k)`` arrays.

    ``day`` is the order day, ``amount`` its value before any defection, ``other`` the demand-shock
    multiplier (a dip below 1, a bulk order above 1), ``keep_u`` the uniform that thins it and ``valid``
    whether it lies in ``[max(0, since), horizon)``. ``final_u`` places a full defector's last order when
    thinning left none in its transition.
    """

    day: np.ndarray
    amount: np.ndarray
    other: np.ndarray
    keep_u: np.ndarray
    valid: np.ndarray
    final_u: np.ndarray


def _choice_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of ``probs`` (each row sums to 1)."""
    cumulative = np.cumsum(probs, axis=1)
    cumulative[:, -1] = 1.0
    return (rng.random(len(probs))[:, None] >= cumulative).sum(axis=1)


def _names(rng: np.random.Generator, segment: np.ndarray) -> np.ndarray:
    n = len(segment)
    variant = rng.integers(0, 4, n)
    en = (
        pd.Series(np.asarray(_EN_FIRST)[rng.integers(0, len(_EN_FIRST), n)])
        + pd.Series(np.asarray(_EN_SECOND)[rng.integers(0, len(_EN_SECOND), n)])
        + " "
        + pd.Series(np.asarray(_EN_SECTOR, dtype=object)[segment, variant])
        + " "
        + pd.Series(np.asarray(_EN_LEGAL)[rng.integers(0, len(_EN_LEGAL), n)])
    )
    zh = (
        pd.Series(np.asarray(_ZH_CITY)[rng.integers(0, len(_ZH_CITY), n)])
        + pd.Series(np.asarray(_ZH_BRAND)[rng.integers(0, len(_ZH_BRAND), n)])
        + pd.Series(np.asarray(_ZH_SECTOR, dtype=object)[segment, variant])
        + "有限公司"
    )
    names = en.where(rng.random(n) < 0.5, zh)
    repeat = names.groupby(names).cumcount()  # a second firm of the same name gets a branch number
    names = names.where(repeat == 0, names + " (" + (repeat + 1).astype(str) + ")")
    return names.to_numpy(dtype=object)


def _owners(rng: np.random.Generator, region: np.ndarray, per_owner: float = 32.0) -> np.ndarray:
    """Account managers, each covering 25-40 accounts of one region."""
    pool = (
        pd.Series(np.repeat(_OWNER_GIVEN, len(_OWNER_FAMILY)))
        + " "
        + pd.Series(np.tile(_OWNER_FAMILY, len(_OWNER_GIVEN)))
    ).to_numpy(dtype=object)
    pool = pool[rng.permutation(len(pool))]
    owner = np.empty(len(region), dtype=object)
    used = 0
    for r in range(len(REGIONS)):  # five regions, not accounts
        members = np.flatnonzero(region == r)
        k = max(1, int(round(len(members) / per_owner)))
        names = np.array([f"{pool[(used + j) % len(pool)]}" + ("" if used + j < len(pool) else f" {used + j}")
                          for j in range(k)], dtype=object)
        owner[members] = names[rng.integers(0, k, len(members))]
        used += k
    return owner


def make_accounts(rng: np.random.Generator, n: int, days: int, start: pd.Timestamp) -> Accounts:
    """Draw ``n`` key accounts: master data, revenue scale, buying rhythm, seasonality and tenure."""
    segment = rng.choice(len(SEGMENTS), n, p=_SEGMENT_WEIGHTS)
    region = rng.choice(len(REGIONS), n, p=_REGION_WEIGHTS)
    channel = _choice_rows(rng, _CHANNEL_BY_SEGMENT[segment])
    # what the account spends in our categories (lognormal: ~80% of revenue in the top 20% of accounts)
    # and our share of that wallet; our revenue is their product, and a defection cuts the share
    wallet = np.exp(rng.normal(np.log(450_000.0), 1.55, n))
    share = rng.beta(4.0, 3.0, n)
    revenue = wallet * share
    rank = (np.argsort(np.argsort(-revenue)) + 0.5) / n  # 0 = largest
    tier = np.where(rank < 0.10, 0, np.where(rank < 0.35, 1, 2))
    interval_probs = _INTERVAL_BY_CHANNEL[channel].copy()
    interval_probs[rank < 0.2, :2] *= 1.6  # the largest accounts order more often
    interval_probs /= interval_probs.sum(axis=1, keepdims=True)
    interval = _INTERVALS[_choice_rows(rng, interval_probs)]
    n_lines = 1 + rng.binomial(len(CATEGORIES) - 1, 0.15 + 0.5 * (1.0 - rank))
    lines = np.argsort(rng.random((n, len(CATEGORIES))), axis=1).astype(np.int8)
    peak_month = (_SEGMENT_PEAK_MONTH[segment] + np.round(rng.normal(0.0, 0.8, n)) - 1.0) % 12.0 + 0.5
    amplitude = rng.uniform(0.05, 0.45, n)
    growth = rng.normal(0.03, 0.08, n)
    # a lognormal tenure (median 5 years), at most 60 years: a relationship older than that is a typo
    tenure_days = np.minimum(np.exp(rng.normal(np.log(5.0), 0.7, n)), 60.0) * 365.25
    since = -np.ceil(tenure_days).astype(np.int64)
    new = rng.random(n) < 0.04  # a few accounts are won during the simulation
    since[new] = rng.integers(30, max(31, int(0.6 * days)), int(new.sum()))
    owner = _owners(rng, region)
    owner_factor = pd.Series(np.exp(rng.normal(0.0, 0.25, len(set(owner)))),
                             index=sorted(set(owner))).reindex(owner).to_numpy()
    visit_rate = np.array([20.0, 10.0, 5.0])[tier] * owner_factor * np.exp(rng.normal(0.0, 0.2, n))
    has_survey = rng.random(n) < np.array([0.85, 0.6, 0.4])[tier]
    survey_every = np.where(has_survey, np.where(rng.random(n) < 0.75, 91, 182), 0)
    survey_phase = np.floor(rng.random(n) * np.maximum(survey_every, 1)).astype(np.int64)
    width = max(5, len(str(n)))
    ids = (pd.Series(np.arange(1, n + 1)).astype(str).str.zfill(width).radd("KA")).to_numpy(dtype=object)
    frame = pd.DataFrame(
        {
            "account_id": ids,
            "name": _names(rng, segment),
            "segment": np.asarray(SEGMENTS, dtype=object)[segment],
            "region": np.asarray(REGIONS, dtype=object)[region],
            "channel": np.asarray(CHANNELS, dtype=object)[channel],
            "tier": np.asarray(TIERS, dtype=object)[tier],
            "since": start + pd.to_timedelta(since, unit="D"),
            "owner": owner,
        }
    )
    return Accounts(
        n=n, ids=ids, segment=segment, region=region, channel=channel, tier=tier,
        group=segment * len(REGIONS) + region, wallet=wallet, share=share, revenue=revenue, interval=interval,
        n_lines=n_lines, lines=lines, peak_month=peak_month, amplitude=amplitude, growth=growth,
        since=since, visit_rate=visit_rate, survey_every=survey_every, survey_phase=survey_phase,
        frame=frame,
    )


def month_of_year(start: pd.Timestamp, day: np.ndarray) -> np.ndarray:
    """Continuous month of the year (0 = 1 January, 12 = 31 December) of each day."""
    return ((start.day_of_year - 1 + day) % 365.25) / 365.25 * 12.0


def season_factor(acc: Accounts, start: pd.Timestamp, day: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``cos`` distance of each day to its account's peak month: 1 at the peak, -1 half a year away."""
    return np.cos(2.0 * np.pi * (month_of_year(start, day) - acc.peak_month[rows]) / 12.0)


def make_schedule(
    rng: np.random.Generator, acc: Accounts, start: pd.Timestamp, horizon: int
) -> OrderSchedule:
    """Draw each account's undisturbed orders up to ``horizon`` days after the start."""
    n = acc.n
    k = int(np.ceil(horizon / _INTERVALS.min() * 1.3)) + 12
    interval = acc.interval[:, None]
    gaps = rng.gamma(3.0, interval / 3.0, (n, k))
    first = np.where(acc.since < 0, -rng.random(n) * acc.interval, acc.since + rng.random(n) * 3.0)
    times = first[:, None] + np.cumsum(gaps, axis=1) - gaps[:, :1]
    day = np.floor(times).astype(np.int64)
    valid = (day >= np.maximum(acc.since, 0)[:, None]) & (day < horizon)
    rows = np.broadcast_to(np.arange(n)[:, None], (n, k))
    season = 1.0 + acc.amplitude[:, None] * season_factor(acc, start, day, rows)
    trend = np.exp(acc.growth[:, None] * day / 365.25)
    size = acc.revenue[:, None] / 365.25 * (0.5 * interval + 0.5 * gaps)
    amount = size * season * trend * np.exp(rng.normal(-0.045, 0.3, (n, k)))
    # one-off demand shocks in every kind of account: dips of 20-100 days and bulk orders
    other = np.ones((n, k))
    episodes = np.minimum(rng.poisson(0.3 * horizon / 365.25, n), 3)
    for e in range(3):  # at most three dips per account
        begins = rng.integers(-60, horizon, n)
        length = rng.integers(20, 100, n)
        depth = rng.uniform(0.25, 0.7, n)
        active = (episodes > e)[:, None] & (day >= begins[:, None]) & (day < (begins + length)[:, None])
        other = np.where(active, other * depth[:, None], other)
    spike = rng.random((n, k)) < 0.01
    other = np.where(spike, other * rng.uniform(2.0, 4.0, (n, k)), other)
    return OrderSchedule(day=day, amount=amount, other=other, keep_u=rng.random((n, k)), valid=valid,
                         final_u=rng.random(n))


def defection_multiplier(day: np.ndarray, decided: np.ndarray, transition: np.ndarray,
                         floor: np.ndarray) -> np.ndarray:
    """Share-of-wallet factor: 1 until the decision, a linear run-down over the transition, then ``floor``.

    ``decided``, ``transition`` and ``floor`` are per account (column vectors broadcast over ``day``);
    an account that never decides has ``decided`` beyond every day.
    """
    progress = np.clip((day - decided) / transition, 0.0, 1.0)
    return 1.0 - (1.0 - floor) * progress


def kept_orders(schedule: OrderSchedule, rows: np.ndarray, multiplier: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Thin the orders of ``rows`` by a share-of-wallet ``multiplier``: (kept mask, amount)."""
    m = multiplier * schedule.other[rows]
    q = np.minimum(1.0, np.sqrt(m))
    keep = schedule.valid[rows] & (schedule.keep_u[rows] < q) & (m > 0)
    amount = schedule.amount[rows] * np.divide(m, q, out=np.zeros_like(m), where=q > 0)
    return keep, amount


def last_order_days(schedule: OrderSchedule, rows: np.ndarray, decided: np.ndarray,
                    transition: np.ndarray) -> np.ndarray:
    """For full defectors: the day of their last order, in ``(decided, decided + transition]``.

    When thinning keeps no order in the transition, a last (run-down) order is placed in it.
    """
    mult = defection_multiplier(schedule.day[rows], decided[:, None], transition[:, None],
                                np.zeros((len(rows), 1)))
    keep, _ = kept_orders(schedule, rows, mult)
    after = keep & (schedule.day[rows] > decided[:, None])
    last = np.where(after, schedule.day[rows], -1).max(axis=1)
    forced = decided + np.maximum(1, np.ceil(transition * schedule.final_u[rows])).astype(np.int64)
    return np.where(last > decided, last, forced)


def order_rows(
    rng: np.random.Generator,
    acc: Accounts,
    schedule: OrderSchedule,
    decided: np.ndarray,
    transition: np.ndarray,
    floor: np.ndarray,
    last_day: np.ndarray,
    days: int,
) -> pd.DataFrame:
    """The order lines of the book before returns (``account`` as an integer index, ``day`` from the start).

    ``decided``, ``transition`` and ``floor`` describe each account's defection (``decided`` inf when
    none); ``last_day`` is a full defector's last order day (see :func:`last_order_days`), whose forced
    last order is added here when thinning left none. Orders shrink in size, frequency and product lines
    over the transition.
    """
    n, k = schedule.day.shape
    mult = defection_multiplier(schedule.day, decided[:, None], transition[:, None], floor[:, None])
    keep, amount = kept_orders(schedule, np.arange(n), mult)
    keep &= schedule.day < days
    full = np.isfinite(decided) & (floor == 0.0)
    keep &= ~full[:, None] | (schedule.day <= last_day[:, None])
    acc_i, col = np.nonzero(keep)
    o_day = schedule.day[acc_i, col]
    o_amount = amount[acc_i, col]
    o_mult = mult[acc_i, col]
    # a full defector whose thinning left no order in the transition places one last, small order
    has_last = np.zeros(n, dtype=bool)
    has_last[acc_i[o_day == last_day[acc_i]]] = True
    extra = np.flatnonzero(full & ~has_last & (last_day < days) & (last_day >= np.maximum(acc.since, 0)))
    if len(extra):
        progress = np.clip((last_day[extra] - decided[extra]) / transition[extra], 0.0, 1.0)
        acc_i = np.concatenate([acc_i, extra])
        o_day = np.concatenate([o_day, last_day[extra]])
        base = acc.revenue[extra] / 365.25 * acc.interval[extra]
        o_amount = np.concatenate([o_amount, base * np.maximum(0.05, 1.0 - progress) * 0.5])
        o_mult = np.concatenate([o_mult, np.maximum(0.05, 1.0 - progress)])
    order = np.lexsort((acc_i, o_day))
    acc_i, o_day, o_amount, o_mult = acc_i[order], o_day[order], o_amount[order], o_mult[order]
    # an order has 1-4 lines over the account's product lines; fewer lines while the account runs down
    active = np.maximum(1, np.ceil(acc.n_lines[acc_i] * np.clip(o_mult, 0.0, 1.0) ** 0.7)).astype(np.int64)
    n_rows = np.minimum(4, 1 + rng.binomial(active - 1, 0.3))
    line_order = np.repeat(np.arange(len(acc_i)), n_rows)
    r_acc = acc_i[line_order]
    slot = np.floor(rng.random(len(line_order)) * active[line_order]).astype(np.int64)
    category = acc.lines[r_acc, slot].astype(np.int64)
    product = category * _PRODUCTS_PER_CATEGORY + rng.integers(0, _PRODUCTS_PER_CATEGORY, len(line_order))
    weight = rng.exponential(1.0, len(line_order))
    weight /= np.bincount(line_order, weight)[line_order]
    r_amount = np.round(o_amount[line_order] * weight, 2)
    price_rng = np.random.default_rng(20230101)  # the price list is the same in every book
    prices = np.exp(price_rng.normal(np.log(40.0), 1.0, len(CATEGORIES) * _PRODUCTS_PER_CATEGORY))
    quantity = np.maximum(1.0, np.round(r_amount / prices[product] * np.exp(rng.normal(0.0, 0.05, len(r_acc)))))
    r_amount = np.maximum(r_amount, 0.01)
    codes = np.asarray(_CATEGORY_CODES, dtype=object)
    product_names = (
        pd.Series(codes[np.arange(len(prices)) // _PRODUCTS_PER_CATEGORY])
        + "-"
        + pd.Series(101 + np.arange(len(prices)) % _PRODUCTS_PER_CATEGORY).astype(str)
    ).to_numpy(dtype=object)
    width = max(7, len(str(len(acc_i))))
    order_ids = pd.Series(np.arange(1, len(acc_i) + 1)).astype(str).str.zfill(width).radd("SO").to_numpy(
        dtype=object)
    return pd.DataFrame(
        {
            "account": r_acc,
            "day": o_day[line_order],
            "amount": r_amount,
            "order_id": order_ids[line_order],
            "quantity": quantity,
            "product": product_names[product],
            "category": np.asarray(CATEGORIES, dtype=object)[category],
        }
    )
