"""Readers for public data sets, to check kamrisk on real data.

CDNOW (``CDNOW_master.txt``): every purchase of 23,570 customers of the former online CD retailer who made
a first purchase in the first quarter of 1997, to 1998-06-30. It has orders only: every sign family but
``shrinking_orders`` (and the order-based parts of ``account_context``) is absent, which is the point: it
exercises the order-only path of the package.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ._errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    from ._schema import AccountData

__all__ = ["read_cdnow", "CDNOW_FILE"]

CDNOW_FILE = "CDNOW_master.txt"
_CDNOW_COLUMNS = ["customer_id", "date", "number_of_cds", "dollar_value"]


def read_cdnow(path: str | Path) -> AccountData:
    """Read the CDNOW purchase log as kamrisk data (orders only).

    Parameters
    ----------
    path : the ``CDNOW_master.txt`` file, or a folder holding it. Whitespace-separated with a header
        ``customer_id date number_of_cds dollar_value``, dates ``YYYYMMDD``.

    Returns
    -------
    AccountData
        ``orders`` with ``account_id`` (the customer id as written, e.g. ``"00001"``), ``order_date``,
        ``amount`` (dollar value) and ``quantity`` (number of CDs). Exact duplicate rows of the log are
        reported by the validation (a :class:`~kamrisk.DataWarning`) and one copy of each is kept.

    Raises
    ------
    DataError
        When the file is missing, or not laid out as above.

    Examples
    --------
    >>> data = kamrisk.read_cdnow("shared/data/cdnow")  # doctest: +SKIP
    >>> data  # doctest: +SKIP
    AccountData(23570 accounts, 69404 orders, 0 events, 1997-01-01 to 1998-07-01)
    """
    from ._schema import AccountData

    file = Path(path)
    if file.is_dir():
        file = file / CDNOW_FILE
    if not file.is_file():
        raise DataError(f"{file}: no such file; give the path of {CDNOW_FILE} or the folder holding it.")
    try:
        raw = pd.read_csv(file, sep=r"\s+", dtype=str, engine="c")
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file for the user
        raise DataError(f"{file}: cannot read it as a whitespace-separated table: {exc}") from exc
    if list(raw.columns) != _CDNOW_COLUMNS:
        raise DataError(f"{file}: expected the columns {_CDNOW_COLUMNS}, found {list(raw.columns)}.")
    dates = pd.to_datetime(raw["date"], format="%Y%m%d", errors="coerce")
    bad = dates.isna()
    if bad.any():
        rows = (bad[bad].index[:5] + 1).tolist()
        raise DataError(f"{file}: {int(bad.sum())} date(s) not in YYYYMMDD form, e.g. rows {rows} "
                        f"({raw.loc[bad, 'date'].head(3).tolist()}).")
    orders = pd.DataFrame({
        "account_id": raw["customer_id"],
        "order_date": dates,
        "amount": raw["dollar_value"],
        "quantity": raw["number_of_cds"],
    })
    # amount and quantity stay text here: the validation coerces them and reports any that are not numbers
    return AccountData(orders=orders, sources={"orders": str(file)})
