"""Sign kinds of contagion (family ``contagion``): how many peer accounts (same segment, and region)
defected recently, judged from their orders before as_of only.

A peer *defected by* a date ``d`` when it bought in the ``base`` days before ``[d - window, d)`` and its
net revenue in that window fell below ``threshold`` x what its base revenue predicts for the window.
Its defection *became visible* in the window before as_of when it had defected by as_of but not by
``as_of - window``. The account itself is never its own peer.
"""

from __future__ import annotations

import numpy as np

from ._base import Context
from ._registry import Param, register

__all__ = ["defection_flags"]

_PARAMS = {
    "by": Param("choices", choices=("segment", "region", "channel", "tier")),
    "window": Param("window"),
    "base": Param("window", required=False, default="365d"),
    "threshold": Param("number", required=False, default=0.1),
}


def _defected(ctx: Context, shift: int, window: int, base: int, threshold: float) -> tuple[np.ndarray, ...]:
    """(was a customer, had defected) for every account at every ``as_of - shift``."""
    recent = ctx.order_sum("net", shift + window, shift, everyone=True)
    before = ctx.order_sum("net", shift + window + base, shift + window, everyone=True)
    customer = before > 0
    return customer, customer & (recent < threshold * before * window / base)


def defection_flags(ctx: Context, window: int, base: float | int, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """(was a customer, defection became visible in the window) as 0/1 floats for every account at every
    as_of (``ctx.all_codes`` x ``ctx.all_t``): what one account adds to its peers' counts.

    Each value depends on the account's own orders only (the Spark builder sums them over the book).
    """
    customer, now = _defected(ctx, 0, window, int(base), threshold)
    _, earlier = _defected(ctx, window, window, int(base), threshold)
    return customer.astype(float), (now & ~earlier).astype(float)


def _peer_counts(ctx: Context, by: tuple[str, ...], window: int, base: float | int,
                 threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """(peers that were customers, peers whose defection became visible) for each row; NaN without a group."""

    def compute() -> tuple[np.ndarray, np.ndarray]:
        accounts = ctx.data.accounts
        if any(column not in accounts for column in by):
            nan = np.full(len(ctx), np.nan)
            return nan, nan
        attributes = accounts[list(by)].astype(object)
        group = attributes.groupby(list(by), dropna=True, sort=True).ngroup()
        group = group.fillna(-1).to_numpy(dtype=np.int64)  # -1: an attribute is unknown, no peer group
        customer, visible = defection_flags(ctx, window, base, threshold)
        n_groups = int(group.max()) + 1 if len(group) else 0
        m = len(ctx.as_of_days)
        cell = np.tile(np.arange(m), ctx.n_accounts) * max(n_groups, 1) + group[ctx.all_codes]
        known = group[ctx.all_codes] >= 0
        size = m * max(n_groups, 1)
        customers = np.bincount(cell[known], weights=customer[known], minlength=size)
        defections = np.bincount(cell[known], weights=visible[known], minlength=size)
        rows = ctx.active_all
        row_cell, row_known = cell[rows], known[rows]
        peers = np.where(row_known, customers[np.where(row_known, row_cell, 0)] - customer[rows], np.nan)
        lost = np.where(row_known, defections[np.where(row_known, row_cell, 0)] - visible[rows], np.nan)
        return peers, lost

    return ctx.memo(("peers", by, window, base, threshold), compute)


@register("peer_defection_share", unit="share", source="accounts", params=_PARAMS)
def peer_defection_share(ctx: Context, by: tuple[str, ...], window: int, base: int,
                         threshold: float) -> np.ndarray:
    """Share of peer accounts (same ``by`` attributes) whose defection became visible in the window."""
    peers, lost = _peer_counts(ctx, by, window, base, threshold)
    out = np.full(len(ctx), np.nan)
    np.divide(lost, peers, out=out, where=peers > 0)
    return out


@register("peer_defections", unit="count", source="accounts", params=_PARAMS)
def peer_defections(ctx: Context, by: tuple[str, ...], window: int, base: int, threshold: float) -> np.ndarray:
    """Number of peer accounts whose defection became visible in the window."""
    return _peer_counts(ctx, by, window, base, threshold)[1]

