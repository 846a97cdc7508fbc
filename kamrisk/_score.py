"""Batch scoring: every account in, every account out, scored or listed as unscorable with the reason.

``score(data, model, as_of=...)`` builds the features at ``as_of`` with the model's own catalog, checks
that the model and the data agree (feature columns, category levels), scores and explains, checks drift
against the training data (population stability index), and returns one row per input account and as_of,
sorted by revenue at risk.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._errors import ModelError
from ._model import check_columns
from ._options import check_lang, check_reasons, parse_as_of
from ._predict import model_columns

__all__ = ["score", "load_model", "ScoreResult", "population_stability", "write_scores", "DRIFT_THRESHOLD",
           "DriftWarning", "compare_scores", "CHANGE_COLUMNS"]

DRIFT_THRESHOLD = 0.2
_ATTRIBUTES = ("name", "owner", "segment", "region", "channel")


class DriftWarning(UserWarning):
    """Scoring data differs from the training data (population stability index above 0.2)."""


@dataclass
class ScoreResult:
    """Scores (one row per account and as_of) and the drift table of the scoring data."""

    scores: pd.DataFrame
    drift: pd.DataFrame

    @property
    def drifted(self) -> pd.DataFrame:
        return self.drift[self.drift["psi"] > DRIFT_THRESHOLD]


def _bin_shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Share of values in each bin between ``edges``, plus a last bin for missing values."""
    codes = np.where(np.isnan(values), len(edges) + 1, np.searchsorted(edges, values, side="right"))
    return np.bincount(codes, minlength=len(edges) + 2) / max(len(values), 1)


def _psi(train: np.ndarray, now: np.ndarray, bins: int) -> float:
    eps = 1e-4
    finite = train[np.isfinite(train)]
    edges = np.unique(np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1])) if len(finite) else np.array([])
    e, a = _bin_shares(train, edges) + eps, _bin_shares(now, edges) + eps
    return float(np.sum((a - e) * np.log(a / e)))


def _dates(frame: pd.DataFrame) -> np.ndarray | None:
    names = getattr(frame.index, "names", None) or []
    return frame.index.get_level_values("as_of").to_numpy() if "as_of" in names else None


def population_stability(expected: pd.DataFrame, actual: pd.DataFrame, bins: int = 10,
                         by_as_of: tuple[str, ...] | list[str] = ()) -> pd.DataFrame:
    """PSI of each numeric feature: training (``expected``) against scoring (``actual``) distribution.

    Bins are the training deciles; missing values are a bin of their own. A PSI above 0.2 is a shift
    worth a look; above 0.25 the model is scoring a population it has not seen.

    Features in ``by_as_of`` take one value per peer group at each as_of (the share of peers that defected
    in the last 180 days): pooled over several training months, they look nothing like any one month. They
    are compared window for window: each scoring as_of against each training as_of (both indexed by
    ``as_of``), and the PSI is that of the closest training month (the largest over scoring dates). Scoring
    a month the model trained on is then quiet; a month unlike any the model saw is not.
    """
    rows = []
    train_dates, score_dates = _dates(expected), _dates(actual)
    windowed = set(by_as_of) if train_dates is not None and score_dates is not None else set()
    for column in expected.columns:
        if column not in actual or not pd.api.types.is_numeric_dtype(expected[column]):
            continue
        train = expected[column].to_numpy(dtype=float)
        now = actual[column].to_numpy(dtype=float)
        if column in windowed:
            psi = max(min(_psi(train[train_dates == t], now[score_dates == d], bins) for t in np.unique(train_dates))
                      for d in np.unique(score_dates))
        else:
            psi = _psi(train, now, bins)
        rows.append({"feature": column, "psi": psi,
                     "train_missing": float(np.isnan(train).mean()), "score_missing": float(np.isnan(now).mean())})
    frame = pd.DataFrame(rows, columns=["feature", "psi", "train_missing", "score_missing"])
    return frame.sort_values("psi", ascending=False, ignore_index=True)


def _check_compatible(trained: Any, X: pd.DataFrame, allow_new_levels: bool) -> None:
    model = trained.model
    trained.check()
    check_columns(list(model.feature_names_in_), X.columns)
    new_levels = {}
    for column, levels in model.categories_.items():
        seen = X[column].dropna().astype(str).unique()
        unknown = sorted(set(seen) - set(levels))
        if unknown:
            new_levels[column] = unknown
    if new_levels and not allow_new_levels:
        raise ModelError(
            f"Category levels the model never saw: {new_levels}. Retrain, map them to known levels in the "
            "accounts table, or pass allow_new_levels=True (--allow-new-levels) to score them as unknown."
        )


def _status(data: Any, as_of: pd.DatetimeIndex, X: pd.DataFrame, activity: Any, lang: str = "en") -> pd.DataFrame:
    """Every account x as_of: scored, or unscorable with the reason in ``lang`` (and stage ``lapsed`` where
    its orders stopped; no stage before its first order)."""
    from ._features._base import book_of, to_days
    from ._stages import lapsed
    from ._status_text import status_reason

    active_days = activity.active_days
    ids = data.account_ids
    grid = pd.MultiIndex.from_product([ids, as_of], names=["account_id", "as_of"])
    frame = pd.DataFrame(index=grid)
    frame["status"] = "unscorable"
    # the day of each account's first order (positive amount), from the book the features sorted already:
    # no copy of the orders table, no grouping by account id
    first = book_of(data).first_buying_day()  # in the order of data.accounts, as ids
    first_order = np.repeat(first, len(as_of))  # the grid runs through every as_of of one account, then the next
    never = np.isnan(first_order) | (first_order >= np.tile(to_days(as_of), len(ids)))
    frame["status_reason"] = np.where(never, status_reason("never", lang),
                                      status_reason("inactive", lang, days=active_days))
    frame["stage"] = np.where(never, "", "lapsed")
    gone = lapsed(X, activity)
    scored_index = X.index[~gone]
    frame.loc[X.index[gone], "status_reason"] = [
        status_reason("lapsed", lang, days=int(d)) for d in X.loc[gone, "days_since_last_order"]
    ] if gone.any() else []
    frame.loc[scored_index, "status"] = "scored"
    frame.loc[scored_index, "status_reason"] = ""
    frame.loc[scored_index, "stage"] = ""  # read with the band, below
    return frame


OUTSIDE_SLACK_DAYS = 31  # an export is often scored at the next month start, a few weeks after its last order


def _check_span(data: Any, dates: pd.DatetimeIndex, allow: bool) -> None:
    """Refuse as_of dates before the first order or more than a month after the data's end."""
    from ._errors import OptionError

    outside = dates[(dates < data.start) | (dates > data.end + pd.Timedelta(days=OUTSIDE_SLACK_DAYS))]
    if len(outside) and not allow:
        raise OptionError(
            f"as_of {', '.join(f'{d:%Y-%m-%d}' for d in outside[:5])} is outside the data, which runs from "
            f"{data.start:%Y-%m-%d} to {data.end:%Y-%m-%d} (scoring up to {OUTSIDE_SLACK_DAYS} days after its end "
            "is allowed): check the date, or pass allow_outside_data=True (--allow-outside-data) to score it anyway."
        )


def load_model(model: Any, *, tracking_uri: str | None = None) -> Any:
    """The :class:`~kamrisk.TrainedModel` behind ``model``: an MLflow model URI (``models:/kamrisk@champion``,
    ``runs:/<id>/model``), a local model folder, a TrainedModel, or a TrainResult."""
    from ._trained import TrainedModel

    if isinstance(model, TrainedModel):
        return model
    trained = getattr(model, "trained", None)  # a TrainResult
    if isinstance(trained, TrainedModel):
        return trained
    if isinstance(model, str | Path):
        from ._tracking import load_trained

        return load_trained(str(model), tracking_uri)
    raise ModelError(
        f"model must be a model URI (e.g. 'models:/kamrisk@champion'), a TrainedModel or a TrainResult, "
        f"got {type(model).__name__}."
    )


def score(
    data: Any,
    model: Any = "models:/kamrisk@champion",
    *,
    as_of: Any,
    lang: str = "en",
    reasons: str = "all",
    tracking_uri: str | None = None,
    allow_new_levels: bool = False,
    previous: Any = None,
    allow_outside_data: bool = False,
) -> ScoreResult:
    """Score every account of ``data`` at ``as_of`` with a trained model.

    Parameters
    ----------
    data : AccountData or a data folder path
    model : str, TrainedModel or TrainResult
        Any MLflow model URI (``models:/kamrisk@champion``, ``runs:/<id>/model``) or a local model folder,
        or the model itself (``train(...).trained``).
    as_of : a date or a list of dates (ISO text such as ``"2025-06-01"``, or timestamps)
    lang : ``"en"`` or ``"zh"`` for the reasons and actions
    reasons : ``"all"``, ``"at_risk"`` (only high and medium band rows are explained) or ``"none"``
    tracking_uri : where ``models:/`` URIs are resolved (default as for training)
    allow_new_levels : score category levels the model never saw as unknown instead of refusing
    allow_outside_data : score an as_of before the first order or more than a month after the data's end
        (refused by default: nothing, or only stale facts, would be scored)
    previous : DataFrame, optional
        An earlier scores table (``kamrisk.read_scores(path)`` reads a file).
        Adds what changed since then to the latest as_of (:func:`compare_scores`):
        ``previous_as_of, previous_risk, previous_revenue_at_risk, risk_change, band_change, stage_change,
        new_reasons``; an account of the earlier scoring missing now is added as an ``unscorable`` row with
        ``band_change`` ``gone``.

    Returns
    -------
    ScoreResult
        ``scores``: ``account_id, as_of, status, status_reason, name, owner, segment, region, channel,
        risk, band, revenue_12m, revenue_at_risk, reason_1..3, reason_family_1..3, cause_family, action``,
        ``contrib_<family>``, ``whatif_<family>``, ``model_version, horizon_days, label_kind``, sorted by
        revenue at risk; ``drift``: PSI per feature.

    Raises
    ------
    ModelError
        When the model and the data disagree (columns, category levels).
    OptionError
        For a bad ``as_of``, ``lang`` or ``reasons``, or an as_of outside the data.
    """
    from ._explain import explain
    from ._features import build_features
    from ._schema import AccountData, load_data
    from ._stages import STAGE_ORDER, stage

    lang, reasons = check_lang(lang), check_reasons(reasons)
    dates = parse_as_of(as_of)
    previous_scores = _previous(previous)
    trained = load_model(model, tracking_uri=tracking_uri)
    if not isinstance(data, AccountData):
        data = load_data(data, vocabulary=trained.catalog.vocabulary)
    _check_span(data, dates, allow_outside_data)
    model_ = trained.model
    activity = trained.recipe.activity
    features = build_features(data, dates, catalog=trained.catalog, active_days=activity.active_days)
    _check_compatible(trained, features[[c for c in features.columns if c in set(model_.feature_names_in_)]],
                      allow_new_levels)
    status = _status(data, dates, features, activity, lang)
    scored = features.loc[status.index[status["status"] == "scored"].intersection(features.index)]
    X = scored[list(model_.feature_names_in_)]
    explained = explain(model_, X, trained.catalog, lang=lang, reasons=reasons,
                        reference=trained.reference or None)
    out = status.join(explained, how="left")
    out["band"] = out["band"].fillna("")
    scored_rows = out.index.isin(X.index)
    out.loc[scored_rows, "stage"] = stage(X.reindex(out.index[scored_rows]), out.loc[scored_rows, "band"].to_numpy(),
                                          activity, trained.recipe.stages)
    for column in [c for c in out.columns if c.startswith(("reason", "cause", "action"))]:
        out[column] = out[column].fillna("")
    revenue = features["revenue_365d"] if "revenue_365d" in features else pd.Series(dtype=float)
    out["revenue_12m"] = revenue.reindex(out.index).fillna(0.0).to_numpy()
    out["revenue_at_risk"] = out["risk"] * out["revenue_12m"]
    accounts = data.accounts.set_index("account_id")
    ids = out.index.get_level_values("account_id")
    for column in _ATTRIBUTES:
        out[column] = accounts[column].reindex(ids).to_numpy() if column in accounts else None
    for column, values in model_columns(trained, len(out)).items():
        out[column] = values
    out = out.reset_index()
    leading = ["account_id", "as_of", "status", "status_reason", "stage", *_ATTRIBUTES, "risk", "band",
               "revenue_12m", "revenue_at_risk"]
    out = out[leading + [c for c in out.columns if c not in leading]]
    # the account team's reading order: warnings (time to act) first, then declining, healthy, lapsed; by
    # revenue at risk within each
    out["_stage_rank"] = out["stage"].map(STAGE_ORDER).fillna(len(STAGE_ORDER))
    out = out.sort_values(["as_of", "_stage_rank", "revenue_at_risk", "account_id"],
                          ascending=[False, True, False, True], na_position="last", ignore_index=True)
    out = out.drop(columns="_stage_rank")
    drift = pd.DataFrame(columns=["feature", "psi", "train_missing", "score_missing"])
    sample = trained.training_sample
    if sample is not None and len(X):
        # month for month: peer shares (one value per group and month) and ages that grow with the calendar
        # cannot match a pool of six training months, yet a month the model trained on is no shift
        drift = population_stability(sample[list(model_.feature_names_in_)], X,
                                     by_as_of=list(model_.feature_names_in_))
        high = drift[drift["psi"] > DRIFT_THRESHOLD]
        if len(high):
            warnings.warn(
                f"{len(high)} feature(s) drifted from the training data (PSI > {DRIFT_THRESHOLD}): "
                + ", ".join(f"{r.feature} {r.psi:.2f}" for r in high.head(10).itertuples()),
                DriftWarning, stacklevel=2,
            )
    if previous_scores is not None:
        out = _with_changes(out, previous_scores, lang)
    return ScoreResult(scores=out, drift=drift)


# -- what changed since an earlier scoring (previous=) ----------------------------------------------------------
CHANGE_COLUMNS = ("previous_as_of", "previous_risk", "previous_revenue_at_risk", "risk_change", "band_change",
                  "stage_change", "new_reasons")
NEW, GONE, UNSCORED = "new", "gone", "unscored"
_CHANGE_REASONS = 3
_PREVIOUS_COLUMNS = ("account_id", "as_of", "risk", "band")


def _previous(previous: Any) -> pd.DataFrame | None:
    """The earlier scores of ``previous=``, checked before any work (read a file with :func:`kamrisk.read_scores`)."""
    from ._errors import DataError

    if previous is None:
        return None
    if not isinstance(previous, pd.DataFrame):
        raise DataError(f"previous must be a scores table (a DataFrame: read a file with kamrisk.read_scores), got "
                        f"{type(previous).__name__}.")
    frame = previous.reset_index() if "account_id" not in previous.columns else previous
    missing = [c for c in _PREVIOUS_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"previous scores: missing column(s) {missing}; give a table written by `kamrisk score`.")
    if frame.empty:
        raise DataError("previous scores: the table has no rows.")
    frame = frame.copy()
    frame["as_of"] = pd.to_datetime(frame["as_of"], errors="coerce")
    if frame["as_of"].isna().any():
        raise DataError(f"previous scores, column 'as_of': {int(frame['as_of'].isna().sum())} value(s) not a date.")
    return frame


def _with_changes(out: pd.DataFrame, previous: pd.DataFrame, lang: str = "en") -> pd.DataFrame:
    """The change columns against ``previous``; accounts it had and the data no longer has are added last."""
    return compare_scores(out, previous, lang=lang)


def _change_text(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame:
        return pd.Series("", index=frame.index, dtype=object)
    values = frame[column].astype(object)
    return values.where(values.notna(), "").astype(str)


def _transition(before: pd.Series, now: pd.Series) -> np.ndarray:
    """``old->new`` where they differ (an empty value reads ``unscored``), "" where they agree."""
    old = before.replace("", UNSCORED).to_numpy(dtype=object)
    new = now.replace("", UNSCORED).to_numpy(dtype=object)
    return np.where(old == new, "", old + "->" + new).astype(object)


def compare_scores(current: pd.DataFrame, previous: pd.DataFrame, *, lang: str = "en") -> pd.DataFrame:
    """``current`` scores with the change columns against the latest as_of of ``previous``.

    Parameters
    ----------
    current : DataFrame
        Scores as :func:`kamrisk.score` returns them (one row per account and as_of).
    previous : DataFrame
        An earlier scoring (its latest as_of is compared).
    lang : ``"en"`` or ``"zh"``
        Language of the ``status_reason`` of an account ``previous`` had and ``current`` lacks.

    Returns
    -------
    DataFrame
        ``current`` plus :data:`CHANGE_COLUMNS` (filled on the rows of its latest as_of), and one
        ``unscorable`` row at that as_of for each account of ``previous`` missing from ``current``.
        ``risk_change`` is in probability (0.12: twelve points up); ``band_change`` and ``stage_change`` read
        ``old->new`` (``unscored`` for no band), "" when unchanged, ``new`` for an account absent before and
        ``gone`` for one absent now; ``new_reasons`` names the reason families (comma-separated) an account
        has now and did not have before.
    """
    from ._status_text import status_reason

    lang = check_lang(lang)
    out = current.copy()
    latest = out["as_of"].max()
    prev = previous[previous["as_of"] == previous["as_of"].max()].copy()
    prev["account_id"] = prev["account_id"].astype(str)
    prev = prev.drop_duplicates("account_id").set_index("account_id")
    now = out["as_of"] == latest
    ids = out.loc[now, "account_id"].astype(str)
    before = prev.reindex(ids.to_numpy())
    known = ids.isin(prev.index).to_numpy()
    for column in CHANGE_COLUMNS:
        out[column] = pd.Series(pd.NaT if column == "previous_as_of" else np.nan if column in (
            "previous_risk", "previous_revenue_at_risk", "risk_change") else "", index=out.index)
    out["previous_as_of"] = pd.to_datetime(out["previous_as_of"])
    rows = out.index[now]
    out.loc[rows, "previous_as_of"] = pd.to_datetime(before["as_of"]).to_numpy()
    out.loc[rows, "previous_risk"] = pd.to_numeric(before["risk"], errors="coerce").to_numpy(dtype=float)
    out.loc[rows, "previous_revenue_at_risk"] = pd.to_numeric(before["revenue_at_risk"],
                                                              errors="coerce").to_numpy(dtype=float)
    out.loc[rows, "risk_change"] = out.loc[rows, "risk"].to_numpy(dtype=float) - out.loc[rows, "previous_risk"]
    current_rows = out.loc[rows]
    band = _transition(_change_text(before, "band").set_axis(rows), _change_text(current_rows, "band"))
    moved = _transition(_change_text(before, "stage").set_axis(rows), _change_text(current_rows, "stage"))
    out.loc[rows, "band_change"] = np.where(known, band, NEW)
    out.loc[rows, "stage_change"] = np.where(known, moved, NEW)
    old = np.stack([_change_text(before, f"reason_family_{k}").to_numpy(dtype=object)
                    for k in range(1, _CHANGE_REASONS + 1)])
    fresh = []
    for k in range(1, _CHANGE_REASONS + 1):
        family = _change_text(current_rows, f"reason_family_{k}").to_numpy(dtype=object)
        is_new = (family != "") & known & ~(old == family).any(axis=0)
        fresh.append(np.where(is_new, family, ""))
    joined = pd.Series(fresh[0], index=rows, dtype=object)
    for column in fresh[1:]:
        add = pd.Series(column, index=rows, dtype=object)
        joined = joined + np.where((joined != "") & (add != ""), ", ", "") + add
    out.loc[rows, "new_reasons"] = joined.to_numpy()

    gone_ids = prev.index.difference(pd.Index(ids.to_numpy()), sort=False)
    if len(gone_ids):
        g = prev.loc[gone_ids]
        added = pd.DataFrame({"account_id": gone_ids.to_numpy(), "as_of": latest, "status": "unscorable",
                              "status_reason": [status_reason("gone", lang, date=f"{d:%Y-%m-%d}")
                                                for d in pd.to_datetime(g["as_of"])],
                              "stage": "", "risk": np.nan, "band": "", "revenue_12m": np.nan,
                              "revenue_at_risk": np.nan})
        for column in _ATTRIBUTES:
            added[column] = _change_text(g, column).to_numpy()
        for column in ("model_version", "horizon_days", "label_kind"):
            if column in out and len(out):
                added[column] = out[column].iloc[0]
        added["previous_as_of"] = pd.to_datetime(g["as_of"]).to_numpy()
        added["previous_risk"] = pd.to_numeric(g["risk"], errors="coerce").to_numpy(dtype=float)
        added["previous_revenue_at_risk"] = pd.to_numeric(g["revenue_at_risk"], errors="coerce").to_numpy(dtype=float)
        added["risk_change"] = np.nan
        added["band_change"] = GONE
        added["stage_change"] = GONE
        added["new_reasons"] = ""
        for column in out.columns:
            if column not in added:
                kind = out[column].dtype
                numeric = pd.api.types.is_numeric_dtype(kind) or pd.api.types.is_datetime64_any_dtype(kind)
                added[column] = np.nan if numeric else ""
        out = pd.concat([out, added[out.columns].astype({c: out[c].dtype for c in ("account_id",)})],
                        ignore_index=True)
    return out




def write_scores(scores: pd.DataFrame, out: str | Path) -> Path:
    """Write scores as parquet, csv or xlsx (by extension) through :func:`kamrisk._outputs.write_table`:
    text cells are guarded against formula injection in csv and xlsx, account ids are written exactly."""
    from ._outputs import write_table

    return write_table(scores, out, sheet="scores", id_columns=("account_id",))
