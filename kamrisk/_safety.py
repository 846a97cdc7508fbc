"""Guards for text that comes from the data (account names, notes, reasons) and leaves in a spreadsheet.

A spreadsheet program reads a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage
return, which some programs strip before looking) as a formula: a name such as ``=HYPERLINK(...)`` in an
export would run when the file is opened (CSV/formula injection, OWASP). Text is neutralised before it is
written: in CSV with a leading single quote (:func:`neutralise_formula`); in Excel files the cell is an
explicit string with Excel's quote prefix (:func:`is_formula_like` tells which cells need it), so the
text shows unchanged but is never evaluated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["FORMULA_PREFIXES", "is_formula_like", "neutralise_formula", "neutralise_frame"]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(value: Any) -> bool:
    """True when ``value`` is text that a spreadsheet program would read as a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_PREFIXES)


def neutralise_formula(value: Any) -> Any:
    """``value`` made safe for a spreadsheet cell: formula-like text gets a leading ``'``.

    Anything that is not text (numbers, dates, None) is returned unchanged, so the function can be
    mapped over whole columns.

    Examples
    --------
    >>> neutralise_formula("=HYPERLINK(\\"http://x\\")")
    '\\'=HYPERLINK("http://x")'
    >>> neutralise_formula("Acme Trading"), neutralise_formula(-3.5)
    ('Acme Trading', -3.5)
    """
    return "'" + value if is_formula_like(value) else value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell passed through :func:`neutralise_formula` (for CSV output).

    Numeric, boolean and date columns are left as they are.
    """
    import pandas as pd

    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)
                or pd.api.types.is_datetime64_any_dtype(values)):
            continue
        out[column] = values.map(neutralise_formula)
    return out
