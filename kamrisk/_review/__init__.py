"""The black box of lost accounts: :func:`review` takes apart every defection visible in a period, and
:func:`write_review` writes it as the report's sibling page (HTML, and an Excel workbook)."""

from __future__ import annotations

from ._analysis import IN_TIME_DAYS, LOST_REASON, SIGN_THRESHOLD, VERDICTS, ReviewResult, find_falls, review
from ._page import write_review

__all__ = ["review", "write_review", "ReviewResult", "find_falls", "VERDICTS", "IN_TIME_DAYS", "SIGN_THRESHOLD",
           "LOST_REASON"]
