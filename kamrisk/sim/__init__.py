"""A simulated book of key accounts with planted defections: kamrisk's embedded default data set.

It is also the measuring stick for model quality and reason fidelity, so its ground truth is exact:

- ``accounts``, ``orders`` and ``events`` follow the data contract (:mod:`kamrisk._schema`); revenue is
  concentrated (the top 20% of accounts bring about 80% of it), accounts have their own reorder rhythm,
  product lines, peak season, growth, one-off dips and bulk orders, and a share of wallet;
- every sign family is generated as events whose rates follow a drifting latent account health
  (:mod:`kamrisk.sim._events`);
- defection is a daily hazard that reads only those events, peers' visible defections (contagion) and a
  base rate (:mod:`kamrisk.sim._hazard`). After the decision the account runs down its share of
  wallet over 1-6 months (a minority within a month) and stops (``full``) or settles at 20-50% (``partial``);
- ``truth`` holds one row per defection with each family's hazard at the decision and its ``cause``;
  ``oracle`` the simulator's own view at each month start: the probability that a defection becomes
  visible (``p_visible_*``) and that the account decides (``p_decide_*``) within 90 and 180 days, each
  driving family's part of the hazard (``hazard_<family>``) and the largest of them (``oracle_cause``).
  The oracle knows the hazard's state but not the events still to come, so ``p_decide_*`` is the best
  early-warning ranking there is, and the agreement of ``oracle_cause`` with ``truth.cause`` the ceiling
  for a model's reasons (:func:`evaluation` measures both beside a model's backtest).

The hazard runs over a hidden burn-in year before the start, so signs are in their steady state on day 0;
the exported tables start on the start date.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from .._schema import AccountData

from ._evaluate import (
    Evaluator,
    LeadTimes,
    Scorer,
    early_catch,
    early_warning_auc,
    evaluation,
    lead_times,
    oracle_scores,
    reason_accuracy,
)

__all__ = [
    "SimulatedBook",
    "simulate",
    "top_share",
    "evaluation",
    "Scorer",
    "Evaluator",
    "oracle_scores",
    "early_warning_auc",
    "early_catch",
    "reason_accuracy",
    "lead_times",
    "LeadTimes",
]

_BURN_IN = 365  # days simulated before the start so that every sign is in its steady state
_TAIL = 200  # days of orders drawn beyond the end, so that late decisions still have a visible date
_RETURN_RATE = 0.02


@dataclass
class SimulatedBook:
    """A simulated book of key accounts and its ground truth.

    Attributes
    ----------
    accounts, orders, events : DataFrame
        The input tables (with a messy book: as its export shows them, read with ``mapping``).
    truth : DataFrame
        One row per defection: ``account_id, decided_on, visible_on, kind`` (full or partial), ``cause``
        (the family with the largest hazard at the decision, ``contagion``, or ``none`` when the base rate
        led), ``transition_days``, ``abrupt`` and ``hazard_<term>`` (each term of the hazard at the
        decision, per year). ``visible_on`` is the day after the last order of a full defection and the
        day the lower share settled for a partial one; it may lie after the data end.
    oracle : DataFrame
        One row per account and month start ``as_of``, what the simulator knows then (the hazard's state,
        not the events still to come):

        - ``p_visible_90d, p_visible_180d``: the probability that a defection becomes visible in
          ``[as_of, as_of + horizon)``;
        - ``p_decide_90d, p_decide_180d``: the probability that the account decides to defect in that
          window; 0 once it has decided, and never below ``p_visible_*`` before;
        - ``hazard_<family>`` for each driving family (procurement_change, channel_conflict,
          strategy_shift, competitor_pressure, relationship, contagion): its expected part of the hazard
          (per year) at a decision in the next 90 days;
        - ``oracle_cause``: the family with the largest ``hazard_<family>``, the oracle's own guess of the
          cause. Its agreement with ``truth.cause`` is the ceiling for reason accuracy.

        Every column is NaN (None) where the defection was already visible before ``as_of``, or the
        account not yet a customer.
    mapping : dict or None
        What ``mapping.yaml`` holds for a messy book; None for a clean one.
    """

    accounts: pd.DataFrame
    orders: pd.DataFrame
    events: pd.DataFrame
    truth: pd.DataFrame
    oracle: pd.DataFrame
    mapping: dict[str, Any] | None = None

    def write(self, folder: str | Path) -> Path:
        """Write the five tables as parquet (and ``mapping.yaml`` for a messy book) into ``folder``."""
        import yaml

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("accounts", "orders", "events", "truth", "oracle"):
            getattr(self, name).to_parquet(folder / f"{name}.parquet", index=False)
        if self.mapping is not None:
            (folder / "mapping.yaml").write_text(
                yaml.safe_dump(self.mapping, allow_unicode=True, sort_keys=False), encoding="utf-8"
            )
        return folder

    @classmethod
    def read(cls, folder: str | Path) -> SimulatedBook:
        """Read a book written by :meth:`write` (or ``kamrisk simulate --out``) back from ``folder``.

        Raises
        ------
        FileNotFoundError
            When one of the five tables is missing, naming it.
        """
        import yaml

        folder = Path(folder)
        tables = {}
        for name in ("accounts", "orders", "events", "truth", "oracle"):
            path = folder / f"{name}.parquet"
            if not path.is_file():
                raise FileNotFoundError(
                    f"{path} is missing: a simulated book folder holds accounts, orders, events, truth and "
                    "oracle .parquet files. Write one with kamrisk.simulate(out=...) or `kamrisk simulate --out`."
                )
            tables[name] = pd.read_parquet(path)
        mapping_file = folder / "mapping.yaml"
        mapping = yaml.safe_load(mapping_file.read_text(encoding="utf-8")) if mapping_file.is_file() else None
        return cls(**tables, mapping=mapping)

    def to_account_data(self) -> AccountData:
        """The book as validated :class:`~kamrisk.AccountData` (a messy book warns about what it repairs)."""
        from .._schema import AccountData

        return AccountData(orders=self.orders, events=self.events, accounts=self.accounts, mapping=self.mapping)

    def summary(self) -> str:
        """One line: accounts, orders, events, defections (full/partial) and revenue concentration."""
        kinds = self.truth["kind"].value_counts()
        orders = _canonical_orders(self.orders, self.mapping)
        accounts = pd.Index(self.accounts["account_id"]).union(pd.Index(orders["account_id"].unique()))
        return (
            f"{len(accounts)} accounts, {len(orders)} order lines, {len(self.events)} events; "
            f"{len(self.truth)} defections ({kinds.get('full', 0)} full, {kinds.get('partial', 0)} partial); "
            f"top 20% of accounts bring {top_share(orders):.0%} of revenue"
        )


def _oracle_cause(frame: pd.DataFrame, families: tuple[str, ...]) -> np.ndarray:
    """The family with the largest ``hazard_<family>`` per row; None where the oracle has no view."""
    hazards = frame[[f"hazard_{f}" for f in families]].to_numpy()
    known = ~np.isnan(hazards).any(axis=1)
    cause = np.full(len(frame), None, dtype=object)
    cause[known] = np.asarray(families, dtype=object)[hazards[known].argmax(axis=1)]
    return cause


def _canonical_orders(orders: pd.DataFrame, mapping: dict[str, Any] | None) -> pd.DataFrame:
    columns = ((mapping or {}).get("columns") or {}).get("orders", {})
    return orders.rename(columns=dict(columns))


def top_share(orders: pd.DataFrame, top: float = 0.2) -> float:
    """Share of net revenue brought by the ``top`` fraction of accounts (orders with canonical columns)."""
    revenue = np.sort(orders.groupby("account_id")["amount"].sum().clip(lower=0.0).to_numpy())[::-1]
    count = max(1, int(round(top * len(revenue))))
    return float(revenue[:count].sum() / revenue.sum())


def simulate(
    accounts: int = 2000,
    months: int = 36,
    start: str = "2023-01-01",
    seed: int = 7,
    messy: bool = False,
    out: str | Path | None = None,
) -> SimulatedBook:
    """Simulate a book of key accounts with planted defections.

    Parameters
    ----------
    accounts : int
        Number of key accounts (at least 10).
    months : int
        Months of history (at least 1); the book runs from ``start`` for that many calendar months.
    start : str
        First day of the history, ``YYYY-MM-DD``.
    seed : int
        Random seed; the same seed gives identical tables.
    messy : bool
        Add what real exports have: ~1% exact duplicate rows, more returns, the company's own event
        names and column names (with the ``mapping`` that reads them), events recorded a few days late,
        holiday greetings to ignore, and ~1% of accounts missing from ``accounts``.
    out : str or Path, optional
        Also write the book there (see :meth:`SimulatedBook.write`).

    Returns
    -------
    SimulatedBook

    Examples
    --------
    >>> import kamrisk
    >>> book = kamrisk.simulate(accounts=200, months=24, seed=1)
    >>> sorted(book.truth["kind"].unique())
    ['full', 'partial']
    """
    from ._book import make_accounts, make_schedule, order_rows
    from ._events import make_campaigns, make_events, make_health
    from ._export import add_returns, event_frame, make_messy
    from ._hazard import CAUSES, FAMILIES, oracle, run

    if int(accounts) < 10:
        raise ValueError(f"accounts must be at least 10, got {accounts}.")
    if int(months) < 1:
        raise ValueError(f"months must be at least 1, got {months}.")
    try:
        first = pd.Timestamp(start).normalize()
    except (ValueError, TypeError) as exc:
        raise ValueError(f"start must be a date like 2023-01-01, got {start!r}.") from exc
    n, months = int(accounts), int(months)
    days = (first + pd.DateOffset(months=months) - first).days
    month_starts = pd.DatetimeIndex([first + pd.DateOffset(months=k) for k in range(months)])
    as_of_days = np.asarray((month_starts - first).days, dtype=np.int64)
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(8)]

    acc = make_accounts(streams[0], n, days, first)
    weeks = int(np.ceil((days + _BURN_IN) / 7.0))
    health = make_health(streams[1], n, weeks)
    campaign = make_campaigns(streams[1], int(acc.group.max()) + 1, weeks)
    log = make_events(streams[2], acc, health, campaign, -_BURN_IN, days, first, as_of_days)
    del health, campaign
    schedule = make_schedule(streams[3], acc, first, days + _TAIL)
    decisions, states = run(streams[4], acc, schedule, log, -_BURN_IN, days, as_of_days)
    seen = oracle(acc, log, states, decisions, as_of_days)

    # orders: full defectors stop after their last order (the day before their defection is visible)
    full = decisions.mask & (decisions.floor == 0.0)
    stop = np.where(full, decisions.visible, np.iinfo(np.int64).max // 4)
    lines = order_rows(streams[5], acc, schedule, decisions.decided, decisions.transition.astype(np.float64),
                          decisions.floor, stop - 1, days)
    lines = add_returns(streams[5], lines, log, stop, days, _RETURN_RATE * (2.5 if messy else 1.0))
    lines = lines.sort_values(["day", "order_id", "amount"], ascending=[True, True, False], kind="stable")
    orders = pd.DataFrame(
        {
            "account_id": acc.ids[lines["account"].to_numpy()],
            "order_date": first + pd.to_timedelta(lines["day"].to_numpy(), unit="D"),
            "amount": lines["amount"].to_numpy(np.float64),
            "order_id": lines["order_id"].to_numpy(dtype=object),
            "quantity": lines["quantity"].to_numpy(np.float64),
            "product": lines["product"].to_numpy(dtype=object),
            "category": lines["category"].to_numpy(dtype=object),
        }
    ).drop_duplicates(ignore_index=True)
    end_day = int(lines["day"].max())
    # events: a full defector's log mostly falls silent once its defection is visible
    silent = (log.day >= stop[log.acc]) & (streams[6].random(len(log.day)) < 0.9)
    events = event_frame(log, acc.ids, first, ~silent, end_day)

    hit = np.flatnonzero(decisions.mask)
    hit = hit[np.argsort(decisions.decided[hit], kind="stable")]
    terms = ["base", *FAMILIES, "contagion"]
    truth = pd.DataFrame(
        {
            "account_id": acc.ids[hit],
            "decided_on": first + pd.to_timedelta(decisions.decided[hit].astype(np.int64), unit="D"),
            "visible_on": first + pd.to_timedelta(decisions.visible[hit], unit="D"),
            "kind": np.where(full[hit], "full", "partial").astype(object),
            "cause": np.asarray(CAUSES, dtype=object)[decisions.cause[hit]],
            "transition_days": decisions.transition[hit],
            "abrupt": decisions.abrupt[hit],
            **{f"hazard_{t}": decisions.contributions[hit, i] for i, t in enumerate(terms)},
        }
    )
    oracle_frame = pd.DataFrame(
        {
            "account_id": np.tile(acc.ids, len(as_of_days)),
            "as_of": np.repeat(month_starts.to_numpy(), n),
            **{name: values.ravel() for name, values in seen.items()},
        }
    )
    oracle_frame["oracle_cause"] = _oracle_cause(oracle_frame, (*FAMILIES, "contagion"))
    accounts_frame = acc.frame
    mapping = None
    if messy:
        accounts_frame, orders, events, mapping = make_messy(streams[7], accounts_frame, orders, events)
    book = SimulatedBook(accounts=accounts_frame, orders=orders, events=events, truth=truth,
                         oracle=oracle_frame, mapping=mapping)
    if out is not None:
        book.write(out)
    return book
