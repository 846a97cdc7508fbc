"""Defection-sign features, point in time, from the declarative catalog (``features/*.yaml``).

One module per sign family holds the small vectorised functions (*kinds*) the catalog entries name;
``_registry`` declares them and ``_base`` holds the shared timelines. :func:`build_features` computes
every catalog sign for every active (account, as_of) at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._errors import ConfigError
from .._schema import AccountData
from . import _account_context, _channel_conflict, _contagion, _events, _orders, _relationship, _timing  # noqa: F401
from ._base import Context, as_of_index
from ._registry import KINDS, Kind, register

if TYPE_CHECKING:  # pragma: no cover
    from .._catalog import Catalog

__all__ = ["build_features", "active_accounts", "KINDS", "Kind", "register"]


def _check_active_days(active_days: int) -> int:
    if isinstance(active_days, bool) or not isinstance(active_days, int | np.integer) or active_days < 1:
        raise ConfigError(f"active_days must be a positive number of days, got {active_days!r}.")
    return int(active_days)


def active_accounts(data: AccountData, as_of: Any, active_days: int = 365) -> pd.MultiIndex:
    """The (account_id, as_of) pairs where the account is active: at least one order (positive amount)
    in the ``active_days`` days before as_of.

    Parameters
    ----------
    data : AccountData
    as_of : date or list-like of dates
    active_days : int, default 365

    Returns
    -------
    MultiIndex
        Levels ``account_id`` and ``as_of``, ordered by account then date.
    """
    return Context(data, as_of_index(as_of), _check_active_days(active_days)).index


def _sources_missing(kind: Kind, data: AccountData) -> bool:
    if kind.source == "events":
        return data.events is None or any(c not in data.events.columns for c in kind.columns)
    return False


def build_features(
    data: AccountData,
    as_of: Any,
    *,
    catalog: Catalog | str | None = None,
    active_days: int = 365,
    families: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Compute every catalog sign for every active account at every as-of date.

    Only facts dated strictly before as_of are used; an event resolved at or after as_of counts as
    open at as_of. A family whose source table (or column) is absent gives NaN columns.

    Parameters
    ----------
    data : AccountData
        The validated book.
    as_of : date or list-like of dates
        Snapshot dates (normalised to days, duplicates dropped).
    catalog : Catalog or path, optional
        The sign catalog; the shipped one by default.
    active_days : int, default 365
        An account is active at as_of with at least one order in the ``active_days`` before it; only
        active accounts get a row.
    families : iterable of str, optional
        Compute only these sign families (the catalog's order is kept).

    Returns
    -------
    DataFrame
        Indexed by (``account_id``, ``as_of``), one column per catalog sign in catalog order: float64,
        or ``category`` for categorical signs. ``df.attrs["catalog_hash"]`` names the catalog version.

    Raises
    ------
    ConfigError
        For bad as_of dates, ``active_days`` or family names.

    Examples
    --------
    >>> features = kamrisk.build_features(book, ["2024-01-01", "2024-02-01"])  # doctest: +SKIP
    >>> features.loc[("A17", "2024-02-01"), "revenue_change_90d"]  # doctest: +SKIP
    -0.38
    """
    from .._catalog import Catalog, load_catalog

    if not isinstance(catalog, Catalog):
        catalog = load_catalog(catalog)
    signs = catalog.signs
    if families is not None:
        wanted = [families] if isinstance(families, str) else list(families)
        unknown = sorted(set(wanted) - set(catalog.families))
        if unknown:
            raise ConfigError(f"Unknown sign families {unknown}; the catalog has {list(catalog.families)}.")
        signs = [s for s in signs if s.family in set(wanted)]
    ctx = Context(data, as_of_index(as_of), _check_active_days(active_days))
    columns: dict[str, Any] = {}
    for sign in signs:  # a loop over signs; each sign is vectorised over all rows
        kind = KINDS[sign.kind]
        if _sources_missing(kind, data) or len(ctx) == 0:
            empty: Any = np.full(len(ctx), np.nan)
            if kind.unit == "category":
                empty = pd.Categorical(empty, categories=pd.Index([], dtype="str"))
            columns[sign.id] = empty
            continue
        values = kind.compute(ctx, sign.params)
        columns[sign.id] = values if kind.unit == "category" else np.asarray(values, dtype=float)
    frame = pd.DataFrame(columns, index=ctx.index)
    frame.attrs["catalog_hash"] = catalog.hash
    ctx.book.forget_lookups()
    return frame
