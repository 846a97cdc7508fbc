"""The simulator's exported tables: returns, the events as an export shows them, and what messy exports add.

Private to :mod:`kamrisk.sim`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._events import EVENT_TYPES, LEVELS, NEVER, EventLog, note_text

__all__ = ["add_returns", "event_frame", "make_messy"]

# a company's own names for some canonical event types (its legacy system in German, its newer one in Chinese)
_OWN_NAMES = {
    "retender_notice": ("Ausschreibung", "招标通知"),
    "complaint": ("Reklamation", "客户投诉"),
    "price_dispute": ("Preisstreit", "价格纠纷"),
    "cross_region_selling": ("Gebietsverletzung", "窜货"),
    "stock_out": ("Fehlmenge", "缺货"),
    "competitor_offer": ("Wettbewerbsangebot", "竞品报价"),
    "visit": ("Kundenbesuch", "客户拜访"),
    "satisfaction_survey": ("Zufriedenheitsumfrage", "满意度调查"),
}
_IGNORED = ("Weihnachtsgruß", "节日问候")  # holiday greetings: mapped to "ignore"
_COLUMNS = {"orders": {"customer": "account_id", "net_amount": "amount"}, "events": {"activity": "event_type"}}


def add_returns(
    rng: np.random.Generator, lines: pd.DataFrame, log: EventLog, stop_day: np.ndarray, days: int, rate: float
) -> pd.DataFrame:
    """Add returns and cancellations as negative lines, more often after a quality complaint.

    A return lands 2-30 days after its order, never on or after the account's ``stop_day`` (the day its
    full defection became visible) nor after the data end.
    """
    quality = log.of("quality_complaint", "complaint")
    keys = np.sort(log.acc[quality].astype(np.int64) * (1 << 32) + log.day[quality])
    acc = lines["account"].to_numpy(np.int64)
    day = lines["day"].to_numpy(np.int64)
    here = acc * (1 << 32) + day
    recent = np.searchsorted(keys, here) - np.searchsorted(keys, here - 45) > 0
    chosen = rng.random(len(lines)) < rate * np.where(recent, 5.0, 1.0)
    back = day + rng.integers(2, 31, len(lines))
    chosen &= (back < days) & (back < stop_day[acc])
    fraction = np.where(rng.random(len(lines)) < 0.3, 1.0, rng.uniform(0.1, 0.6, len(lines)))[chosen]
    returns = lines.loc[chosen].copy()
    returns["day"] = back[chosen]
    returns["amount"] = -np.maximum(0.01, np.round(returns["amount"].to_numpy() * fraction, 2))
    returns["quantity"] = -np.maximum(1.0, np.round(returns["quantity"].to_numpy() * fraction))
    return pd.concat([lines, returns], ignore_index=True)


def event_frame(log: EventLog, ids: np.ndarray, start: pd.Timestamp, keep: np.ndarray, end_day: int) -> pd.DataFrame:
    """The events an export shows: from the start on, canonical columns, nothing dated after ``end_day``."""
    keep = keep & (log.day >= 0) & (log.day <= end_day)
    resolved = log.resolved[keep]
    settled = (resolved >= 0) & (resolved < NEVER) & (resolved <= end_day)
    level = log.level[keep]
    levels = np.full(len(level), None, dtype=object)
    levels[level >= 0] = np.asarray(LEVELS, dtype=object)[level[level >= 0]]
    frame = pd.DataFrame(
        {
            "account_id": ids[log.acc[keep]],
            "event_date": start + pd.to_timedelta(log.day[keep], unit="D"),
            "event_type": np.asarray(EVENT_TYPES, dtype=object)[log.etype[keep]],
            "value": log.value[keep],
            "resolved_date": start + pd.to_timedelta(np.where(settled, resolved, 0), unit="D"),
            "level": levels,
            "note": note_text(log.note[keep]),
        }
    )
    frame.loc[~settled, "resolved_date"] = pd.NaT
    return frame.drop_duplicates(ignore_index=True)


def _duplicate(rng: np.random.Generator, frame: pd.DataFrame, share: float) -> pd.DataFrame:
    """Repeat about ``share`` of the rows right after themselves (an export run twice over a day)."""
    times = 1 + (rng.random(len(frame)) < share)
    return frame.iloc[np.repeat(np.arange(len(frame)), times)].reset_index(drop=True)


def make_messy(
    rng: np.random.Generator, accounts: pd.DataFrame, orders: pd.DataFrame, events: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Add what real exports have; return the tables and the ``mapping.yaml`` content that reads them."""
    # events recorded a few days late
    late = rng.random(len(events)) < 0.3
    shift = pd.to_timedelta(np.where(late, rng.integers(1, 8, len(events)), 0), unit="D")
    events = events.assign(event_date=events["event_date"] + shift)
    # the company's own event names, used for most rows of some types since a system migration
    language = rng.integers(0, 2, len(_OWN_NAMES))
    event_types: dict[str, str] = {}
    types = events["event_type"].to_numpy(dtype=object).copy()
    for (canonical, names), lang in zip(_OWN_NAMES.items(), language, strict=True):  # a few types
        mine = (types == canonical) & (rng.random(len(types)) < 0.7)
        types[mine] = names[lang]
        event_types[names[lang]] = canonical
    events = events.assign(event_type=types)
    # holiday greetings: rows the model has no use for, mapped to "ignore"
    ids = accounts["account_id"].to_numpy(dtype=object)
    greeted = ids[rng.random(len(ids)) < 0.5]
    years = events["event_date"].dt.year.unique()
    greet_name = _IGNORED[int(rng.integers(0, 2))]
    greetings = pd.DataFrame(
        {
            "account_id": np.repeat(greeted, len(years)),
            "event_date": np.tile(pd.to_datetime([f"{y}-12-20" for y in years]).to_numpy(), len(greeted))
            + pd.to_timedelta(rng.integers(0, 4, len(greeted) * len(years)), unit="D").to_numpy(),
            "event_type": greet_name,
        }
    )
    greetings = greetings[greetings["event_date"] <= events["event_date"].max()]
    events = pd.concat([events, greetings], ignore_index=True)
    event_types[greet_name] = "ignore"
    events = events.sort_values(["event_date", "account_id"], kind="stable", ignore_index=True)
    # exact duplicate rows, about 1%
    orders = _duplicate(rng, orders, 0.01)
    events = _duplicate(rng, events, 0.01)
    # a few accounts missing from the master data
    missing = rng.random(len(accounts)) < 0.01
    missing[int(rng.integers(0, len(accounts)))] = True
    accounts = accounts.loc[~missing].reset_index(drop=True)
    # the company's own column names
    orders = orders.rename(columns={v: k for k, v in _COLUMNS["orders"].items()})
    events = events.rename(columns={v: k for k, v in _COLUMNS["events"].items()})
    mapping = {"columns": {t: dict(c) for t, c in _COLUMNS.items()}, "event_types": event_types}
    return accounts, orders, events, mapping
