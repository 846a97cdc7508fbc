"""The simulator's defection mechanism: a latent daily hazard built from the generated events, and its oracle.

Private to :mod:`kamrisk.sim`. The hazard of an account that has not decided yet is, per year,

``base + procurement_change + channel_conflict + strategy_shift + competitor_pressure + relationship
+ contagion``

where each term is a function of the events dated strictly before the day:

- point events (a re-tender notice, a merger, a competitor offer, an escalation...) add a weight that decays
  with the event's age, either exponentially or with a gamma-shaped kernel that peaks after ``tau`` days
  (a re-tender notice is most dangerous two to three months on and fades over about six months);
- an open complaint or conflict adds its weight, growing with its age (``1 + min(age, 180) / 180``: double
  after six months), until it is resolved;
- a cooling relationship adds for visits over the last 180 days below half the account's usual rhythm,
  for a last satisfaction score below 3 (within 400 days) and for a strategic or key account without an
  executive visit in a year;
- contagion adds ``CONTAGION x share**2``, the share of same-segment, same-region peers whose defection
  became visible in the last 180 days (convex: a wave of defections pulls peers along).

Every term is recorded at the decision; the cause is the largest one (``none`` when the base rate is).
The decision then sets the transition: abrupt (3-27 days) for most base-rate decisions and some strategy
shifts, otherwise a run-down of 30-180 days; and the kind: full or partial, with odds by cause.
Contagion's share is lumpier in small books (fewer peers per group), so its part grows as books shrink.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from ._book import Accounts, OrderSchedule, last_order_days
from ._events import COMPLAINTS, EVENT_TYPES, NEVER, EventLog

__all__ = [
    "FAMILIES",
    "CAUSES",
    "BASE",
    "CONTAGION",
    "States",
    "Decisions",
    "run",
    "oracle",
]

FAMILIES = ("procurement_change", "channel_conflict", "strategy_shift", "competitor_pressure", "relationship")
CAUSES = (*FAMILIES, "contagion", "none")
BASE = 0.02  # per year
CONTAGION = 6.0  # per year, times the squared share of peers visibly defected in the window
CONTAGION_WINDOW = 180
_YEAR = 365.25
# hazard weight per event, per year, at the kernel's peak (payment terms and offers scale it, see _weights)
_WEIGHT = {
    "retender_notice": 0.7, "purchasing_model_change": 0.4, "new_buyer": 0.12, "payment_term_change": 0.2,
    "escalation": 0.15, "backward_integration": 1.5, "private_label": 1.2, "merger_acquisition": 0.5,
    "contraction": 0.5, "leadership_change": 0.4, "competitor_offer": 0.22, "competitor_visit": 0.1,
    "complaint": 0.016, "quality_complaint": 0.027, "price_dispute": 0.036, "cross_region_selling": 0.036,
    "late_delivery": 0.009, "stock_out": 0.013,
}
# (family, event types, kernel shape, tau in days)
_KERNELS: tuple[tuple[str, tuple[str, ...], str, float], ...] = (
    ("procurement_change", ("retender_notice",), "gamma", 75.0),
    ("procurement_change", ("purchasing_model_change", "payment_term_change"), "gamma", 60.0),
    ("procurement_change", ("new_buyer",), "exp", 90.0),
    ("channel_conflict", ("escalation",), "gamma", 30.0),
    ("strategy_shift", ("backward_integration", "private_label"), "gamma", 120.0),
    ("strategy_shift", ("merger_acquisition", "contraction"), "gamma", 90.0),
    ("strategy_shift", ("leadership_change",), "gamma", 90.0),
    ("competitor_pressure", ("competitor_offer",), "gamma", 45.0),
    ("competitor_pressure", ("competitor_visit",), "exp", 60.0),
)
_AGE_SCALE, _AGE_CAP = 180.0, 180
_VISIT_DEFICIT, _LOW_SATISFACTION, _NO_EXECUTIVE = 0.07, 0.25, 0.04
_OPEN_DECAY = 150.0  # the oracle's expected life of an already-open conflict
_STEP = 5  # days per step of the oracle's forward integration
_CAUSE_DAYS = 90  # the oracle's cause weighs each family's hazard over a decision in this many days
_KEY = 1 << 32
# transition from decision to visibility: abrupt (3-27 days) or a run-down (lognormal, 30-180 days)
_ABRUPT = {"none": 0.8, "strategy_shift": 0.15, "other": 0.06}
_P_ABRUPT = np.array([_ABRUPT.get(c, _ABRUPT["other"]) for c in CAUSES])
_SLOW_MEDIAN, _SLOW_SIGMA = 75.0, 0.5
_P_FULL = {"procurement_change": 0.72, "channel_conflict": 0.65, "strategy_shift": 0.85,
           "competitor_pressure": 0.65, "relationship": 0.55, "contagion": 0.7, "none": 0.75}
_P_FULL_BY_CAUSE = np.array([_P_FULL[c] for c in CAUSES])


@dataclass
class States:
    """The hazard's state at each as_of (events strictly before it), which the oracle projects forward.

    ``level`` is, per kernel, the sum of ``w r**age`` over its events and ``gamma`` the sum of
    ``w age r**age`` for the gamma-shaped kernels; ``family`` is each family's hazard (per year).
    """

    level: np.ndarray  # (as_of, kernels, accounts)
    gamma: np.ndarray  # (as_of, gamma kernels, accounts)
    opened: np.ndarray  # (as_of, accounts): hazard of the conflicts open at as_of
    family: np.ndarray  # (as_of, families, accounts)
    mean_weight: dict[str, float]


@dataclass
class Decisions:
    """Every account's defection, if any (``decided`` is inf for an account that never decides)."""

    decided: np.ndarray
    transition: np.ndarray
    floor: np.ndarray
    visible: np.ndarray
    cause: np.ndarray
    abrupt: np.ndarray
    contributions: np.ndarray  # (accounts, 1 + families + 1): base, each family, contagion; per year

    @property
    def mask(self) -> np.ndarray:
        """Accounts that decided to defect."""
        return np.isfinite(self.decided)


def _contagion(share: np.ndarray) -> np.ndarray:
    """Contagion hazard (per year): convex in the share, so one distant defection barely counts and a
    wave of them pulls peers along."""
    return CONTAGION * share**2


def _weights(log: EventLog) -> np.ndarray:
    names = np.asarray(EVENT_TYPES, dtype=object)[log.etype]
    weight = np.array([_WEIGHT.get(name, 0.0) for name in EVENT_TYPES])[log.etype]
    payment = names == "payment_term_change"
    weight[payment] *= np.maximum(log.value[payment], 0.0) / 30.0
    offer = names == "competitor_offer"
    gap = np.where(np.isnan(log.value[offer]), 8.0, log.value[offer])
    weight[offer] *= 0.5 + gap / 10.0
    return weight


def _kernel(shape: str, tau: float, s: np.ndarray) -> np.ndarray:
    r = np.exp(-1.0 / tau)
    return r**s if shape == "exp" else np.e / tau * s * r**s


class _Changes:
    """Changes to apply to the hazard's state at the start of given days, sliced day by day."""

    def __init__(self, day: np.ndarray, first_day: int, days: int, **columns: np.ndarray) -> None:
        order = np.argsort(day, kind="stable")
        self.columns = {k: np.asarray(v)[order] for k, v in columns.items()}
        self.bounds = np.searchsorted(day[order], np.arange(first_day, days + 1))
        self.first_day = first_day

    def at(self, t: int) -> dict[str, np.ndarray]:
        i = t - self.first_day
        lo, hi = self.bounds[i], self.bounds[i + 1]
        return {k: v[lo:hi] for k, v in self.columns.items()}


def _conflict_changes(log: EventLog, first_day: int, days: int) -> _Changes:
    """Open conflicts as changes to ``(K0, K1)``, the hazard being ``K0 + day x K1`` on each day.

    A conflict raised on day ``s`` is open on days ``s+1 .. resolved``; its hazard ``w (1 + age / 180)``
    grows with its age until day ``s + 180`` and stays there until it is resolved.
    """
    chosen = log.of(*COMPLAINTS)
    s = log.day[chosen].astype(np.float64)
    end = np.where(log.resolved[chosen] >= NEVER, days + 1, log.resolved[chosen]).astype(np.float64)
    acc = log.acc[chosen]
    w = np.array([_WEIGHT.get(t, 0.0) for t in EVENT_TYPES])[log.etype[chosen]]
    ramp_end = np.minimum(end, s + _AGE_CAP)
    capped = end > s + _AGE_CAP
    top = w[capped] * (1.0 + _AGE_CAP / _AGE_SCALE)
    day = np.concatenate([s + 1, s + 1, ramp_end + 1, ramp_end + 1, s[capped] + _AGE_CAP + 1, end[capped] + 1])
    row = np.concatenate([np.zeros_like(s), np.ones_like(s), np.zeros_like(s), np.ones_like(s),
                          np.zeros(capped.sum()), np.zeros(capped.sum())]).astype(np.int64)
    k0, k1 = w * (1.0 - s / _AGE_SCALE), w / _AGE_SCALE
    delta = np.concatenate([k0, k1, -k0, -k1, top, -top])
    accounts = np.concatenate([acc, acc, acc, acc, acc[capped], acc[capped]])
    return _Changes(day.astype(np.int64), first_day, days, row=row, acc=accounts, delta=delta)


def _mix() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per kernel: decay factor, index among the gamma kernels (-1 for exponential ones), and the matrices
    that turn the kernel states into family hazards."""
    r = np.array([np.exp(-1.0 / tau) for *_, tau in _KERNELS])
    gamma = np.array([shape == "gamma" for _, _, shape, _ in _KERNELS])
    position = np.where(gamma, np.cumsum(gamma) - 1, -1)
    mix_level = np.zeros((len(FAMILIES), len(_KERNELS)))
    mix_gamma = np.zeros((len(FAMILIES), int(gamma.sum())))
    for k, (family, _, shape, tau) in enumerate(_KERNELS):
        if shape == "exp":
            mix_level[FAMILIES.index(family), k] = 1.0
        else:
            mix_gamma[FAMILIES.index(family), position[k]] = np.e / tau
    return r, position, mix_level, mix_gamma


def run(
    rng: np.random.Generator,
    acc: Accounts,
    schedule: OrderSchedule,
    log: EventLog,
    first_day: int,
    days: int,
    as_of_days: np.ndarray,
) -> tuple[Decisions, States]:
    """Run the daily hazard from the burn-in on; accounts decide on days ``0 .. days-1``, at most once.

    The state of every sign is carried day by day (nothing per account and day is stored), the decision
    is drawn each day for the accounts still undecided, and the state at each as_of is kept.
    """
    n = acc.n
    weight = _weights(log)
    r, position, mix_level, mix_gamma = _mix()
    kernel_of = np.full(len(EVENT_TYPES), -1)
    for k, (_, types, _, _) in enumerate(_KERNELS):
        kernel_of[[EVENT_TYPES.index(t) for t in types]] = k
    kernel = kernel_of[log.etype]
    point = kernel >= 0
    impulses = _Changes(log.day[point] + 1, first_day, days, row=kernel[point], acc=log.acc[point],
                        delta=weight[point] * r[kernel[point]])
    conflicts = _conflict_changes(log, first_day, days)
    visit = log.etype == EVENT_TYPES.index("visit")
    visits = _Changes(np.concatenate([log.day[visit] + 1, log.day[visit] + 181]), first_day, days,
                      acc=np.tile(log.acc[visit], 2),
                      delta=np.concatenate([np.ones(visit.sum()), -np.ones(visit.sum())]))
    survey = log.etype == EVENT_TYPES.index("satisfaction_survey")
    surveys = _Changes(log.day[survey] + 1, first_day, days, acc=log.acc[survey], score=log.value[survey])
    executive = visit & (log.level == 0)
    executives = _Changes(log.day[executive] + 1, first_day, days, acc=log.acc[executive])

    gamma_rows = np.flatnonzero(position >= 0)
    level = np.zeros((len(_KERNELS), n))
    gamma = np.zeros((len(gamma_rows), n))
    conflict = np.zeros((2, n))
    recent_visits = np.zeros(n)
    last_score, last_survey, last_executive = np.full(n, np.nan), np.full(n, -1e9), np.full(n, -1e9)
    usual_visits = acc.visit_rate * 180.0 / _YEAR
    senior = acc.tier <= 1

    groups = int(acc.group.max()) + 1
    peers = np.maximum(np.bincount(acc.group, minlength=groups) - 1, 1)
    visible_count = np.zeros((groups, days + 400))
    window = np.zeros(groups)
    decided = np.full(n, np.inf)
    transition = np.ones(n, dtype=np.int64)
    floor = np.ones(n)
    visible = np.full(n, np.iinfo(np.int64).max // 4, dtype=np.int64)
    cause = np.full(n, -1, dtype=np.int8)
    abrupt = np.zeros(n, dtype=bool)
    contributions = np.zeros((n, len(FAMILIES) + 2))
    at_risk = acc.since <= 0
    as_of_index = {int(d): i for i, d in enumerate(as_of_days)}
    kept = States(level=np.zeros((len(as_of_days), *level.shape)), gamma=np.zeros((len(as_of_days), *gamma.shape)),
                  opened=np.zeros((len(as_of_days), n)), family=np.zeros((len(as_of_days), len(FAMILIES), n)),
                  mean_weight={t: float(weight[log.etype == c].mean()) if (log.etype == c).any() else 0.0
                               for c, t in enumerate(EVENT_TYPES)})

    for t in range(first_day, days):  # days, not accounts
        gamma = r[gamma_rows, None] * (gamma + level[gamma_rows])
        level *= r[:, None]
        change = impulses.at(t)
        np.add.at(level, (change["row"], change["acc"]), change["delta"])
        in_gamma = position[change["row"]] >= 0
        np.add.at(gamma, (position[change["row"][in_gamma]], change["acc"][in_gamma]), change["delta"][in_gamma])
        change = conflicts.at(t)
        np.add.at(conflict, (change["row"], change["acc"]), change["delta"])
        change = visits.at(t)
        np.add.at(recent_visits, change["acc"], change["delta"])
        change = surveys.at(t)
        last_score[change["acc"]], last_survey[change["acc"]] = change["score"], t - 1
        last_executive[executives.at(t)["acc"]] = t - 1
        if t < 0:
            continue
        family = mix_level @ level + mix_gamma @ gamma
        opened = np.maximum(conflict[0] + t * conflict[1], 0.0)
        family[1] += opened
        expected = usual_visits * np.clip((t - acc.since) / 180.0, 0.0, 1.0)
        deficit = np.clip(1.0 - np.divide(recent_visits, 0.5 * expected, out=np.ones(n), where=expected > 0),
                          0.0, 1.0) * (expected > 0)
        unhappy = np.where(t - last_survey <= 400, np.clip((3.0 - np.nan_to_num(last_score, nan=3.0)) / 2.0,
                                                           0.0, 1.0), 0.0)
        no_executive = senior & (t - acc.since >= 365) & (t - last_executive > 365)
        family[4] = _VISIT_DEFICIT * deficit + _LOW_SATISFACTION * unhappy + _NO_EXECUTIVE * no_executive
        if t in as_of_index:
            i = as_of_index[t]
            kept.level[i], kept.gamma[i], kept.opened[i], kept.family[i] = level, gamma, opened, family
        # decisions
        if t >= 1:
            window += visible_count[:, t - 1]
        if t > CONTAGION_WINDOW:
            window -= visible_count[:, t - 1 - CONTAGION_WINDOW]
        if t > 0:
            at_risk |= acc.since == t
        share = window[acc.group] / peers[acc.group]
        contagion = _contagion(share)
        hazard = BASE + family.sum(axis=0) + contagion
        new = np.flatnonzero(at_risk & (rng.random(n) < -np.expm1(-hazard / _YEAR)))
        if not len(new):
            continue
        terms = np.column_stack([np.full(len(new), BASE), family[:, new].T, contagion[new]])
        top = terms.argmax(axis=1)  # 0 is the base rate
        why = np.where(top == 0, len(CAUSES) - 1, top - 1)
        sudden = rng.random(len(new)) < _P_ABRUPT[why]
        slow = np.clip(np.round(np.exp(rng.normal(np.log(_SLOW_MEDIAN), _SLOW_SIGMA, len(new)))), 30, 180)
        length = np.where(sudden, rng.integers(3, 28, len(new)), slow).astype(np.int64)
        full = rng.random(len(new)) < _P_FULL_BY_CAUSE[why]
        settle = np.where(full, 0.0, rng.uniform(0.2, 0.5, len(new)))
        shown = t + length
        if full.any():
            shown[full] = last_order_days(schedule, new[full], np.full(int(full.sum()), float(t)),
                                          length[full]) + 1
        decided[new], transition[new], floor[new], visible[new] = t, length, settle, shown
        cause[new], abrupt[new], contributions[new] = why, sudden, terms
        np.add.at(visible_count, (acc.group[new], shown), 1.0)
        at_risk[new] = False
    decisions = Decisions(decided=decided, transition=transition, floor=floor, visible=visible, cause=cause,
                          abrupt=abrupt, contributions=contributions)
    return decisions, kept


def _transition_cdf(x: np.ndarray, p_abrupt: np.ndarray | float) -> np.ndarray:
    """P(transition <= x days): abrupt uniform on 3..27 days, else a lognormal run-down of 30-180 days."""
    x = np.asarray(x, dtype=np.float64)
    abrupt = np.clip((np.floor(x) - 2.0) / 25.0, 0.0, 1.0)
    slow = ndtr((np.log(np.maximum(x, 1.0) + 0.5) - np.log(_SLOW_MEDIAN)) / _SLOW_SIGMA)
    slow = np.where(x < 30, 0.0, np.where(x >= 180, 1.0, slow))
    return p_abrupt * abrupt + (1.0 - p_abrupt) * slow


def oracle(
    acc: Accounts,
    log: EventLog,
    states: States,
    decisions: Decisions,
    as_of_days: np.ndarray,
    horizons: tuple[int, ...] = (90, 180),
) -> dict[str, np.ndarray]:
    """The simulator's own view of each account at each as_of, ``(as_of, accounts)`` arrays by column name.

    - ``p_visible_<h>d``: P(defection visible in ``[as_of, as_of + h)``). An account decided before ``as_of``
      but not yet visible gets the transition distribution given the time already elapsed. An undecided
      account gets its hazard integrated forward in steps of a few days: every sign decays as it would with
      no new event, plus the events its current state makes expected (at the current health), open
      conflicts fade with the time they take to settle, the relationship term stays where it is and
      contagion keeps only the peers already visible.
    - ``p_decide_<h>d``: P(decision in ``[as_of, as_of + h)``) from the same forward hazard; 0 for an account
      that already decided (it decides at most once). Never below ``p_visible_<h>d`` for an undecided one.
    - ``hazard_<family>`` for :data:`FAMILIES` and ``contagion``: the family's expected part of the hazard
      (per year) at a decision in the next 90 days: its forward projection weighted by the probability of
      deciding at each step (further ahead, the events still to come blur the families alike; on a
      1,000-account book this names the planted cause a little more often than the state at as_of or a
      180-day weighting). The base rate is the same for everyone and left out.

    Every column is NaN where the defection is visible before ``as_of`` or the account is not yet a customer.
    """
    n, longest = acc.n, max(horizons)
    u = np.arange(0, longest, _STEP, dtype=np.float64)[:, None] + (_STEP - 1) / 2.0  # mid-step offsets
    r, position, _, _ = _mix()
    cumulated = []
    for *_, shape, tau in _KERNELS:  # sum of the kernel over ages 1..u, at each mid-step
        cumulative = np.concatenate([[0.0], np.cumsum(_kernel(shape, tau, np.arange(1.0, longest + 1)))])
        cumulated.append(np.interp(u[:, 0], np.arange(longest + 1.0), cumulative)[:, None])
    age = np.arange(1.0, longest + 1)
    p_never = 1.0 / (1.0 + np.exp(5.0))
    still_open = p_never + (1.0 - p_never) * (1.0 - ndtr((np.log(np.maximum(age - 1.0, 1e-9)) - np.log(12.0)) / 0.9))
    still_open[0] = 1.0
    conflict_cumulative = np.concatenate([[0.0], np.cumsum((1.0 + np.minimum(age, _AGE_CAP) / _AGE_SCALE)
                                                           * still_open)])
    conflict_kernel = np.interp(u[:, 0], np.arange(longest + 1.0), conflict_cumulative)[:, None]
    groups = int(acc.group.max()) + 1
    peers = np.maximum(np.bincount(acc.group, minlength=groups) - 1, 1)
    seen = decisions.mask
    pending_abrupt = _P_ABRUPT[np.maximum(decisions.cause, 0)]
    type_index = {name: i for i, name in enumerate(EVENT_TYPES)}
    complaint_rows = [type_index[t] for t in COMPLAINTS]
    complaint_weights = np.array([_WEIGHT[t] for t in COMPLAINTS])[:, None]
    cause_steps = int(np.ceil(_CAUSE_DAYS / _STEP))
    names = [*(f"p_visible_{h}d" for h in horizons), *(f"p_decide_{h}d" for h in horizons),
             *(f"hazard_{f}" for f in (*FAMILIES, "contagion"))]
    out = {name: np.full((len(as_of_days), n), np.nan) for name in names}
    for k, a in enumerate(as_of_days):  # month starts, not accounts
        rates = log.rates_at[:, k, :].astype(np.float64)  # events per day at this as_of
        projected = [np.zeros((len(u), n)) for _ in FAMILIES]
        for j, (fam, types, shape, tau) in enumerate(_KERNELS):
            decay = r[j] ** u
            if shape == "exp":
                now = decay * states.level[k, j]
            else:
                now = decay * (np.e / tau) * (states.gamma[k, position[j]] + u * states.level[k, j])
            expected = sum(rates[type_index[t]] * states.mean_weight[t] for t in types)
            projected[FAMILIES.index(fam)] += now + cumulated[j] * expected
        complaints = (rates[complaint_rows] * complaint_weights).sum(axis=0)
        projected[1] += states.opened[k] * np.exp(-u / _OPEN_DECAY) + conflict_kernel * complaints
        projected[4] += states.family[k, 4]
        # peers already visible before as_of, as the window moves on: visible in [as_of + u - 180, as_of)
        shown = seen & (decisions.visible < a)
        keys = np.sort(acc.group[shown].astype(np.int64) * _KEY + decisions.visible[shown])
        base_key = np.arange(groups, dtype=np.int64)[None, :] * _KEY
        cutoff = np.floor(a + u - CONTAGION_WINDOW).astype(np.int64)
        windows = np.searchsorted(keys, base_key + a) - np.searchsorted(keys, base_key + cutoff)
        projected.append(_contagion(windows[:, acc.group] / peers[acc.group]))
        hazard = BASE + sum(projected)
        step = -np.expm1(-hazard * _STEP / _YEAR)
        survival = np.vstack([np.ones((1, n)), np.cumprod(1.0 - step, axis=0)[:-1]])
        density = survival * step
        largest = np.maximum.reduce(projected)
        p_abrupt = np.where(largest <= BASE, _ABRUPT["none"],
                            np.where(projected[2] >= largest, _ABRUPT["strategy_shift"], _ABRUPT["other"]))
        elapsed = a - decisions.decided
        pending = seen & (decisions.decided < a) & (decisions.visible >= a)
        unknown = (seen & (decisions.visible < a)) | (acc.since > a)
        for horizon in horizons:
            steps = int(np.ceil(horizon / _STEP))
            reach = _transition_cdf(horizon - 1.0 - u[:steps], p_abrupt[:steps])
            fresh = (density[:steps] * reach).sum(axis=0)
            gone = _transition_cdf(elapsed - 1.0, pending_abrupt)
            within = _transition_cdf(elapsed + horizon - 1.0, pending_abrupt)
            waiting = np.clip(np.divide(within - gone, 1.0 - gone, out=np.ones(n), where=gone < 1.0), 0.0, 1.0)
            out[f"p_visible_{horizon}d"][k] = np.where(unknown, np.nan, np.where(pending, waiting, fresh))
            decide = density[:steps].sum(axis=0)
            out[f"p_decide_{horizon}d"][k] = np.where(unknown, np.nan, np.where(pending, 0.0, decide))
        # each family's hazard where a decision in the next _CAUSE_DAYS is expected (weighted by its density):
        # further out, the events still to come blur every family alike and the cause is less certain
        near = density[:cause_steps]
        weight = near / near.sum(axis=0)
        for family, path in zip((*FAMILIES, "contagion"), projected, strict=True):
            out[f"hazard_{family}"][k] = np.where(unknown, np.nan, (weight * path[:cause_steps]).sum(axis=0))
    return out
