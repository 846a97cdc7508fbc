"""The black box of lost accounts: every defection that became visible in a period, taken apart point in time.

A defection is read from orders by the model recipe's own label rule (``recipe.label``: full or partial,
horizon, thresholds; :func:`kamrisk.make_labels`): an account *falls* on the first day ``d`` of a run of
days whose label is 1, i.e. whose orders in ``[d, d + horizon)`` came in below the threshold of what its
trailing 365 days predicted. A label needs the whole horizon of orders after ``d``, so a review can judge
falls up to ``data.end - horizon`` only (``ReviewResult.judged_until``).

For each lost account the model is replayed at every month start of the ``lookback`` before its fall,
as it would have scored then: features built by one :func:`~kamrisk.build_features` call over the month
starts (each uses only facts dated before its as_of) and one :func:`~kamrisk.explain` call over the lost
accounts' rows. From that timeline come the first month flagged high and the reasons and action given
then, the verdict (warned in time: flagged high at least 90 days before the fall; warned late; missed),
the cause the model named, and when each sign family's contribution first rose above a threshold and when
it peaked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._durations import parse_days
from .._errors import OptionError

__all__ = ["review", "ReviewResult", "find_falls", "VERDICTS", "IN_TIME_DAYS", "SIGN_THRESHOLD", "LOST_REASON"]

VERDICTS = ("in_time", "late", "missed")
IN_TIME_DAYS = 90  # a warning at least this long before the fall leaves time to act
SIGN_THRESHOLD = 0.2  # log-odds a family must add to the risk for its signs to count as present
LOST_REASON = "lost_reason"  # the event type of the account team's own recorded reason
_ATTRIBUTES = ("name", "owner", "segment", "region", "channel")
_GROUPS = ("cause_family", "owner", "segment", "region")


@dataclass
class ReviewResult:
    """What the review found.

    Attributes
    ----------
    accounts : DataFrame
        One row per lost account, by revenue lost: ``account_id, name, owner, segment, region, channel,
        fell_on`` (the first day of the fall), ``revenue_12m`` (revenue of the 365 days before it),
        ``revenue_lost`` (the label window's shortfall against that pace, a year's worth), ``verdict``
        (``in_time``, ``late``, ``missed``), ``first_high`` (first as_of flagged high before the fall),
        ``lead_days`` (``fell_on - first_high``), ``risk_at_first_high``, ``reason_1..3`` and ``action`` given
        then, ``cause_family`` (the cause the model named: at the first high flag, else at the month of
        highest risk), ``peak_risk``, ``peak_risk_on``, ``peak_reason``, ``stage_before`` (the stage at the last
        month before the fall), ``signs_before`` (families whose signs showed before the fall, earliest
        first), ``team_reason`` and ``team_reason_on`` (the account team's ``lost_reason`` note), and on
        simulated data ``planted_cause``, ``planted_kind``, ``decided_on`` and ``cause_agrees``.
    timeline : DataFrame
        One row per lost account and month start in the lookback before its fall: ``account_id, as_of,
        days_to_fall`` (negative: before), ``status, status_reason, stage, risk, band, reason_1..3,
        reason_family_1..3, cause_family, action, contrib_<family>``, scored as it would have been then.
    signs : DataFrame
        One row per lost account and sign family whose signs showed: ``first_seen, first_seen_days``
        (days before the fall, negative), ``peak_on, peak_days, peak_contribution`` (log-odds).
    """

    accounts: pd.DataFrame
    timeline: pd.DataFrame
    signs: pd.DataFrame
    start: pd.Timestamp
    end: pd.Timestamp
    judged_until: pd.Timestamp
    label_kind: str
    horizon_days: int
    model_version: str
    lang: str = "en"
    lookback_days: int = 365
    simulated: bool = False
    reason_families: tuple[str, ...] = field(default_factory=tuple)
    threshold: float = 0.1
    catalog: Any = field(default=None, repr=False)

    # -- figures across all lost accounts -----------------------------------------------------------------
    def headline(self) -> dict[str, Any]:
        """``lost, in_time, late, missed, share_in_time, median_lead_days`` (over warned accounts),
        ``revenue_lost, top_cause`` (the cause the model named most often; "" when none) and on simulated
        data ``cause_agreement`` (share whose named cause is the planted one)."""
        a = self.accounts
        counts = a["verdict"].value_counts().reindex(VERDICTS, fill_value=0)
        warned = a.loc[a["verdict"] != "missed", "lead_days"]
        causes = a.loc[a["cause_family"] != "", "cause_family"].value_counts()
        out = {
            "lost": len(a), **{v: int(counts[v]) for v in VERDICTS},
            "share_in_time": float(counts["in_time"] / len(a)) if len(a) else float("nan"),
            "median_lead_days": float(warned.median()) if len(warned) else float("nan"),
            "revenue_lost": float(a["revenue_lost"].sum()),
            "top_cause": str(causes.index[0]) if len(causes) else "",
            "top_cause_count": int(causes.iloc[0]) if len(causes) else 0,
        }
        if self.simulated:
            planted = a["planted_cause"] != ""
            out["cause_agreement"] = float(a.loc[planted, "cause_agrees"].mean()) if planted.any() else float("nan")
            out["planted"] = int(planted.sum())
        return out

    def summary(self) -> str:
        """The headline in one paragraph (English)."""
        h = self.headline()
        period = f"{self.start:%Y-%m-%d} to {self.end:%Y-%m-%d}"
        if not h["lost"]:
            return f"Review {period}: no account's {self.label_kind} defection became visible in its orders."
        lead = "no warning" if np.isnan(h["median_lead_days"]) else f"{h['median_lead_days']:.0f} days"
        text = (f"Review {period}: {h['lost']} lost accounts ({self.label_kind} defection), revenue lost "
                f"{h['revenue_lost']:,.0f}. Warned in time: {h['share_in_time']:.0%} ({h['in_time']}); warned late "
                f"{h['late']}; missed {h['missed']}. Median lead of the warned: {lead}. Top cause named: "
                f"{h['top_cause'] or 'none'}" + (f" ({h['top_cause_count']})." if h["top_cause"] else "."))
        if self.simulated and h.get("planted"):
            text += (f" The named cause agrees with the planted one for {h['cause_agreement']:.0%} of "
                     f"{h['planted']} planted defections.")
        if self.judged_until < self.end - pd.Timedelta(days=1):
            text += (f" Falls after {self.judged_until:%Y-%m-%d} cannot be judged yet: the label needs "
                     f"{self.horizon_days} days of orders after the fall.")
        return text

    def by(self, column: str) -> pd.DataFrame:
        """Revenue lost by ``cause_family``, ``owner``, ``segment`` or ``region``: ``accounts,
        revenue_lost, in_time, missed``, largest revenue lost first."""
        if column not in _GROUPS:
            raise OptionError(f"by must be one of {list(_GROUPS)}, got {column!r}.")
        a = self.accounts
        if a.empty:
            return pd.DataFrame(columns=[column, "accounts", "revenue_lost", "in_time", "missed"])
        groups = a.groupby(a[column].fillna(""), sort=False)
        out = pd.DataFrame({
            "accounts": groups.size(),
            "revenue_lost": groups["revenue_lost"].sum(),
            "in_time": groups["verdict"].agg(lambda v: int((v == "in_time").sum())),
            "missed": groups["verdict"].agg(lambda v: int((v == "missed").sum())),
        })
        out.index.name = column
        return out.reset_index().sort_values(["revenue_lost", column], ascending=[False, True], ignore_index=True)

    def families(self) -> pd.DataFrame:
        """Which sign families preceded the losses: per family, ``accounts`` whose signs showed before the
        fall, ``share`` of the lost accounts, ``median_days_before`` (of the first sign) and ``named_cause``
        (how often the model named it), most frequent first."""
        s, n = self.signs, max(len(self.accounts), 1)
        causes = self.accounts["cause_family"].value_counts()
        rows = []
        for family in self.reason_families:
            mine = s[s["family"] == family]
            rows.append({"family": family, "accounts": len(mine), "share": len(mine) / n,
                         "median_days_before": float(-mine["first_seen_days"].median()) if len(mine) else np.nan,
                         "named_cause": int(causes.get(family, 0))})
        out = pd.DataFrame(rows, columns=["family", "accounts", "share", "median_days_before", "named_cause"])
        return out.sort_values(["accounts", "named_cause", "family"], ascending=[False, False, True],
                               ignore_index=True)

    @property
    def missed(self) -> pd.DataFrame:
        """The lost accounts the model never flagged high before the fall."""
        return self.accounts[self.accounts["verdict"] == "missed"].reset_index(drop=True)


def _day(value: Any, name: str) -> pd.Timestamp:
    from .._options import parse_as_of

    dates = parse_as_of(value, name)
    if len(dates) != 1:
        raise OptionError(f"{name} must be one date, got {len(dates)}.")
    return dates[0]


def find_falls(data: Any, label: Any, start: pd.Timestamp, end: pd.Timestamp, *, active_days: int = 365
               ) -> tuple[pd.DataFrame, pd.Timestamp]:
    """Accounts whose defection became visible in ``[start, end)`` by the label rule ``label``.

    Labels every day from ``start - 1`` to the last day the rule can judge (``data.end - horizon``); an
    account falls on the first day of a run of label-1 days that starts in the period (a run already under
    way the day before ``start`` began earlier). Each account's first fall in the period counts. The rule's
    kind, horizon and thresholds apply; an early-warning ``lead`` does not: the fall is the day the orders
    fell, and the verdict's 90 days ask how far ahead the model warned.

    Returns
    -------
    (DataFrame, Timestamp)
        ``account_id, fell_on, revenue_12m, revenue_lost`` and the last day judged.
    """
    from .._labels import make_labels

    horizon = label.horizon_days
    judged_until = min(end - pd.Timedelta(days=1), pd.Timestamp(data.end) - pd.Timedelta(days=horizon))
    columns = ["account_id", "fell_on", "revenue_12m", "revenue_lost"]
    if judged_until < start:
        return pd.DataFrame(columns=columns), judged_until
    days = pd.date_range(start - pd.Timedelta(days=1), judged_until, freq="D")
    labels = make_labels(data, days, horizon=horizon, kind=label.kind, full_threshold=label.full_threshold,
                         partial_threshold=label.partial_threshold, active_days=active_days)
    ids = labels.index.get_level_values("account_id").to_numpy()
    when = labels.index.get_level_values("as_of").to_numpy(dtype="datetime64[D]").astype(np.int64)
    fell = labels["label"].to_numpy() == 1.0
    same = np.r_[False, (ids[1:] == ids[:-1]) & (when[1:] - when[:-1] == 1)]  # rows are by account, then day
    begins = fell & ~(same & np.r_[False, fell[:-1]]) & (when >= start.to_datetime64().astype("datetime64[D]")
                                                          .astype(np.int64))
    first = labels[begins].groupby(level="account_id", sort=True).head(1)
    scale = 365.0 / horizon
    out = pd.DataFrame({
        "account_id": first.index.get_level_values("account_id").astype(str),
        "fell_on": first.index.get_level_values("as_of"),
        "revenue_12m": first["expected"].to_numpy() * scale,
        "revenue_lost": (first["expected"] - first["actual"]).clip(lower=0).to_numpy() * scale,
    })
    return out, judged_until


def _truth_frame(truth: Any) -> pd.DataFrame | None:
    """The simulator's truth table from a frame, a SimulatedBook or a book folder; None when not given."""
    if truth is None:
        return None
    frame = getattr(truth, "truth", truth)
    if isinstance(frame, str | Path):
        path = Path(frame)
        path = path / "truth.parquet" if path.is_dir() else path
        if not path.is_file():
            raise OptionError(f"{path}: no simulator truth here; give the truth.parquet written by "
                              "`kamrisk simulate` (or its folder).")
        frame = pd.read_parquet(path)
    if not isinstance(frame, pd.DataFrame):
        raise OptionError(f"truth must be the simulator's truth table, a SimulatedBook or its folder; got "
                          f"{type(truth).__name__}.")
    missing = sorted({"account_id", "visible_on", "cause"} - set(frame.columns))
    if missing:
        raise OptionError(f"truth lacks the columns {missing}: give the simulator's truth table.")
    return frame


def _planted(lost: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Per lost account, the planted defection whose visible_on lies nearest its fall (within a year)."""
    t = truth[["account_id", "visible_on", "cause", "kind", "decided_on"]].copy()
    t["account_id"] = t["account_id"].astype(str)
    pairs = lost[["account_id", "fell_on"]].merge(t, on="account_id", how="inner")
    pairs["gap"] = (pd.to_datetime(pairs["visible_on"]) - pairs["fell_on"]).dt.days.abs()
    pairs = pairs[pairs["gap"] <= 365].sort_values(["account_id", "gap"]).drop_duplicates("account_id")
    return pairs.set_index("account_id")[["cause", "kind", "decided_on"]]


def _team_reasons(data: Any, lost: pd.DataFrame, lookback: int) -> pd.DataFrame:
    """The latest ``lost_reason`` note of each lost account dated from ``lookback`` days before its fall."""
    events = data.events
    empty = pd.DataFrame(columns=["team_reason", "team_reason_on"], index=pd.Index([], name="account_id"))
    if events is None or "note" not in events.columns or lost.empty:
        return empty
    notes = events.loc[events["event_type"] == LOST_REASON, ["account_id", "event_date", "note"]]
    notes = notes[notes["note"].notna() & (notes["note"].astype(str).str.strip() != "")]
    if notes.empty:
        return empty
    notes = notes.assign(account_id=notes["account_id"].astype(str)).merge(lost[["account_id", "fell_on"]],
                                                                           on="account_id")
    notes = notes[notes["event_date"] >= notes["fell_on"] - pd.Timedelta(days=lookback)]
    latest = notes.sort_values(["account_id", "event_date"]).groupby("account_id").tail(1)
    return pd.DataFrame({"team_reason": latest["note"].astype(str).str.strip().to_numpy(),
                         "team_reason_on": latest["event_date"].to_numpy()},
                        index=pd.Index(latest["account_id"].to_numpy(), name="account_id"))


def _replay(data: Any, trained: Any, lost: pd.DataFrame, lookback: int, lang: str, allow_new_levels: bool
            ) -> pd.DataFrame:
    """The model at every month start of each lost account's lookback, as it would have scored then."""
    from .._explain import explain
    from .._features import build_features
    from .._score import _check_compatible, _status
    from .._stages import stage

    first = (lost["fell_on"].min() - pd.Timedelta(days=lookback)).to_period("M").start_time
    months = pd.date_range(first, lost["fell_on"].max(), freq="MS", name="as_of").as_unit("ns")
    activity = trained.recipe.activity
    model = trained.model
    features = build_features(data, months, catalog=trained.catalog, active_days=activity.active_days)
    names = list(model.feature_names_in_)
    _check_compatible(trained, features[[c for c in features.columns if c in set(names)]], allow_new_levels)
    status = _status(data, months, features, activity)
    status = status[status.index.get_level_values("account_id").isin(set(lost["account_id"]))]
    fell_on = lost.set_index("account_id")["fell_on"]
    ids = status.index.get_level_values("account_id")
    as_of = status.index.get_level_values("as_of")
    days = (as_of - pd.DatetimeIndex(fell_on.reindex(ids).to_numpy())).days.to_numpy()
    window = (days <= 0) & (days >= -lookback)
    status = status[window].assign(days_to_fall=days[window])
    scored = status.index[status["status"] == "scored"].intersection(features.index)
    X = features.loc[scored, names]
    explained = explain(model, X, trained.catalog, lang=lang, reasons="all", reference=None)
    out = status.join(explained, how="left")
    out["band"] = out["band"].fillna("")
    rows = out.index.isin(X.index)
    out.loc[rows, "stage"] = stage(X.reindex(out.index[rows]), out.loc[rows, "band"].to_numpy(), activity,
                                   trained.recipe.stages)
    for column in [c for c in out.columns if c.startswith(("reason", "cause", "action"))]:
        out[column] = out[column].fillna("")
    out = out.reset_index().sort_values(["account_id", "as_of"], ignore_index=True)
    leading = ["account_id", "as_of", "days_to_fall", "status", "status_reason", "stage", "risk", "band"]
    return out[leading + [c for c in out.columns if c not in leading]]


def _signs(timeline: pd.DataFrame, families: list[str], threshold: float) -> pd.DataFrame:
    """Per lost account and family whose contribution reached ``threshold`` before the fall: when it peaked,
    and when the unbroken run of months at or above ``threshold`` that leads to the peak began (a lone
    month a year earlier is noise, not the start of the signs)."""
    before = timeline[timeline["days_to_fall"] < 0].reset_index(drop=True)
    account = before["account_id"].to_numpy()
    parts = []
    for family in families:
        column = f"contrib_{family}"
        if column not in before:
            continue
        values = before[column].to_numpy(dtype=float)
        above = values >= threshold  # NaN (a month not scored) breaks a run
        if not above.any():
            continue
        run = pd.Series((~above).astype(np.int64)).groupby(account).cumsum().to_numpy()  # run number per account
        shown = before[above].assign(_run=run[above])
        peak = shown.loc[shown.groupby("account_id")[column].idxmax()].set_index("account_id")
        same_run = shown["_run"].to_numpy() == peak["_run"].reindex(shown["account_id"]).to_numpy()
        first = shown[same_run].groupby("account_id").head(1).set_index("account_id").reindex(peak.index)
        parts.append(pd.DataFrame({
            "account_id": peak.index.to_numpy(), "family": family,
            "first_seen": first["as_of"].to_numpy(), "first_seen_days": first["days_to_fall"].to_numpy(),
            "peak_on": peak["as_of"].to_numpy(), "peak_days": peak["days_to_fall"].to_numpy(),
            "peak_contribution": peak[column].to_numpy(dtype=float),
        }))
    columns = ["account_id", "family", "first_seen", "first_seen_days", "peak_on", "peak_days", "peak_contribution"]
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True).sort_values(["account_id", "first_seen_days", "family"],
                                                          ignore_index=True)[columns]


def _verdicts(lost: pd.DataFrame, timeline: pd.DataFrame) -> pd.DataFrame:
    """Per lost account: the first high flag before the fall, the lead, the verdict and what the model said."""
    before = timeline[(timeline["days_to_fall"] < 0) & (timeline["status"] == "scored")]
    high = before[before["band"] == "high"].groupby("account_id").head(1).set_index("account_id")
    peak = before.loc[before.groupby("account_id")["risk"].idxmax()].set_index("account_id") if len(before) \
        else before.set_index("account_id")
    last = timeline[timeline["days_to_fall"] < 0].groupby("account_id").tail(1).set_index("account_id")
    ids = lost["account_id"]
    out = pd.DataFrame(index=pd.Index(ids.to_numpy(), name="account_id"))
    hit = high.reindex(out.index)
    out["first_high"] = hit["as_of"].to_numpy()
    out["lead_days"] = -hit["days_to_fall"].to_numpy(dtype=float)
    out["verdict"] = np.where(out["lead_days"] >= IN_TIME_DAYS, "in_time",
                              np.where(out["lead_days"] > 0, "late", "missed")).astype(object)
    out["risk_at_first_high"] = hit["risk"].to_numpy(dtype=float)
    for column in ("reason_1", "reason_2", "reason_3", "action"):
        out[column] = hit[column].fillna("").to_numpy() if column in hit else ""
    top = peak.reindex(out.index)
    out["peak_risk"] = top["risk"].to_numpy(dtype=float)
    out["peak_risk_on"] = top["as_of"].to_numpy()
    out["peak_reason"] = top["reason_1"].fillna("").to_numpy() if "reason_1" in top else ""
    named_high = hit["cause_family"].fillna("") if "cause_family" in hit else pd.Series("", index=out.index)
    named_peak = top["cause_family"].fillna("") if "cause_family" in top else pd.Series("", index=out.index)
    out["cause_family"] = np.where(hit["as_of"].notna(), named_high, named_peak).astype(object)
    out["stage_before"] = last["stage"].reindex(out.index).fillna("").to_numpy()
    return out


def review(
    data: Any,
    model: Any = "models:/kamrisk@champion",
    *,
    start: Any,
    end: Any,
    lang: str = "en",
    lookback: str | int = "365d",
    truth: Any = None,
    sign_threshold: float = SIGN_THRESHOLD,
    tracking_uri: str | None = None,
    allow_new_levels: bool = False,
) -> ReviewResult:
    """Take apart every account whose defection became visible in its orders in ``[start, end)``.

    Parameters
    ----------
    data : AccountData or a data folder path
    model : str, TrainedModel or TrainResult
        As for :func:`kamrisk.score`. Its recipe's label rule says what counts as lost; the model is
        replayed at each month start before the fall. A model trained on data from the period has seen
        these losses: for an out-of-sample review, train it on data before ``start``.
    start, end : dates
        The period: falls on ``start`` up to the day before ``end``.
    lang : ``"en"`` or ``"zh"``, the language of the reasons and actions
    lookback : duration, default ``"365d"``
        How far before each fall the model is replayed (monthly) and flags and signs count.
    truth : DataFrame, SimulatedBook or folder, optional
        The simulator's truth (``account_id, visible_on, cause, kind, decided_on``): each lost account gets
        the planted cause beside the model's. Real data has none; nothing else needs it.
    sign_threshold : float, default 0.2
        Log-odds a family must add to the risk for its signs to count as shown.
    tracking_uri, allow_new_levels
        As for :func:`kamrisk.score`.

    Returns
    -------
    ReviewResult

    Raises
    ------
    OptionError
        For dates that are not dates, an empty period, or a period the label rule cannot judge yet.
    ModelError
        When the model and the data disagree.

    Examples
    --------
    >>> result = kamrisk.review(book, model, start="2024-07-01", end="2025-07-01")  # doctest: +SKIP
    >>> print(result.summary())  # doctest: +SKIP
    """
    from .._options import check_lang
    from .._schema import AccountData, load_data
    from .._score import load_model

    lang = check_lang(lang)
    start, end = _day(start, "start"), _day(end, "end")
    if end <= start:
        raise OptionError(f"The review period is empty: end {end:%Y-%m-%d} is not after start {start:%Y-%m-%d}.")
    try:
        lookback_days = parse_days(lookback, "lookback")
    except ValueError as exc:
        raise OptionError(f"{exc}.") from None
    truth_frame = _truth_frame(truth)
    trained = load_model(model, tracking_uri=tracking_uri)
    if not isinstance(data, AccountData):
        data = load_data(data, vocabulary=trained.catalog.vocabulary)
    label = trained.recipe.label
    horizon = label.horizon_days
    lost, judged_until = find_falls(data, label, start, end, active_days=trained.recipe.activity.active_days)
    if judged_until < start:
        raise OptionError(
            f"The label rule cannot judge falls from {start:%Y-%m-%d} yet: a {label.kind} defection needs "
            f"{horizon} days of orders after the fall, and the data ends {pd.Timestamp(data.end):%Y-%m-%d}. "
            f"Review a period starting by {judged_until:%Y-%m-%d}."
        )
    catalog = trained.catalog
    reason_families = [f for f in catalog.reason_families
                       if any(catalog.family_of(c) == f for c in trained.model.feature_names_in_)]
    if len(lost):
        timeline = _replay(data, trained, lost, lookback_days, lang, allow_new_levels)
    else:
        timeline = pd.DataFrame(columns=["account_id", "as_of", "days_to_fall", "status", "status_reason", "stage",
                                         "risk", "band", "cause_family"])
    signs = _signs(timeline, reason_families, float(sign_threshold))
    accounts = lost.set_index("account_id")
    accounts = accounts.join(_verdicts(lost, timeline))
    shown = signs.groupby("account_id")["family"].agg(", ".join) if len(signs) else pd.Series(dtype=object)
    accounts["signs_before"] = shown.reindex(accounts.index).fillna("").to_numpy()
    accounts = accounts.join(_team_reasons(data, lost, lookback_days))
    accounts["team_reason"] = accounts["team_reason"].fillna("") if "team_reason" in accounts else ""
    attributes = data.accounts.assign(account_id=data.accounts["account_id"].astype(str)).set_index("account_id")
    for column in _ATTRIBUTES:
        values = attributes[column].reindex(accounts.index) if column in attributes else None
        accounts[column] = "" if values is None else values.astype(object).where(values.notna(), "").astype(str)
    if truth_frame is not None:
        planted = _planted(lost, truth_frame).reindex(accounts.index)
        accounts["planted_cause"] = planted["cause"].fillna("").astype(str).to_numpy()
        accounts["planted_kind"] = planted["kind"].fillna("").astype(str).to_numpy()
        accounts["decided_on"] = pd.to_datetime(planted["decided_on"]).to_numpy()
        accounts["cause_agrees"] = (accounts["planted_cause"] != "") & (accounts["cause_family"]
                                                                        == accounts["planted_cause"])
    accounts = accounts.reset_index()
    leading = ["account_id", *_ATTRIBUTES, "fell_on", "revenue_12m", "revenue_lost", "verdict", "first_high",
               "lead_days"]
    accounts = accounts[leading + [c for c in accounts.columns if c not in leading]]
    accounts = accounts.sort_values(["revenue_lost", "account_id"], ascending=[False, True], ignore_index=True)
    return ReviewResult(accounts=accounts, timeline=timeline, signs=signs, start=start, end=end,
                        judged_until=judged_until, label_kind=label.kind, horizon_days=horizon,
                        model_version=trained.model_version, lang=lang, lookback_days=lookback_days,
                        simulated=truth_frame is not None, reason_families=tuple(reason_families),
                        threshold=label.threshold, catalog=catalog)
